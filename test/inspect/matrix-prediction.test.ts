// predictMatrix on the scenario examples: the 3x3 sleep -> httpbin tables of
// the scenarios (codes, mTLS, identity) and the reasons naming the resources
// that decided a cell, all derived from the translated config.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadMesh } from '../../src/control-plane/load-mesh.js';
import { predictMatrix, translatedMatrixInput } from '../../src/inspect/matrix-prediction.js';
import type { MatrixCell, MatrixOptions, PredictedMatrix } from '../../src/inspect/matrix-types.js';
import { EXAMPLES_DIR } from '../support/paths.js';

const NS = ['foo', 'bar', 'legacy'] as const;
const SPIFFE = (ns: string, sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

function predict(scenario: string, options?: MatrixOptions): PredictedMatrix {
  const { result, model } = loadMesh([join(EXAMPLES_DIR, scenario)]);
  assert.ok(result.ok && model, `examples/${scenario} loads`);
  return predictMatrix(translatedMatrixInput(model!), options);
}

function cell(m: PredictedMatrix, from: string, to: string): MatrixCell {
  const found = m.cells.find((c) => c.from === from && c.to === to);
  assert.ok(found, `a cell ${from} -> ${to}`);
  return found!;
}

/** sleep.X -> httpbin.Y codes, `'foo->bar': '200 mTLS'` as the scenario tables say them. */
function sleepTable(m: PredictedMatrix): Record<string, string> {
  const out: Record<string, string> = {};
  for (const from of NS)
    for (const to of NS) {
      const c = cell(m, `${from}/sleep`, `httpbin.${to}.svc.cluster.local:8000`);
      out[`${from}->${to}`] = c.mtls ? `${c.code} mTLS` : c.code;
    }
  return out;
}

/** S1's table with exceptions: sidecar pairs mTLS, anything involving legacy plaintext. */
function table(exceptions: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const from of NS) for (const to of NS) out[`${from}->${to}`] = from !== 'legacy' && to !== 'legacy' ? '200 mTLS' : '200';
  return { ...out, ...exceptions };
}

test('S1 auto mTLS: all 9 calls 200; sidecar to sidecar is mTLS with the caller identity, legacy plaintext', () => {
  const m = predict('s1-auto-mtls');
  assert.equal(sleepTable(m), table());
  assert.is(cell(m, 'foo/sleep', 'httpbin.bar.svc.cluster.local:8000').identity, SPIFFE('foo', 'sleep'));
  assert.is(cell(m, 'foo/sleep', 'httpbin.legacy.svc.cluster.local:8000').identity, undefined);
  assert.equal(m.services, [
    'httpbin.bar.svc.cluster.local:8000',
    'httpbin.foo.svc.cluster.local:8000',
    'httpbin.legacy.svc.cluster.local:8000',
  ]);
  assert.equal(m.clients, ['bar/httpbin', 'bar/sleep', 'foo/httpbin', 'foo/sleep', 'legacy/httpbin', 'legacy/sleep']);
});

test('S1 with captured traffic (TRANSPARENT): the same table through the virtual inbound listener', () => {
  assert.equal(sleepTable(predict('s1-transparent')), table());
});

test('S2 mesh STRICT: legacy -> foo and legacy -> bar 000, the rest 200', () => {
  const m = predict('s2-mesh-strict');
  assert.equal(sleepTable(m), table({ 'legacy->foo': '000', 'legacy->bar': '000' }));
  assert.match(
    cell(m, 'legacy/sleep', 'httpbin.foo.svc.cluster.local:8000').reason,
    /requires mTLS \(PeerAuthentication istio-system\/default STRICT\)/,
  );
});

test('S3 workload STRICT: only legacy -> bar 000', () => {
  assert.equal(sleepTable(predict('s3-workload-strict')), table({ 'legacy->bar': '000' }));
});

test('S3 + DestinationRule DISABLE: foo -> bar and bar -> bar 503 (client sidecar plaintext into STRICT), legacy -> bar 000', () => {
  const m = predict('s3-dr-disable');
  assert.equal(sleepTable(m), table({ 'foo->bar': '503', 'bar->bar': '503', 'legacy->bar': '000' }));
  const reason = cell(m, 'foo/sleep', 'httpbin.bar.svc.cluster.local:8000').reason;
  assert.match(reason, /client sidecar sends plaintext .*DestinationRule bar\/httpbin tls DISABLE/);
  assert.match(reason, /server bar\/httpbin port 80 requires mTLS \(PeerAuthentication bar\/httpbin STRICT\)/);
});

test('S3 + DestinationRule ISTIO_MUTUAL: mTLS again, legacy -> bar still 000', () => {
  const m = predict('s3-dr-istio-mutual');
  assert.equal(sleepTable(m), table({ 'legacy->bar': '000' }));
  assert.match(cell(m, 'bar/sleep', 'httpbin.bar.svc.cluster.local:8000').reason, /DestinationRule bar\/httpbin tls ISTIO_MUTUAL/);
});

test('S4 port-level DISABLE: all 9 calls 200; auto mTLS sends plaintext to httpbin.bar', () => {
  const m = predict('s4-port-level-exception');
  assert.equal(sleepTable(m), table({ 'foo->bar': '200', 'bar->bar': '200' }));
  assert.match(cell(m, 'foo/sleep', 'httpbin.bar.svc.cluster.local:8000').reason, /PeerAuthentication bar\/httpbin port 80 DISABLE/);
});

test('S5 authorization by principal: sleep.mtls-test 200 mTLS, sleep.legacy 000, sleep.full 403 by the DENY policy', () => {
  const m = predict('s5-authz-principal', { from: ['sleep'] });
  const to = 'httpbin.mtls-test.svc.cluster.local:8000';
  assert.equal(m.clients, ['full/sleep', 'legacy/sleep', 'mtls-test/sleep']);
  const own = cell(m, 'mtls-test/sleep', to);
  assert.equal([own.code, own.mtls, own.identity], ['200', true, SPIFFE('mtls-test', 'sleep')]);
  assert.is(cell(m, 'legacy/sleep', to).code, '000');
  const full = cell(m, 'full/sleep', to);
  assert.equal([full.code, full.mtls, full.identity], ['403', true, SPIFFE('full', 'sleep')]);
  assert.match(full.reason, /deny-full-sleep-get/);
});

test('what cannot be predicted says so: a gateway client, a client sidecar without a route, an external authorizer', () => {
  const gateway = predict('s6-ingress-mutual-tls', { from: ['istio-system'] });
  assert.ok(gateway.cells.length > 0 && gateway.cells.every((c) => c.code === '?' && /gateway/.test(c.reason)));
  const scoped = cell(predict('sidecar-scope'), 'analytics/reports', 'cart.shop.svc.cluster.local:8080');
  assert.equal([scoped.code, /no virtual host/.test(scoped.reason)], ['?', true]);
  const custom = predict('authz-custom', { from: ['foo/sleep'], to: ['httpbin.foo'] }).cells;
  assert.equal([custom.length, custom[0]?.code, /external authorizer/.test(custom[0]?.reason ?? '')], [1, '?', true]);
});

test('--from and --to select by <ns>/<name>, name, namespace, host, short name', () => {
  const m = predict('s1-auto-mtls', { from: ['foo', 'legacy/sleep'], to: ['httpbin.bar', 'httpbin.legacy.svc.cluster.local:8000'] });
  assert.equal(m.clients, ['foo/httpbin', 'foo/sleep', 'legacy/sleep']);
  assert.equal(m.services, ['httpbin.bar.svc.cluster.local:8000', 'httpbin.legacy.svc.cluster.local:8000']);
  assert.is(m.cells.length, 6);
});

const DENY_ADMIN = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: bar}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: DENY
  rules:
  - to: [{operation: {paths: [/admin, /admin/*]}}]
`;

test('the request path reaches RBAC: a DENY on /admin gives 403 for /admin/users only, for every client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'matrix-path-'));
  try {
    writeFileSync(join(dir, 'deny-admin.yaml'), DENY_ADMIN);
    const { result, model } = loadMesh([join(EXAMPLES_DIR, 's1-auto-mtls'), dir]);
    assert.ok(result.ok && model);
    const input = translatedMatrixInput(model!);
    const codes = (path: string) =>
      predictMatrix(input, { from: ['sleep'], to: ['httpbin.bar'], path }).cells.map((c) => `${c.from} ${c.code}`);
    assert.equal(codes('/admin/users'), ['bar/sleep 403', 'foo/sleep 403', 'legacy/sleep 403']);
    assert.equal(codes('/headers'), ['bar/sleep 200', 'foo/sleep 200', 'legacy/sleep 200']);
    const reason = predictMatrix(input, { from: ['foo/sleep'], to: ['httpbin.bar'], path: '/admin' }).cells[0]!.reason;
    assert.match(reason, /deny-admin/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
