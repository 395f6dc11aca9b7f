import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MeshModel } from '../../src/model/mesh-model.js';
import { meshFromYaml, peerAuthn, serviceEntry, workload } from '../support/mesh-from-yaml.js';

const base = [
  serviceEntry('bar', 'httpbin'),
  workload('bar', 'httpbin', '127.0.2.1'),
  workload('bar', 'other', '127.0.2.3', { app: 'other' }),
];

function mode(model: MeshModel, id: string, port = 80): string {
  const w = model.registry.workload(id)!;
  return model.peerAuthn.effectiveMode({ namespace: w.namespace, labels: w.labels, ports: w.ports }, port);
}

test('answers are remembered by content: fresh but equal subjects resolve once, a different port or label again', () => {
  const model = meshFromYaml(...base, peerAuthn('bar', 'default', '{mtls: {mode: STRICT}}'));
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
  assert.is(mode(meshFromYaml(...base), 'httpbin.bar'), 'PERMISSIVE');
});

test('mesh < namespace < workload, each overriding the level below', () => {
  const mesh = peerAuthn('istio-system', 'default', '{mtls: {mode: STRICT}}');
  const ns = peerAuthn('bar', 'default', '{mtls: {mode: DISABLE}}');
  const wl = peerAuthn('bar', 'httpbin', '{selector: {matchLabels: {app: httpbin}}, mtls: {mode: PERMISSIVE}}');
  assert.is(mode(meshFromYaml(...base, mesh), 'httpbin.bar'), 'STRICT');
  assert.is(mode(meshFromYaml(...base, mesh, ns), 'httpbin.bar'), 'DISABLE');
  assert.is(mode(meshFromYaml(...base, mesh, ns, wl), 'httpbin.bar'), 'PERMISSIVE');
  assert.is(mode(meshFromYaml(...base, mesh, ns, wl), 'other.bar'), 'DISABLE', 'the selector only picks httpbin');
});

test('UNSET inherits from the next level up', () => {
  const mesh = peerAuthn('istio-system', 'default', '{mtls: {mode: STRICT}}');
  const ns = peerAuthn('bar', 'default', '{mtls: {mode: UNSET}}');
  const wl = peerAuthn('bar', 'httpbin', '{selector: {matchLabels: {app: httpbin}}}');
  assert.is(mode(meshFromYaml(...base, mesh, ns, wl), 'httpbin.bar'), 'STRICT');
});

test('portLevelMtls is keyed by target port and UNSET on a port inherits the workload mode', () => {
  const wl = peerAuthn(
    'bar',
    'httpbin',
    '{selector: {matchLabels: {app: httpbin}}, mtls: {mode: STRICT}, portLevelMtls: {80: {mode: DISABLE}, 9000: {mode: UNSET}}}',
  );
  const model = meshFromYaml(...base, wl);
  assert.is(mode(model, 'httpbin.bar', 80), 'DISABLE');
  assert.is(mode(model, 'httpbin.bar', 8000), 'STRICT', 'the service port is not the key');
  assert.is(mode(model, 'httpbin.bar', 9000), 'STRICT');
});

test('inside one level the oldest policy wins, whatever the file order', () => {
  const newer = peerAuthn('bar', 'a-newer', '{mtls: {mode: DISABLE}}', '2024-02-01T00:00:00Z');
  const older = peerAuthn('bar', 'z-older', '{mtls: {mode: STRICT}}', '2024-01-01T00:00:00Z');
  assert.is(mode(meshFromYaml(...base, newer, older), 'httpbin.bar'), 'STRICT');
  assert.is(mode(meshFromYaml(...base, older, newer), 'httpbin.bar'), 'STRICT');
});

test('a namespace policy in another namespace does not apply', () => {
  assert.is(mode(meshFromYaml(...base, peerAuthn('foo', 'default', '{mtls: {mode: STRICT}}')), 'httpbin.bar'), 'PERMISSIVE');
});

test('legacy Policy targeting a service by name applies to its workloads on the mapped target port only', () => {
  const legacy = `
apiVersion: authentication.istio.io/v1alpha1
kind: Policy
metadata: {name: httpbin-strict, namespace: bar}
spec:
  targets: [{name: httpbin, ports: [{number: 8000}]}]
  peers: [{mtls: null}]`;
  const model = meshFromYaml(...base, peerAuthn('bar', 'default', '{mtls: {mode: DISABLE}}'), legacy);
  assert.is(mode(model, 'httpbin.bar', 80), 'STRICT', 'service port 8000 is target port 80');
  assert.is(mode(model, 'httpbin.bar', 81), 'DISABLE', 'other ports inherit the namespace policy');
  assert.is(mode(model, 'other.bar', 80), 'DISABLE', 'workloads outside the service are not targeted');
});

test.run();
