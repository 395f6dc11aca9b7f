// Which AuthorizationPolicies and RequestAuthentications apply to a workload:
// mesh (root namespace, with or without selector), namespace, workload selector.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { providerCluster } from '../../src/model/authorization.js';
import { authorizationPolicy, meshOf, requestAuthentication, serviceEntry, workloadEntry } from '../support/fixtures/index.js';

const model = meshOf([
  serviceEntry('foo/httpbin'),
  serviceEntry('bar/httpbin'),
  workloadEntry('foo/httpbin', { address: '127.0.1.1' }),
  workloadEntry('foo/sleep', { address: '127.0.1.2' }),
  workloadEntry('bar/httpbin', { address: '127.0.2.1' }),
  workloadEntry('istio-system/ingressgateway', { address: '127.0.9.1', labels: { app: 'istio-ingressgateway' } }),
  authorizationPolicy('istio-system/mesh-audit', { action: 'AUDIT', rules: [{}] }),
  authorizationPolicy('istio-system/all-httpbins', {
    selector: { matchLabels: { app: 'httpbin' } },
    action: 'DENY',
    rules: [{ to: [{ operation: { paths: ['/admin'] } }] }],
  }),
  authorizationPolicy('foo/ns-allow', { rules: [{ from: [{ source: { namespaces: ['foo'] } }] }] }),
  authorizationPolicy('foo/sleep-only', { selector: { matchLabels: { app: 'sleep' } } }),
  authorizationPolicy('bar/z-last', { action: 'DENY', rules: [{}] }),
  authorizationPolicy('bar/a-first', { selector: { matchLabels: { app: 'httpbin' } }, action: 'ALLOW', rules: [{}] }),
  requestAuthentication('istio-system/mesh-jwt', { jwtRules: [{ issuer: 'a', jwksUri: 'https://idp.a/jwks' }] }),
  requestAuthentication('bar/bar-jwt', {
    selector: { matchLabels: { app: 'httpbin' } },
    jwtRules: [
      { issuer: 'b', jwks: '{"keys": []}' },
      { issuer: 'c', jwksUri: 'https://idp.a/jwks' },
    ],
  }),
]);

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
  const again = meshOf([
    serviceEntry('foo/httpbin'),
    workloadEntry('foo/httpbin', { address: '127.0.1.1' }),
    workloadEntry('foo/httpbin2', { address: '127.0.1.3', labels: { app: 'httpbin' } }),
    authorizationPolicy('foo/p', { rules: [{}] }),
  ]);
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
