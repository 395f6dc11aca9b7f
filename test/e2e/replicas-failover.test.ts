// runner: long
// Three meshlite replicas on one etcd serve one mesh of agent-run sidecars:
// one CA root everywhere; `meshlite apply` reaches every replica and an
// invalid one writes nothing; when the replica the sidecars are on stops,
// they move to another with no failed request, nothing is sent again that
// did not change, and `meshlite diff` matches on the new replica.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { assertDiffMatches } from '../support/e2e/diff-check.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { adminJson, adminText, type Meshlite } from '../support/e2e/meshlite.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { startReplicatedMesh, type ReplicatedMesh } from '../support/e2e/replicated-mesh.js';
import { describeFailures, startTraffic } from '../support/e2e/traffic.js';
import { etcdInstalled } from '../support/etcd.js';
import { until } from '../support/poll.js';

const PROXIES = ['httpbin.bar', 'sleep.foo'];

const DENY_ALL = `# Allow nothing: every request to bar's workloads is refused (403).
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: allow-nothing
  namespace: bar
spec: {}
`;

const BROKEN = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: via-missing-gateway
  namespace: bar
spec:
  hosts: [httpbin.bar.svc.cluster.local]
  gateways: [no-such-gateway]
  http:
  - route:
    - destination: {host: httpbin.bar.svc.cluster.local}
`;

/** The revision `meshlite apply`/`delete` reports it wrote. */
function writtenRevision(stdout: string): number {
  const m = /at store revision (\d+)/.exec(stdout);
  if (!m) throw new Error(`no revision in: ${stdout}`);
  return Number(m[1]);
}

async function pushes(replica: Meshlite): Promise<number> {
  const text = await adminText(replica.adminUrl, '/metrics');
  return [...text.matchAll(/^meshlite_xds_pushes_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

async function codeOf(mesh: ReplicatedMesh): Promise<string> {
  return (await mesh.call('sleep.foo', 'httpbin.bar')).code;
}

test('three replicas on etcd: one root, applies reach all, a stopped replica hands its sidecars over without a failed request', async () => {
  if (!etcdInstalled()) assert.unreachable('etcd is not installed (apt-get install etcd-server)');
  await withProcesses(
    'replicas-failover',
    async (pm) => {
      const mesh = await startReplicatedMesh(pm, {
        blockAddress: loopbackAddress('e2e/replicas-failover.test.ts'),
        replicas: 3,
        proxies: PROXIES,
      });
      const roots = await Promise.all(mesh.replicas.map((r) => adminJson(r.adminUrl, '/debug/ca').then((c) => c.rootFingerprintSha256)));
      assert.is(new Set(roots).size, 1, `one root on every replica: ${roots}`);
      await until('sleep.foo reaches httpbin.bar', async () => ((await codeOf(mesh)) === '200' ? true : undefined));

      const policy = join(pm.dir, 'allow-nothing.yaml');
      writeFileSync(policy, DENY_ALL);
      const applied = await mesh.cli(['apply', '-f', policy]);
      assert.is(applied.code, 0, applied.stderr);
      await mesh.servedEverywhere(writtenRevision(applied.stdout));
      await until('the policy denies', async () => ((await codeOf(mesh)) === '403' ? true : undefined));

      const before = await mesh.cli(['get', '-o', 'yaml']);
      const broken = join(pm.dir, 'broken.yaml');
      writeFileSync(broken, BROKEN);
      const refused = await mesh.cli(['apply', '-f', broken]);
      assert.is(refused.code, 1, `an invalid apply exits 1: ${refused.stdout}${refused.stderr}`);
      assert.match(refused.stdout + refused.stderr, /broken\.yaml:\d+:\d+/, 'the error names the file and line');
      assert.is((await mesh.cli(['get', '-o', 'yaml'])).stdout, before.stdout, 'nothing was written');

      const deleted = await mesh.cli(['delete', 'authorizationpolicy', 'allow-nothing', '-n', 'bar']);
      assert.is(deleted.code, 0, deleted.stderr);
      const lastWrite = writtenRevision(deleted.stdout);
      await mesh.servedEverywhere(lastWrite);
      await until('the policy is gone', async () => ((await codeOf(mesh)) === '200' ? true : undefined));

      const from = await Promise.all(PROXIES.map((p) => mesh.replicaOf(p)));
      const stopped = from[0]!;
      assert.ok(
        from.every((r) => r === stopped),
        'both agents list the replicas in the same order and are on the first',
      );
      const others = mesh.replicas.filter((r) => r !== stopped);
      const pushedBefore = await Promise.all(others.map(pushes));
      const traffic = startTraffic({ calls: [{ label: 'sleep.foo->httpbin.bar', run: () => mesh.call('sleep.foo', 'httpbin.bar') }] });
      await traffic.waitForMore(10);
      const stoppedAt = Date.now();
      await stopped.stop();
      const moved = await until('both sidecars on another replica', async () => {
        const now = await Promise.all(PROXIES.map((p) => mesh.replicaOf(p)));
        return now.every((r) => r !== undefined && r !== stopped) ? now : undefined;
      });
      const movedMs = Date.now() - stoppedAt;
      for (const p of PROXIES)
        await until(`${p}'s agent reports itself connected to the new replica`, async () =>
          (await mesh.agents.get(p)!.status()).upstream.upstreamConnected ? true : undefined,
        );
      await traffic.waitForMore(20);
      const records = await traffic.stop();
      const failures = traffic.failures();
      assert.is(failures.length, 0, `${failures.length} of ${records.length} calls failed:\n${describeFailures(failures)}`);
      assert.ok(movedMs < 10_000, `moved within seconds (${movedMs} ms)`);

      const pushedAfter = await Promise.all(others.map(pushes));
      assert.equal(pushedAfter, pushedBefore, 'the new replica sent nothing: the sidecars already held exactly its config');
      const target = moved[0]!;
      await assertDiffMatches(
        {
          meshlite: target,
          cfg: mesh.cfg,
          proxies: PROXIES.filter((p) => moved[PROXIES.indexOf(p)] === target),
          envoy: (p) => mesh.agents.get(p)!,
        },
        'after the failover',
        false,
      );
      const listed = await mesh.cli(['replicas', '-o', 'json', '--proxies']);
      const view = JSON.parse(listed.stdout);
      assert.equal(
        view.replicas.map((r: { id: string }) => r.id).sort(),
        others.map((r) => r.process.name.replace('meshlite-', '')).sort(),
        'the stopped replica left the registry at once',
      );
      for (const r of view.replicas) assert.is(r.configRevision, lastWrite, `${r.id} registered the store revision it serves`);
    },
    180_000,
  );
});

test.run();
