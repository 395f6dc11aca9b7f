import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { meshOf, serviceEntry, workloadEntry } from '../support/fixtures/index.js';

const model = meshOf([
  serviceEntry('bar/httpbin'),
  workloadEntry('bar/httpbin', { address: '127.0.2.1', serviceAccount: 'httpbin-sa' }),
  workloadEntry('bar/httpbin-legacy', { address: '127.0.2.9', labels: { app: 'httpbin' }, sidecar: false }),
  workloadEntry('foo/httpbin', { address: '127.0.1.1' }),
]);

test('short names, namespace-qualified names and FQDNs resolve to the same service', () => {
  const r = model.registry;
  assert.is(r.resolveHost('httpbin', 'bar'), 'httpbin.bar.svc.cluster.local');
  assert.is(r.resolveHost('httpbin.bar', 'foo'), 'httpbin.bar.svc.cluster.local');
  assert.is(r.resolveHost('httpbin.bar.svc', 'foo'), 'httpbin.bar.svc.cluster.local');
  assert.is(r.resolveHost('httpbin.bar.svc.cluster.local', 'foo'), 'httpbin.bar.svc.cluster.local');
  assert.is(r.resolveHost('httpbin', 'foo'), 'httpbin.foo.svc.cluster.local', 'a short name is relative to the namespace');
  assert.is(r.resolveHost('api.example.com', 'foo'), 'api.example.com');
});

test('a ServiceEntry selects WorkloadEntries of its own namespace only, with sidecar and identity', () => {
  const service = model.registry.service('httpbin.bar.svc.cluster.local')!;
  assert.equal(service.endpoints.map((e) => [e.address, e.sidecar, e.identity]).sort(), [
    ['127.0.2.1', true, 'spiffe://cluster.local/ns/bar/sa/httpbin-sa'],
    ['127.0.2.9', false, 'spiffe://cluster.local/ns/bar/sa/httpbin-legacy'],
  ]);
  assert.equal(model.registry.servicesOfWorkload(model.registry.workload('httpbin.foo')!), []);
});

test.run();
