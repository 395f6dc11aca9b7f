// Marathon apps and pods as Istio resources: names, namespaces, ports, workloads,
// the sidecar label and health, and that every text loads as config.
import { parseAllDocuments } from 'yaml';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadMeshTexts } from '../../src/control-plane/load-mesh.js';
import { readApps, readPods } from '../../src/config/marathon/marathon-documents.js';
import { mapMarathon, serviceIdentity } from '../../src/config/marathon/marathon-mapping.js';
import { bridgeApp, hostApp, hostTask, podInstance, podStatus } from '../support/marathon-fixtures.js';

type Doc = Record<string, any>;
const docs = (text: string): Doc[] => parseAllDocuments(text).map((d) => d.toJS() as Doc);

test('a host-networking app: its service port, one WorkloadEntry per healthy task at the task host and port', () => {
  const app = hostApp('/foo/httpbin', [
    hostTask('/foo/httpbin', 1, '10.1.0.5', [31001]),
    hostTask('/foo/httpbin', 2, '10.1.0.6', [31002], [false]),
    hostTask('/foo/httpbin', 3, '10.1.0.7', [31003], []),
  ]);
  const [mapped] = mapMarathon(readApps({ apps: [app] }), []);
  assert.is(mapped!.name, 'marathon:/foo/httpbin');
  const [se, ...wes] = docs(mapped!.text);
  assert.equal(se!.metadata, { name: 'httpbin', namespace: 'foo' });
  assert.equal(se!.spec.hosts, ['httpbin.foo.svc.cluster.local']);
  assert.equal(se!.spec.ports, [{ name: 'http', number: 8000, protocol: 'HTTP' }]);
  assert.equal(se!.spec.workloadSelector, { labels: { app: 'httpbin' } });
  assert.is(wes.length, 1, 'the failing and the unchecked task are left out');
  assert.equal(wes[0]!.spec, { address: '10.1.0.5', ports: { http: 31001 }, serviceAccount: 'httpbin', labels: { app: 'httpbin' } });
  assert.match(mapped!.notes.join('\n'), /task foo_httpbin\.task-2 left out: a health check fails/);
  assert.match(mapped!.notes.join('\n'), /task foo_httpbin\.task-3 left out: not yet reported healthy/);
});

test('a bridge app: SERVICE_NAME, the namespace label, the VIP port, INBOUND_PORTS, the sidecar label', () => {
  const tasks = [hostTask('/team-b/reviews-v2', 1, '10.1.0.8', [31500, 31501, 31502])];
  const [mapped] = mapMarathon(readApps({ apps: [bridgeApp('/team-b/reviews-v2', tasks)] }), [], { namespace: 'ignored' });
  const [se, we] = docs(mapped!.text);
  assert.equal(se!.metadata, { name: 'reviews', namespace: 'shop' });
  assert.equal(se!.spec.ports, [{ name: 'http-api', number: 9080, protocol: 'HTTP' }], 'admin is not inbound; dns is UDP');
  assert.equal(we!.spec.ports, { 'http-api': 31500 }, 'the host port Marathon gave the first mapping');
  assert.equal(we!.spec.labels, { app: 'reviews', 'security.istio.io/tlsMode': 'istio' });
});

test('a pod: endpoints of the app container, the proxy container makes it a sidecar, unstable instances left out', () => {
  const pod = podStatus('/ratings', [podInstance(1, '10.1.0.9', 32000), podInstance(2, '10.1.0.10', 32002, 'DEGRADED', false)]);
  const [mapped] = mapMarathon([], readPods([pod]));
  const [se, ...wes] = docs(mapped!.text);
  assert.equal(se!.metadata, { name: 'ratings', namespace: 'default' });
  assert.equal(se!.spec.ports, [{ name: 'grpc-api', number: 7000, protocol: 'GRPC' }]);
  assert.equal(se!.spec.addresses, ['10.200.0.7']);
  assert.is(wes.length, 1);
  assert.equal(wes[0]!.spec.address, '10.1.0.9');
  assert.equal(wes[0]!.spec.ports, { 'grpc-api': 32000 });
  assert.is(wes[0]!.spec.labels['security.istio.io/tlsMode'], 'istio');
  assert.match(mapped!.notes.join('\n'), /instance ratings\.instance-2 left out: status DEGRADED/);
});

test('namespace: the label, else -n, else the first segment of a longer id, else default', () => {
  assert.equal(serviceIdentity('/shop/cart', undefined, {}, {}), { name: 'cart', namespace: 'shop' });
  assert.equal(serviceIdentity('/shop/cart/api', undefined, {}, {}), { name: 'cart-api', namespace: 'shop' });
  assert.equal(serviceIdentity('/shop/cart', undefined, {}, { namespace: 'prod' }), { name: 'shop-cart', namespace: 'prod' });
  assert.equal(serviceIdentity('/shop/cart', undefined, { 'meshlite.io/namespace': 'eu' }, { namespace: 'prod' }), {
    name: 'shop-cart',
    namespace: 'eu',
  });
  assert.equal(serviceIdentity('/Cart_Service', 'My_Cart', {}, {}), { name: 'my-cart', namespace: 'default' });
});

test('every mapped text loads as config, named after its Marathon id in errors', () => {
  const apps = readApps({
    apps: [hostApp('/foo/httpbin', [hostTask('/foo/httpbin', 1, '10.1.0.5', [31001])]), bridgeApp('/x/reviews', [])],
  });
  const mapped = mapMarathon(apps, readPods([podStatus('/ratings', [podInstance(1, '10.1.0.9', 32000)])]));
  const result = loadMeshTexts(mapped.map((m) => ({ name: m.name, text: m.text })));
  assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
  assert.equal(result.files, ['marathon:/foo/httpbin', 'marathon:/ratings', 'marathon:/x/reviews']);
  assert.is(result.config.serviceEntries.length, 3);
  assert.is(result.config.workloadEntries.length, 2);
});

test('documents that are not app or pod lists are refused with where', () => {
  assert.throws(() => readApps({ apps: [{ cmd: 'no id' }] }), /app 0: expected an object with a string "id"/);
  assert.throws(() => readPods([{ spec: {} }]), /pod 0: expected a pod status/);
});

test.run();
