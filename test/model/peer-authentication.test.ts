import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MeshModel } from '../../src/model/mesh-model.js';
import { document, meshOf, peerAuthentication, serviceEntry, workloadEntry } from '../support/fixtures/index.js';

const base = [
  serviceEntry('bar/httpbin'),
  workloadEntry('bar/httpbin', { address: '127.0.2.1' }),
  workloadEntry('bar/other', { address: '127.0.2.3' }),
];
const mtls = (mode: string) => ({ mtls: { mode } });
const httpbinOnly = { selector: { matchLabels: { app: 'httpbin' } } };

function mode(model: MeshModel, id: string, port = 80): string {
  const w = model.registry.workload(id)!;
  return model.peerAuthn.effectiveMode({ namespace: w.namespace, labels: w.labels, ports: w.ports }, port);
}

test('answers are remembered by content: fresh but equal subjects resolve once, a different port or label again', () => {
  const model = meshOf([...base, peerAuthentication('bar/default', mtls('STRICT'))]);
  const index = model.peerAuthn as unknown as { resolve: (...args: unknown[]) => unknown };
  const resolve = index.resolve.bind(index);
  let calls = 0;
  index.resolve = (...args) => {
    calls += 1;
    return resolve(...args);
  };
  for (let i = 0; i < 3; i++) assert.is(mode(model, 'httpbin.bar'), 'STRICT');
  assert.is(calls, 1, 'equal subjects (fresh objects) share one answer');
  mode(model, 'httpbin.bar', 81);
  mode(model, 'other.bar');
  assert.is(calls, 3, 'another port or other labels are resolved on their own');
});

test('no policy at all: PERMISSIVE', () => {
  assert.is(mode(meshOf(base), 'httpbin.bar'), 'PERMISSIVE');
});

test('mesh < namespace < workload, each overriding the level below', () => {
  const mesh = peerAuthentication('istio-system/default', mtls('STRICT'));
  const ns = peerAuthentication('bar/default', mtls('DISABLE'));
  const wl = peerAuthentication('bar/httpbin', { ...httpbinOnly, ...mtls('PERMISSIVE') });
  assert.is(mode(meshOf([...base, mesh]), 'httpbin.bar'), 'STRICT');
  assert.is(mode(meshOf([...base, mesh, ns]), 'httpbin.bar'), 'DISABLE');
  assert.is(mode(meshOf([...base, mesh, ns, wl]), 'httpbin.bar'), 'PERMISSIVE');
  assert.is(mode(meshOf([...base, mesh, ns, wl]), 'other.bar'), 'DISABLE', 'the selector only picks httpbin');
});

test('UNSET inherits from the next level up', () => {
  const mesh = peerAuthentication('istio-system/default', mtls('STRICT'));
  const ns = peerAuthentication('bar/default', mtls('UNSET'));
  const wl = peerAuthentication('bar/httpbin', httpbinOnly);
  assert.is(mode(meshOf([...base, mesh, ns, wl]), 'httpbin.bar'), 'STRICT');
});

test('portLevelMtls is keyed by target port and UNSET on a port inherits the workload mode', () => {
  const wl = peerAuthentication('bar/httpbin', {
    ...httpbinOnly,
    ...mtls('STRICT'),
    portLevelMtls: { 80: { mode: 'DISABLE' }, 9000: { mode: 'UNSET' } },
  });
  const model = meshOf([...base, wl]);
  assert.is(mode(model, 'httpbin.bar', 80), 'DISABLE');
  assert.is(mode(model, 'httpbin.bar', 8000), 'STRICT', 'the service port is not the key');
  assert.is(mode(model, 'httpbin.bar', 9000), 'STRICT');
});

test('inside one level the oldest policy wins, whatever the file order', () => {
  const newer = peerAuthentication('bar/a-newer', mtls('DISABLE'), { creationTimestamp: '2024-02-01T00:00:00Z' });
  const older = peerAuthentication('bar/z-older', mtls('STRICT'), { creationTimestamp: '2024-01-01T00:00:00Z' });
  assert.is(mode(meshOf([...base, newer, older]), 'httpbin.bar'), 'STRICT');
  assert.is(mode(meshOf([...base, older, newer]), 'httpbin.bar'), 'STRICT');
});

test('a namespace policy in another namespace does not apply', () => {
  assert.is(mode(meshOf([...base, peerAuthentication('foo/default', mtls('STRICT'))]), 'httpbin.bar'), 'PERMISSIVE');
});

test('legacy Policy targeting a service by name applies to its workloads on the mapped target port only', () => {
  const legacy = document('Policy', 'bar/httpbin-strict', {
    targets: [{ name: 'httpbin', ports: [{ number: 8000 }] }],
    peers: [{ mtls: null }],
  });
  const model = meshOf([...base, peerAuthentication('bar/default', mtls('DISABLE')), legacy]);
  assert.is(mode(model, 'httpbin.bar', 80), 'STRICT', 'service port 8000 is target port 80');
  assert.is(mode(model, 'httpbin.bar', 81), 'DISABLE', 'other ports inherit the namespace policy');
  assert.is(mode(model, 'other.bar', 80), 'DISABLE', 'workloads outside the service are not targeted');
});

test.run();
