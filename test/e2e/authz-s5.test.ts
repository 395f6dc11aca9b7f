// S5 end to end with real Envoys (examples/s5-authz-principal): httpbin in
// mtls-test is STRICT, clients use ISTIO_MUTUAL, and an AuthorizationPolicy
// denies GET from the SPIFFE principal of sleep in namespace `full`.
// sleep.mtls-test 200 (XFCC carries its URI), sleep.legacy 000, sleep.full 403
// (answered by httpbin's sidecar: the app never sees the request). Then the
// policy is removed and restored live while sleep.full keeps calling.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { xfccOf } from '../support/e2e/client.js';
import { prepareConfigDir, readWorkloads, type WorkloadInfo } from '../support/e2e/config-dir.js';
import { assertDiffMatches } from '../support/e2e/diff-check.js';
import { statValue } from '../support/e2e/envoy-state.js';
import { type MeshProxies, startMeshProxies } from '../support/e2e/mesh-proxies.js';
import { assertPredicted } from '../support/e2e/predicted-matrix.js';
import { type ManagedProcess, type ProcessManager, withProcesses } from '../support/e2e/process-manager.js';
import { describeResponse, meshRequest, probesSeen, type RawResponse } from '../support/e2e/raw-http.js';
import { REPO_ROOT } from '../support/paths.js';

const HTTPBIN = join(REPO_ROOT, 'dist/test/support/apps/httpbin.js');
const SPIFFE = (ns: string, sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
const RBAC_DENIED = 'RBAC: access denied';

/** policies.yaml without its AuthorizationPolicy document (PeerAuthentication and DestinationRule stay). */
function withoutAuthorizationPolicy(text: string): string {
  const docs = text.split(/^---$/m);
  const kept = docs.filter((d) => !/^kind: AuthorizationPolicy$/m.test(d));
  assert.is(kept.length, docs.length - 1, 'policies.yaml has exactly one AuthorizationPolicy');
  return kept.join('---');
}

interface S5 {
  mesh: MeshProxies;
  app: ManagedProcess;
  w(id: string): WorkloadInfo;
  /** GET (or `method`) http://httpbin.mtls-test:8000/headers from `from`, tagged `probe`. */
  call(from: string, probe: string, method?: string): Promise<RawResponse>;
}

async function startS5(pm: ProcessManager): Promise<S5> {
  const cfg = await prepareConfigDir(pm.dir, 's5-authz-principal');
  const workloads = readWorkloads(cfg.dir);
  const w = (id: string): WorkloadInfo => {
    const found = workloads.find((x) => x.id === id);
    if (!found) throw new Error(`no workload ${id} in ${cfg.dir}`);
    return found;
  };
  const httpbin = w('httpbin.mtls-test');
  const app = pm.start('app-httpbin.mtls-test', process.execPath, [HTTPBIN, httpbin.applicationAddress, '80']);
  await app.waitForLog(/httpbin listening/, 10_000);
  const mesh = await startMeshProxies(pm, cfg, { proxies: workloads.filter((x) => x.sidecar).map((x) => x.id) });
  assert.equal(mesh.proxies, ['httpbin.mtls-test', 'sleep.full', 'sleep.mtls-test']);
  return { mesh, app, w, call: (from, probe, method = 'GET') => meshRequest(w(from), httpbin, '/headers', { method, probe }) };
}

const expectCode = (r: RawResponse, code: string, what: string) => assert.is(r.code, code, `${what}: ${describeResponse(r)}`);

test('S5: DENY GET from cluster.local/ns/full/sa/sleep -> sleep.mtls-test 200 (XFCC URI), sleep.legacy 000, sleep.full 403', async () => {
  await withProcesses('authz-s5', async (pm) => {
    const { mesh, app, call } = await startS5(pm);
    await assertDiffMatches(mesh, 'S5');

    // sleep.mtls-test: mutual TLS, allowed; httpbin sees its identity.
    const own = await call('sleep.mtls-test', 's5-own');
    expectCode(own, '200', 'sleep.mtls-test -> httpbin.mtls-test');
    const xfcc = xfccOf(own.body);
    assert.ok(xfcc?.includes(`URI=${SPIFFE('mtls-test', 'sleep')}`), `XFCC names sleep.mtls-test: ${xfcc}`);
    assert.ok(xfcc?.includes(`By=${SPIFFE('mtls-test', 'httpbin')}`), `XFCC By is httpbin: ${xfcc}`);

    // sleep.legacy: plaintext to a STRICT listener is reset (curl 000), not answered.
    const legacy = await call('sleep.legacy', 's5-legacy');
    expectCode(legacy, '000', 'sleep.legacy -> httpbin.mtls-test');

    // sleep.full: its GET is denied by httpbin's sidecar; a POST is not (the rule names GET only).
    const full = await call('sleep.full', 's5-full-get');
    expectCode(full, '403', 'sleep.full GET -> httpbin.mtls-test');
    assert.is(full.body, RBAC_DENIED, 'the 403 comes from the RBAC filter');
    const post = await call('sleep.full', 's5-full-post', 'POST');
    expectCode(post, '200', 'sleep.full POST (the DENY rule is for GET)');
    assert.ok(xfccOf(post.body)?.includes(`URI=${SPIFFE('full', 'sleep')}`), `POST XFCC names sleep.full: ${post.body}`);

    // `meshlite matrix` predicted each GET from the config alone.
    const HTTPBIN_PORT = 'httpbin.mtls-test.svc.cluster.local:8000';
    const measured = [
      { key: 'sleep.mtls-test', from: 'mtls-test/sleep', to: HTTPBIN_PORT, code: own.code },
      { key: 'sleep.legacy', from: 'legacy/sleep', to: HTTPBIN_PORT, code: legacy.code },
      { key: 'sleep.full', from: 'full/sleep', to: HTTPBIN_PORT, code: full.code },
    ];
    assertPredicted(mesh.cfg.dir, measured, 'S5');

    const seen = probesSeen(app);
    assert.ok(seen.has('s5-own') && seen.has('s5-full-post'), `allowed requests reached httpbin: ${[...seen].join(' ')}`);
    assert.not.ok(seen.has('s5-full-get'), 'the denied GET never reached httpbin');
    assert.not.ok(seen.has('s5-legacy'), 'the reset plaintext call never reached httpbin');
    assert.ok(
      (await statValue(mesh.envoy('httpbin.mtls-test'), 'http.inbound_80.rbac.denied')) >= 1,
      'httpbin sidecar counted the RBAC denial',
    );
  });
});

// Envoys run as the README says (default drain). sleep.full keeps calling, so its
// sidecar holds a pooled mTLS connection to httpbin's sidecar across each change:
// once meshlite reports the change ACKed, the very next request must follow it.
test('S5 live: the policy removed, then restored; each change applies to the next request of a client already connected', async () => {
  await withProcesses('authz-s5-live', async (pm) => {
    const { mesh, app, call } = await startS5(pm);
    expectCode(await call('sleep.full', 's5-before'), '403', 'sleep.full GET with the policy');
    const policies = readFileSync(join(mesh.cfg.dir, 'policies.yaml'), 'utf8');
    const next = async (n: number, probe: string) => {
      const codes: string[] = [];
      for (let i = 0; i < n; i++) codes.push((await call('sleep.full', `${probe}-${i}`)).code);
      return codes.join(' ');
    };

    await mesh.edit('policies.yaml', withoutAuthorizationPolicy(policies));
    assert.is(await next(3, 's5-open'), '200 200 200', 'sleep.full GETs right after the DENY policy was removed (ACKed)');
    expectCode(await call('sleep.legacy', 's5-legacy'), '000', 'sleep.legacy still reset (STRICT stays)');

    await mesh.edit('policies.yaml', policies);
    assert.is(await next(3, 's5-again'), '403 403 403', 'sleep.full GETs right after the DENY policy was restored (ACKed)');
    const seen = probesSeen(app);
    assert.not.ok(
      [...seen].some((p) => p.startsWith('s5-again')),
      `no GET reached httpbin once the DENY was restored: ${[...seen].join(' ')}`,
    );
    expectCode(await call('sleep.mtls-test', 's5-own'), '200', 'sleep.mtls-test with the policy restored');
    await assertDiffMatches(mesh, 'S5 restored');
  });
});

test.run();
