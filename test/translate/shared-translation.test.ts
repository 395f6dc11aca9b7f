// The control plane translates every proxy of a model with one Translator,
// whose caches hand proxies the parts they share (outbound views per namespace
// or Sidecar, outbound clusters per service port and DestinationRule, Envoy
// clusters and endpoints per cluster view, access filters per policy set).
// The goldens are made one proxy at a time with caches of its own: for every
// proxy of every example, the shared translation must be the same, whatever
// order the proxies are translated in.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadConfigFilesAndTexts } from '../../src/config/load-texts.js';
import { buildMeshModel } from '../../src/model/mesh-model.js';
import { meshProxies, translate, Translator } from '../../src/translate/translator.js';
import { scenarioModels } from '../support/golden-cases.js';
import { EXAMPLES_DIR } from '../support/paths.js';

const scenarios = scenarioModels();

for (const proxylessSecurity of [true, false]) {
  test(`every example: the shared translation of each proxy equals its own (proxylessSecurity ${proxylessSecurity})`, () => {
    let proxies = 0;
    for (const { scenario, model } of scenarios) {
      const ids = meshProxies(model).map((p) => p.workload.id);
      const alone = new Map(ids.map((id) => [id, new Translator(model, { proxylessSecurity }).translate(id)]));
      for (const order of [ids, [...ids].reverse()]) {
        const shared = new Translator(model, { proxylessSecurity });
        for (const id of order) {
          const got = shared.translate(id);
          const want = alone.get(id)!;
          assert.ok(got.ok && want.ok, `${scenario}/${id}`);
          if (got.ok && want.ok) assert.equal(got.resources, want.resources, `${scenario}/${id}`);
          proxies += 1;
        }
      }
    }
    assert.ok(proxies >= 40, `expected every proxy of every example, got ${proxies / 2}`);
  });
}

test('proxies of one namespace share the objects of what they have in common; namespaces share outbound clusters', () => {
  let sharedAcrossNamespaces = 0;
  for (const { model } of scenarios) {
    const translator = new Translator(model);
    const sidecars = meshProxies(model).filter((p) => p.kind === 'sidecar');
    const clusters = new Map<string, { namespace: string; cluster: object }>();
    for (const { workload } of sidecars) {
      const got = translator.translate(workload.id);
      if (!got.ok) continue;
      // The offline translation of the same proxy is equal but built anew.
      const alone = translate(model, workload.id);
      assert.ok(alone.ok);
      for (const c of got.resources.clusters) {
        if (!String(c.name).startsWith('outbound|')) continue;
        const seen = clusters.get(String(c.name));
        if (seen && seen.namespace !== workload.namespace && seen.cluster === c) sharedAcrossNamespaces += 1;
        if (!seen) clusters.set(String(c.name), { namespace: workload.namespace, cluster: c });
      }
    }
  }
  assert.ok(sharedAcrossNamespaces > 0, 'no outbound cluster object was shared by two namespaces in any example');
});

test('a DestinationRule in the client namespace gives that namespace its own clusters; the others keep the shared ones', () => {
  // httpbin.bar seen from foo: plaintext by foo's own rule; seen from bar: auto mTLS.
  const rule = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin-from-foo, namespace: foo}
spec:
  host: httpbin.bar.svc.cluster.local
  exportTo: ["."]
  trafficPolicy: {tls: {mode: DISABLE}}
`;
  const loaded = loadConfigFilesAndTexts([join(EXAMPLES_DIR, 's1-auto-mtls')], [{ name: 'rule.yaml', text: rule }]);
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.issues[0]?.message);
  if (!loaded.ok) return;
  const model = buildMeshModel(loaded.config);
  const shared = new Translator(model);
  const tlsOf = new Map<string, unknown>();
  for (const { workload } of meshProxies(model).filter((p) => p.kind === 'sidecar')) {
    const got = shared.translate(workload.id);
    const alone = translate(model, workload.id);
    assert.ok(got.ok && alone.ok);
    if (!got.ok || !alone.ok) continue;
    assert.equal(got.resources, alone.resources, workload.id);
    const cluster = got.resources.clusters.find((c) => String(c.name).endsWith('|httpbin.bar.svc.cluster.local'));
    tlsOf.set(workload.namespace, cluster?.transport_socket_matches ?? cluster?.transport_socket ?? 'plaintext');
  }
  assert.is(tlsOf.get('foo'), 'plaintext');
  assert.is.not(tlsOf.get('bar'), 'plaintext');
});

test.run();
