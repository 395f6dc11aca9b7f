import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MeshModel } from '../../src/model/mesh-model.js';
import { MeshViews } from '../../src/model/mesh-views.js';
import type { SidecarView } from '../../src/model/view-types.js';
import { destinationRule, meshOf, peerAuthentication, serviceEntry, workloadEntry } from '../support/fixtures/index.js';

const base = [
  serviceEntry('bar/httpbin'),
  workloadEntry('bar/httpbin', { address: '127.0.2.1', labels: { version: 'v1' } }),
  workloadEntry('bar/httpbin-v2', { address: '127.0.2.2', labels: { app: 'httpbin', version: 'v2' }, serviceAccount: 'httpbin' }),
  workloadEntry('foo/sleep', { address: '127.0.1.2' }),
  workloadEntry('baz/sleep', { address: '127.0.3.2' }),
];
function sidecarView(model: MeshModel, proxy: string): SidecarView {
  const found = new MeshViews(model).view(proxy);
  if (!found.ok || found.view.kind !== 'sidecar') throw new Error(`${proxy} is not a sidecar`);
  return found.view;
}

const tls = (mode: string) => ({ trafficPolicy: { tls: { mode } } });

function clusterTls(model: MeshModel, proxy: string, cluster = 'outbound|8000||httpbin.bar.svc.cluster.local'): string {
  const view = sidecarView(model, proxy);
  return view.outbound.clusters.find((c) => c.name === cluster)!.tls.kind;
}

test('lookup order: client namespace, then service namespace, then root namespace', () => {
  const inRoot = destinationRule('istio-system/root', { host: '*.svc.cluster.local', ...tls('DISABLE') });
  const inService = destinationRule('bar/svc', { host: 'httpbin.bar.svc.cluster.local', ...tls('ISTIO_MUTUAL') });
  const inClient = destinationRule('foo/client', { host: 'httpbin.bar.svc.cluster.local', ...tls('DISABLE') });
  assert.is(clusterTls(meshOf([...base, inRoot]), 'sleep.foo'), 'plaintext');
  assert.is(clusterTls(meshOf([...base, inRoot, inService]), 'sleep.foo'), 'istio-mutual');
  assert.is(clusterTls(meshOf([...base, inRoot, inService, inClient]), 'sleep.foo'), 'plaintext');
  assert.is(clusterTls(meshOf([...base, inRoot, inService, inClient]), 'sleep.baz'), 'istio-mutual', "foo's rule is not baz's");
});

test('most specific host wins inside a namespace; short hosts expand in the rule namespace', () => {
  const wild = destinationRule('bar/wild', { host: '*.bar.svc.cluster.local', ...tls('DISABLE') });
  const exact = destinationRule('bar/exact', { host: 'httpbin', ...tls('ISTIO_MUTUAL') });
  assert.is(clusterTls(meshOf([...base, wild]), 'sleep.foo'), 'plaintext');
  assert.is(clusterTls(meshOf([...base, wild, exact]), 'sleep.foo'), 'istio-mutual');
});

test('exportTo "." keeps a rule to its own namespace', () => {
  const local = destinationRule('bar/local', { host: 'httpbin', ...tls('DISABLE'), exportTo: ['.'] });
  assert.is(clusterTls(meshOf([...base, local]), 'sleep.foo'), 'auto');
  assert.is(clusterTls(meshOf([...base, local, workloadEntry('bar/sleep', { address: '127.0.2.5' })]), 'sleep.bar'), 'plaintext');
});

test('no rule: auto mTLS; SANs are the service accounts of the endpoints', () => {
  const model = meshOf(base);
  const view = sidecarView(model, 'sleep.foo');
  const cluster = view.outbound.clusters.find((c) => c.host === 'httpbin.bar.svc.cluster.local')!;
  assert.is(cluster.tls.kind, 'auto');
  if (cluster.tls.kind === 'auto') {
    assert.equal(cluster.tls.istio.subjectAltNames, ['spiffe://cluster.local/ns/bar/sa/httpbin']);
    assert.is(cluster.tls.istio.sni, 'outbound_.8000_._.httpbin.bar.svc.cluster.local');
    assert.equal(cluster.tls.istio.alpn, ['istio']);
  }
});

test('subsets make one cluster each with their own endpoints; subset policy overrides the rule per port', () => {
  const dr = destinationRule('bar/httpbin', {
    host: 'httpbin',
    trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' }, portLevelSettings: [{ port: { number: 8000 }, loadBalancer: { simple: 'RANDOM' } }] },
    subsets: [
      { name: 'v1', labels: { version: 'v1' } },
      { name: 'v2', labels: { version: 'v2' }, ...tls('DISABLE') },
    ],
  });
  const model = meshOf([...base, dr]);
  const view = sidecarView(model, 'sleep.foo');
  const byName = new Map(view.outbound.clusters.map((c) => [c.name, c]));
  const v1 = byName.get('outbound|8000|v1|httpbin.bar.svc.cluster.local')!;
  const v2 = byName.get('outbound|8000|v2|httpbin.bar.svc.cluster.local')!;
  assert.equal(
    v1.endpoints.map((e) => e.address),
    ['127.0.2.1'],
  );
  assert.equal(
    v2.endpoints.map((e) => e.address),
    ['127.0.2.2'],
  );
  assert.is(v1.tls.kind, 'istio-mutual');
  assert.is(v2.tls.kind, 'plaintext');
  assert.is(v1.policy.loadBalancer?.simple, 'RANDOM', 'port-level setting of the rule reaches the subset');
  if (v1.tls.kind === 'istio-mutual') assert.is(v1.tls.istio.sni, 'outbound_.8000_.v1_.httpbin.bar.svc.cluster.local');
});

test('auto mTLS marks only endpoints whose sidecar accepts mTLS on that port', () => {
  const pa = peerAuthentication('bar/v2-off', { selector: { matchLabels: { version: 'v2' } }, mtls: { mode: 'DISABLE' } });
  const model = meshOf([...base, pa, workloadEntry('bar/nosidecar', { address: '127.0.2.3', labels: { app: 'httpbin' }, sidecar: false })]);
  const view = sidecarView(model, 'sleep.foo');
  const cluster = view.outbound.clusters.find((c) => c.name === 'outbound|8000||httpbin.bar.svc.cluster.local')!;
  assert.equal(cluster.endpoints.map((e) => [e.address, e.port, e.istioMtls]).sort(), [
    ['127.0.2.1', 80, true],
    ['127.0.2.2', 80, false],
    ['127.0.2.3', 80, false],
  ]);
});

test.run();
