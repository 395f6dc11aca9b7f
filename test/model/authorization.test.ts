// Which AuthorizationPolicies and RequestAuthentications apply to a workload:
// mesh (root namespace, with or without selector), namespace, workload selector.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { providerCluster } from '../../src/model/authorization.js';
import { meshFromYaml, serviceEntry, workload } from '../support/mesh-from-yaml.js';

const policy = (ns: string, name: string, spec: string) => `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: ${ns}}
spec: ${spec}`;
const requestAuthn = (ns: string, name: string, spec: string) => `
apiVersion: security.istio.io/v1beta1
kind: RequestAuthentication
metadata: {name: ${name}, namespace: ${ns}}
spec: ${spec}`;

const model = meshFromYaml(
  serviceEntry('foo', 'httpbin'),
  serviceEntry('bar', 'httpbin'),
  workload('foo', 'httpbin', '127.0.1.1'),
  workload('foo', 'sleep', '127.0.1.2'),
  workload('bar', 'httpbin', '127.0.2.1'),
  workload('istio-system', 'ingressgateway', '127.0.9.1', { app: 'istio-ingressgateway' }),
  policy('istio-system', 'mesh-audit', '{action: AUDIT, rules: [{}]}'),
  policy(
    'istio-system',
    'all-httpbins',
    '{selector: {matchLabels: {app: httpbin}}, action: DENY, rules: [{to: [{operation: {paths: [/admin]}}]}]}',
  ),
  policy('foo', 'ns-allow', '{rules: [{from: [{source: {namespaces: [foo]}}]}]}'),
  policy('foo', 'sleep-only', '{selector: {matchLabels: {app: sleep}}}'),
  policy('bar', 'z-last', '{action: DENY, rules: [{}]}'),
  policy('bar', 'a-first', '{selector: {matchLabels: {app: httpbin}}, action: ALLOW, rules: [{}]}'),
  requestAuthn('istio-system', 'mesh-jwt', '{jwtRules: [{issuer: a, jwksUri: "https://idp.a/jwks"}]}'),
  requestAuthn(
    'bar',
    'bar-jwt',
    '{selector: {matchLabels: {app: httpbin}}, jwtRules: [{issuer: b, jwks: "{\\"keys\\": []}"}, {issuer: c, jwksUri: "https://idp.a/jwks"}]}',
  ),
);

const names = (id: string) => {
  const w = model.registry.workload(id)!;
  const a = model.authz.for(w);
  return {
    authz: a.authorizationPolicies.map((p) => `${p.meta.namespace}/${p.meta.name}`),
    jwt: a.requestAuthentications.map((r) => `${r.meta.namespace}/${r.meta.name}`),
  };
};

test('mesh-wide, mesh-with-selector, namespace and workload policies all apply, sorted by namespace then name', () => {
  assert.equal(names('httpbin.foo'), {
    authz: ['foo/ns-allow', 'istio-system/all-httpbins', 'istio-system/mesh-audit'],
    jwt: ['istio-system/mesh-jwt'],
  });
  assert.equal(names('sleep.foo'), {
    authz: ['foo/ns-allow', 'foo/sleep-only', 'istio-system/mesh-audit'],
    jwt: ['istio-system/mesh-jwt'],
  });
  assert.equal(names('httpbin.bar'), {
    authz: ['bar/a-first', 'bar/z-last', 'istio-system/all-httpbins', 'istio-system/mesh-audit'],
    jwt: ['bar/bar-jwt', 'istio-system/mesh-jwt'],
  });
});

test("a root-namespace workload gets the mesh's policies once; other namespaces' policies never leak", () => {
  assert.equal(names('ingressgateway.istio-system'), { authz: ['istio-system/mesh-audit'], jwt: ['istio-system/mesh-jwt'] });
});

test('proxies with the same namespace and labels share one answer object (filters are built once for them)', () => {
  const again = meshFromYaml(
    serviceEntry('foo', 'httpbin'),
    workload('foo', 'httpbin', '127.0.1.1'),
    workload('foo', 'httpbin2', '127.0.1.3', { app: 'httpbin' }),
    policy('foo', 'p', '{rules: [{}]}'),
  );
  const a = again.authz.for(again.registry.workload('httpbin.foo')!);
  const b = again.authz.for(again.registry.workload('httpbin2.foo')!);
  assert.is(a, b);
});

test('jwksUris: every URI to fetch, de-duplicated and sorted; inline jwks need none', () => {
  assert.equal(model.authz.jwksUris, ['https://idp.a/jwks']);
});

test('extension provider services resolve to mesh clusters: FQDN, name.namespace, namespace/host; unknown host or port -> none', () => {
  const want = 'outbound|8000||httpbin.bar.svc.cluster.local';
  assert.equal(
    ['httpbin.bar.svc.cluster.local', 'httpbin.bar', 'bar/httpbin'].map((s) => providerCluster(model, s, 8000)),
    [want, want, want],
  );
  assert.is(providerCluster(model, 'httpbin.bar', 9999), undefined);
  assert.is(providerCluster(model, 'nope.bar', 8000), undefined);
});

test.run();
