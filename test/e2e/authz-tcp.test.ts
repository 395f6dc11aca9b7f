// AuthorizationPolicy on a TCP port, real Envoys: the S1 config plus a TCP
// echo service in bar (echo.bar, sidecar, port 9000). sleep.foo and sleep.bar
// connect in plaintext to their sidecars' TCP listeners (which do mutual TLS
// to echo's sidecar); sleep.legacy connects straight to echo's address.
// A denied connection is closed by echo's sidecar (network RBAC) before any
// byte reaches the app, which logs every line it receives.
// DENY by principal (exact and `*` suffix), DENY with an HTTP-only field
// (the field is dropped: denies more), ALLOW with an HTTP-only field (the rule
// is dropped: denies everything), ALLOW by principal.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { authorizationPolicy } from '../support/e2e/authz.js';
import { mapAddresses, prepareConfigDir, readWorkloads, writeConfigFile, type WorkloadInfo } from '../support/e2e/config-dir.js';
import { assertDiffMatches } from '../support/e2e/diff-check.js';
import { dialTcp, lineSession, type SessionResult } from '../support/e2e/egress-clients.js';
import { statValue } from '../support/e2e/envoy-state.js';
import { type MeshProxies, startMeshProxies } from '../support/e2e/mesh-proxies.js';
import { type ManagedProcess, withProcesses } from '../support/e2e/process-manager.js';
import { REPO_ROOT } from '../support/paths.js';

const ECHO_APP = join(REPO_ROOT, 'dist/test/support/apps/tcp-echo.js');
const ECHO_PORT = 9000;
const POLICY_FILE = 'authz.yaml';
const SELECTOR = { matchLabels: { app: 'echo' } };
type Client = 'foo' | 'bar' | 'legacy';
const CLIENTS: readonly Client[] = ['foo', 'bar', 'legacy'];

/** The echo service and its workload (outbound listeners on their own address: the inbound one takes address:9000). */
function echoYaml(block: number): string {
  return mapAddresses(
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo, namespace: bar}
spec:
  hosts: [echo.bar.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {name: tcp-echo, number: ${ECHO_PORT}, protocol: TCP, targetPort: ${ECHO_PORT}}
  workloadSelector:
    labels: {app: echo}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: echo
  namespace: bar
  annotations:
    sidecar.meshlite.io/applicationAddress: 127.0.12.3
    sidecar.meshlite.io/outboundAddress: 127.0.22.3
spec:
  address: 127.0.2.3
  serviceAccount: echo
  labels: {app: echo, security.istio.io/tlsMode: istio}
`,
    block,
  );
}

class TcpChecker {
  private n = 0;
  constructor(
    private readonly mesh: MeshProxies,
    private readonly app: ManagedProcess,
    private readonly w: (id: string) => WorkloadInfo,
  ) {}

  /** One session from sleep.<from>: sends `probe-<n>`, returns the outcome and the probe. */
  async session(from: Client): Promise<{ probe: string; r: SessionResult }> {
    const probe = `probe-${++this.n}`;
    const sleep = this.w(`sleep.${from}`);
    const dial = sleep.sidecar
      ? dialTcp(sleep.outboundAddress, ECHO_PORT, sleep.applicationAddress)
      : dialTcp(this.w('echo.bar').address, ECHO_PORT, sleep.address);
    return { probe, r: await lineSession(dial, [probe], 3000) };
  }

  /** Each client's session is echoed (allowed) or closed with nothing received by the app (denied, counted by network RBAC). */
  async expect(step: string, allowed: readonly Client[]): Promise<void> {
    const deniedBefore = await statValue(this.mesh.envoy('echo.bar'), 'tcp.rbac.denied');
    const wrong: string[] = [];
    for (const from of CLIENTS) {
      const { probe, r } = await this.session(from);
      const reached = new RegExp(`^line \\d+ ${probe}$`, 'm').test(this.app.log());
      if (allowed.includes(from)) {
        if (!r.ok || r.replies[0] !== `echo: ${probe}`) wrong.push(`${from}: want an echo, got ${JSON.stringify(r)}`);
      } else {
        if (r.ok || r.replies.length > 0) wrong.push(`${from}: want the connection closed, got ${JSON.stringify(r)}`);
        if (reached) wrong.push(`${from}: denied, yet the app received ${probe}`);
      }
    }
    const denied = CLIENTS.length - allowed.length;
    const counted = (await statValue(this.mesh.envoy('echo.bar'), 'tcp.rbac.denied')) - deniedBefore;
    if (counted !== denied) wrong.push(`echo's sidecar counted ${counted} RBAC denials (tcp.rbac.denied), want ${denied}`);
    assert.equal(wrong, [], `${step}:\n${wrong.join('\n')}`);
  }
}

test('TCP: DENY by principal (exact, *suffix, with an HTTP-only field), ALLOW with an HTTP-only field, ALLOW by principal', async () => {
  await withProcesses('authz-tcp', async (pm) => {
    const cfg = await prepareConfigDir(pm.dir);
    writeConfigFile(cfg, 'echo.yaml', echoYaml(cfg.block));
    const workloads = readWorkloads(cfg.dir);
    const w = (id: string): WorkloadInfo => {
      const found = workloads.find((x) => x.id === id);
      if (!found) throw new Error(`no workload ${id}`);
      return found;
    };
    const app = pm.start('app-echo.bar', process.execPath, [ECHO_APP, w('echo.bar').applicationAddress, String(ECHO_PORT)]);
    await app.waitForLog(/tcp-echo listening/, 10_000);
    const mesh = await startMeshProxies(pm, cfg, { proxies: ['echo.bar', 'sleep.bar', 'sleep.foo'] });
    const c = new TcpChecker(mesh, app, w);
    const policy = (name: string, spec: Record<string, unknown>) =>
      mesh.edit(POLICY_FILE, authorizationPolicy('bar', name, { selector: SELECTOR, ...spec }));

    await c.expect('no policy', CLIENTS);

    await policy('deny-foo', { action: 'DENY', rules: [{ from: [{ source: { principals: ['cluster.local/ns/foo/sa/sleep'] } }] }] });
    await c.expect('DENY principals [cluster.local/ns/foo/sa/sleep]', ['bar', 'legacy']);
    await assertDiffMatches(mesh, 'TCP DENY by principal');

    await policy('deny-foo', { action: 'DENY', rules: [{ from: [{ source: { principals: ['*/ns/foo/sa/sleep'] } }] }] });
    await c.expect('DENY principals [*/ns/foo/sa/sleep]', ['bar', 'legacy']);

    // On TCP the methods field cannot be evaluated: the DENY rule keeps only its principals (denies more).
    await policy('deny-foo', {
      action: 'DENY',
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/foo/sa/sleep'] } }], to: [{ operation: { methods: ['GET'] } }] }],
    });
    await c.expect('DENY principals [foo] + methods [GET] on TCP', ['bar', 'legacy']);

    // An ALLOW rule with an HTTP-only field is dropped: nothing is allowed (fail closed).
    await policy('allow-get', { action: 'ALLOW', rules: [{ to: [{ operation: { methods: ['GET'] } }] }] });
    await c.expect('ALLOW methods [GET] on TCP', []);

    await policy('allow-bar', { action: 'ALLOW', rules: [{ from: [{ source: { principals: ['cluster.local/ns/bar/sa/sleep'] } }] }] });
    await c.expect('ALLOW principals [cluster.local/ns/bar/sa/sleep]', ['bar']);

    await policy('allow-bar', {
      action: 'ALLOW',
      rules: [
        { from: [{ source: { principals: ['cluster.local/ns/bar/sa/sleep'] } }], to: [{ operation: { ports: [String(ECHO_PORT)] } }] },
      ],
    });
    await c.expect('ALLOW principals [bar] + ports [9000] (a TCP field)', ['bar']);
    await assertDiffMatches(mesh, 'TCP ALLOW by principal');
  });
});

test.run();
