// runner: long
// meshlite replicas when etcd fails: with etcd stopped for 30 s traffic goes
// on, every replica reports the store unavailable (/ready, metrics) and
// `meshlite apply` is refused; once etcd is back changes flow again. With a
// 3-member etcd, a killed member changes nothing for the replicas.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { adminJson, adminText } from '../support/e2e/meshlite.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { type ReplicatedMesh, startReplicatedMesh } from '../support/e2e/replicated-mesh.js';
import { describeFailures, startTraffic } from '../support/e2e/traffic.js';
import { until } from '../support/poll.js';

const BLOCK = loopbackAddress('e2e/store-outage.test.ts');
const PROXIES = ['httpbin.bar', 'sleep.foo'];

const denyAll = (name: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ${name}
  namespace: bar
spec: {}
`;

interface ReadyStore {
  state: string;
  revision?: number;
  servingLastGood: boolean;
}

async function storeState(adminUrl: string): Promise<{ status: number; store: ReadyStore }> {
  const res = await fetch(`${adminUrl}/ready`, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, store: ((await res.json()) as { store: ReadyStore }).store };
}

/** Applies a deny-all policy named `name`; resolves to the revision written. */
async function applyDenyAll(mesh: ReplicatedMesh, dir: string, name: string) {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, denyAll(name));
  return mesh.cli(['apply', '-f', file]);
}

function revisionOf(stdout: string): number {
  const m = /at store revision (\d+)/.exec(stdout);
  if (!m) throw new Error(`no revision in: ${stdout}`);
  return Number(m[1]);
}

const callCode = async (mesh: ReplicatedMesh) => (await mesh.call('sleep.foo', 'httpbin.bar')).code;

test('etcd stopped for 30 s under traffic: no call fails, the store is reported unavailable, apply is refused; changes resume after', async () => {
  await withProcesses(
    'store-outage',
    async (pm) => {
      const mesh = await startReplicatedMesh(pm, { blockAddress: BLOCK, replicas: 2, proxies: PROXIES });
      await until('traffic flows', async () => ((await callCode(mesh)) === '200' ? true : undefined));
      const traffic = startTraffic({ calls: [{ label: 'sleep.foo->httpbin.bar', run: () => mesh.call('sleep.foo', 'httpbin.bar') }] });
      await traffic.waitForMore(10);

      await mesh.etcd.members[0]!.stop();
      const outageEnds = Date.now() + 30_000;
      for (const r of mesh.replicas) {
        const seen = await until(`${r.process.name} reports the store unavailable`, async () => {
          const s = await storeState(r.adminUrl);
          return s.store.state === 'unavailable' ? s : undefined;
        });
        assert.is(seen.status, 200, 'still ready: it serves the last config it read');
        assert.ok(seen.store.servingLastGood, 'and says so');
        assert.match(await adminText(r.adminUrl, '/metrics'), /^meshlite_store_available 0$/m);
        assert.match(r.logs(), /store unavailable/);
      }
      const refusedAt = Date.now();
      const refused = await applyDenyAll(mesh, pm.dir, 'during-outage');
      assert.is(refused.code, 4, `apply is refused while etcd is down: ${refused.stdout}${refused.stderr}`);
      assert.ok(Date.now() - refusedAt < 15_000, 'and says so within seconds');
      while (Date.now() < outageEnds) await traffic.waitForMore(1);

      await mesh.etcd.members[0]!.start();
      for (const r of mesh.replicas)
        await until(`${r.process.name} sees the store again`, async () =>
          (await storeState(r.adminUrl)).store.state === 'available' ? true : undefined,
        );
      await traffic.waitForMore(10);
      const records = await traffic.stop();
      const failures = traffic.failures();
      assert.is(failures.length, 0, `${failures.length} of ${records.length} calls failed:\n${describeFailures(failures)}`);
      assert.ok(records.length > 100, `traffic ran through the outage (${records.length} calls)`);

      const after = await applyDenyAll(mesh, pm.dir, 'after-outage');
      assert.is(after.code, 0, after.stderr);
      await mesh.servedEverywhere(revisionOf(after.stdout));
      await until('the change made after the outage is enforced', async () => ((await callCode(mesh)) === '403' ? true : undefined));
      const listed = await mesh.cli(['get', 'authorizationpolicies', '-n', 'bar', '-o', 'name']);
      assert.not.match(listed.stdout, /during-outage/, 'the refused apply left nothing behind');
    },
    150_000,
  );
});

test('a 3-member etcd with one member killed: replicas keep serving and applying', async () => {
  await withProcesses('store-member-killed', async (pm) => {
    const mesh = await startReplicatedMesh(pm, { blockAddress: BLOCK, replicas: 2, etcdMembers: 3, proxies: PROXIES });
    await until('traffic flows', async () => ((await callCode(mesh)) === '200' ? true : undefined));
    await mesh.etcd.members[0]!.kill();
    const applied = await applyDenyAll(mesh, pm.dir, 'one-member-down');
    assert.is(applied.code, 0, `apply with two of three members: ${applied.stdout}${applied.stderr}`);
    await mesh.servedEverywhere(revisionOf(applied.stdout));
    await until('the change is enforced', async () => ((await callCode(mesh)) === '403' ? true : undefined));
    for (const r of mesh.replicas) {
      const ready = await adminJson<{ store: ReadyStore }>(r.adminUrl, '/ready');
      assert.is(ready.store.state, 'available', `${r.process.name}: the store is available with a quorum`);
    }
  });
});

test.run();
