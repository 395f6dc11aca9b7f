// Replicas and their proxies in a real etcd, under leases: listed while they
// run, gone at once when a replica stops, gone after the TTL when one dies,
// back after an outage longer than the TTL, and written in few transactions.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import type { EtcdStore } from '../../src/store/etcd-store.js';
import { type MeshView, ReplicaRegistry, type ReplicaRecord, readMesh } from '../../src/store/replica-registry.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { ProcessManager } from '../support/e2e/process-manager.js';
import { type EtcdCluster, openTestStore, startEtcd } from '../support/etcd.js';
import { meshliteCli } from '../support/e2e/meshlite.js';
import { EXAMPLES_DIR, REPO_ROOT } from '../support/paths.js';
import { runMeshlite } from '../support/store-cli.js';
import { SotwClient } from '../server/xds-client.js';

let pm: ProcessManager;
let etcd: EtcdCluster;
const stores: EtcdStore[] = [];
const registries: ReplicaRegistry[] = [];

test.before(async () => {
  pm = new ProcessManager('replica-registry');
  etcd = await startEtcd(pm, loopbackAddress('store/replica-registry.test.ts'));
});

test.after(async () => {
  await Promise.all(registries.map((r) => r.stop()));
  await Promise.all(stores.map((s) => s.close()));
  await pm.stopAll();
  pm.removeDir();
});

const openStore = (prefix: string): EtcdStore => openTestStore(etcd, prefix, stores);

let nextPort = 15010;
function record(id: string): ReplicaRecord {
  return {
    id,
    adsAddress: `10.0.0.1:${nextPort++}`,
    adminAddress: '127.0.0.1:9901',
    startedAt: new Date().toISOString(),
    version: 'test',
    rootFingerprint: 'ab:cd',
  };
}

function registry(store: EtcdStore, id: string, leaseSeconds = 10): ReplicaRegistry {
  const r = new ReplicaRegistry({ store, replica: record(id), leaseSeconds });
  registries.push(r);
  r.start();
  return r;
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function mesh(store: EtcdStore): Promise<MeshView> {
  return readMesh(store);
}

const ids = (m: MeshView) => m.replicas.map((r) => r.id).sort();
const placed = (m: MeshView) => m.proxies.map((p) => `${p.proxy}@${p.replica}`).sort();

test('two replicas list themselves and their proxies; a disconnect removes one; stop revokes at once', async () => {
  const store = openStore('/two');
  const a = registry(store, 'replica-a');
  const b = registry(store, 'replica-b');
  a.proxyConnected('sleep.foo', true);
  a.proxyConnected('httpbin.foo', false);
  b.proxyConnected('web.bar', false);
  await Promise.all([a.whenSettled(), b.whenSettled()]);
  const both = await mesh(store);
  assert.equal(ids(both), ['replica-a', 'replica-b']);
  assert.equal(placed(both), ['httpbin.foo@replica-a', 'sleep.foo@replica-a', 'web.bar@replica-b']);
  assert.is(both.proxies.find((p) => p.proxy === 'sleep.foo')?.agent, true);
  assert.equal(
    both.replicas.find((r) => r.id === 'replica-a'),
    a.replica,
  );

  a.proxyDisconnected('httpbin.foo');
  await a.whenSettled();
  assert.equal(placed(await mesh(store)), ['sleep.foo@replica-a', 'web.bar@replica-b']);

  const stopped = Date.now();
  await a.stop();
  const after = await mesh(store);
  assert.ok(Date.now() - stopped < 3000, 'stop returns promptly');
  assert.equal(ids(after), ['replica-b']);
  assert.equal(placed(after), ['web.bar@replica-b']);
  await b.stop();
  assert.equal(ids(await mesh(store)), []);
});

test('a killed replica (no revoke, no more keepalives) disappears after its lease TTL', async () => {
  const observer = openStore('/killed');
  const survivor = registry(observer, 'survivor', 2);
  const child = pm.start('victim', process.execPath, [
    fileURLToPath(new URL('../support/replica-registry-child.js', import.meta.url)),
    etcd.storeUrl('/killed'),
    'victim',
    '2',
    'sleep.foo',
  ]);
  await child.waitForLog(/registered/);
  await survivor.whenSettled();
  assert.equal(ids(await mesh(observer)), ['survivor', 'victim']);
  assert.equal(placed(await mesh(observer)), ['sleep.foo@victim']);
  const killed = Date.now();
  child.child.kill('SIGKILL');
  await child.exited;
  await until('the victim to expire', async () => ids(await mesh(observer)).join() === 'survivor', 10_000);
  const gone = Date.now() - killed;
  assert.ok(gone >= 1000, `entries outlive the kill until the TTL runs out (gone after ${gone} ms)`);
  assert.equal(placed(await mesh(observer)), []);
  // The survivor's keepalives hold its entry well past its TTL.
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(ids(await mesh(observer)), ['survivor']);
});

test('etcd down longer than the TTL: the registry grants a new lease and writes everything again', async () => {
  const store = openStore('/outage');
  const r = registry(store, 'phoenix', 2);
  r.proxyConnected('sleep.foo', false);
  await r.whenSettled();
  assert.is(r.registrations, 1);
  await etcd.members[0]!.stop();
  // Connected and gone while etcd is down: written when it is back.
  r.proxyConnected('late.foo', true);
  r.proxyDisconnected('sleep.foo');
  // Long enough for the client to give the lease up (twice its TTL without a keepalive).
  await new Promise((res) => setTimeout(res, 5000));
  await etcd.members[0]!.start();
  await until('a second registration', () => r.registrations >= 2, 20_000);
  await r.whenSettled();
  // etcd kept the old lease across its restart; once it runs out, the entries (on the new lease) stay.
  await new Promise((res) => setTimeout(res, 3000));
  const after = await mesh(store);
  assert.equal(ids(after), ['phoenix']);
  assert.equal(placed(after), ['late.foo@phoenix']);
});

test('1,000 proxies connecting at once are written in a few transactions', async () => {
  const store = openStore('/many');
  const r = registry(store, 'busy');
  await r.whenSettled();
  const before = r.transactions;
  for (let i = 0; i < 1000; i++) r.proxyConnected(`p${i}.load`, i % 2 === 0);
  await r.whenSettled();
  const used = r.transactions - before;
  const m = await mesh(store);
  assert.is(m.proxies.filter((p) => p.replica === 'busy').length, 1000);
  assert.ok(used <= 20, `1,000 connects took ${used} transactions`);
  for (let i = 0; i < 1000; i += 2) r.proxyDisconnected(`p${i}.load`);
  await r.whenSettled();
  assert.is((await mesh(store)).proxies.length, 500);
});

test('serve in store mode: /debug/syncz shows every replica and where each proxy is; a stopped replica leaves at once', async () => {
  const store = openStore('/serve');
  // In store mode the config is the store's: put there as an operator would.
  const applied = await runMeshlite(REPO_ROOT, ['apply', '-f', join(EXAMPLES_DIR, 's1-auto-mtls'), '--store', etcd.storeUrl('/serve')]);
  assert.is(applied.code, 0, applied.stderr);
  const stateDir = mkdtempSync(join(tmpdir(), 'meshlite-replicas-'));
  const serve = (replicaId: string) =>
    startMeshlite({
      configPaths: [],
      stateDir,
      adsAddress: '127.0.0.1:0',
      adminAddress: '127.0.0.1:0',
      insecure: true,
      logger: pino({ level: 'silent' }),
      store,
      replicaId,
    });
  const running: RunningMeshlite[] = [];
  let client: grpc.Client | undefined;
  let stream: SotwClient | undefined;
  try {
    running.push(await serve('one'));
    running.push(await serve('two'));
    const [one, two] = running as [RunningMeshlite, RunningMeshlite];
    client = new grpc.Client(`127.0.0.1:${two.adsPort}`, grpc.credentials.createInsecure());
    stream = new SotwClient(client);
    stream.request('clusters', { node: { id: 'sleep.foo', cluster: 'sleep.foo' } });
    await stream.next();
    const syncz = async () => (await fetch(`http://127.0.0.1:${one.adminPort}/debug/syncz`)).json() as Promise<any>;
    await until('sleep.foo listed on replica two', async () => {
      const view = (await syncz()).mesh;
      return view.proxies?.some((p: any) => p.proxy === 'sleep.foo' && p.replica === 'two') === true;
    });
    const view = await syncz();
    assert.equal(view.proxies, [], 'replica one has no proxy of its own');
    assert.is(view.mesh.replica, 'one');
    assert.equal(view.mesh.replicas.map((r: ReplicaRecord) => r.id).sort(), ['one', 'two']);
    const listed = view.mesh.replicas.find((r: ReplicaRecord) => r.id === 'two');
    assert.is(listed.adsAddress, `127.0.0.1:${two.adsPort}`);
    assert.is(listed.rootFingerprint, two.ca.info.rootFingerprintSha256);
    const onTwo = (await (await fetch(`http://127.0.0.1:${two.adminPort}/debug/syncz`)).json()) as any;
    assert.equal(
      onTwo.proxies.map((p: { proxy: string }) => p.proxy),
      ['sleep.foo'],
    );

    await two.stop();
    running.pop();
    const after = await mesh(store);
    assert.equal(ids(after), ['one']);
    assert.equal(placed(after), []);

    // The store down: the endpoint still answers, and says why the mesh is missing.
    await etcd.members[0]!.stop();
    const res = await fetch(`http://127.0.0.1:${one.adminPort}/debug/syncz`);
    assert.is(res.status, 200);
    const down = (await res.json()) as any;
    assert.match(down.mesh.unavailable, /did not answer/);
    assert.equal(down.proxies, []);
  } finally {
    stream?.close();
    client?.close();
    await etcd.members[0]!.start();
    for (const r of running) await r.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('meshlite replicas lists the registry; bootstrap --store lists every registered ADS address', async () => {
  const store = openStore('/cli');
  const a = registry(store, 'cli-a');
  const b = registry(store, 'cli-b');
  a.proxyConnected('sleep.foo', true);
  await Promise.all([a.whenSettled(), b.whenSettled()]);
  const url = etcd.storeUrl('/cli');
  const json = JSON.parse(await meshliteCli(['replicas', '--store', url, '-o', 'json', '--proxies']));
  assert.equal(
    json.replicas.map((r: { id: string; proxies: number }) => [r.id, r.proxies]),
    [
      ['cli-a', 1],
      ['cli-b', 0],
    ],
  );
  assert.equal(
    json.proxies.map((p: { proxy: string; replica: string }) => `${p.proxy}@${p.replica}`),
    ['sleep.foo@cli-a'],
  );
  const table = await meshliteCli(['replicas', '--store', url, '--proxies']);
  assert.match(table, /^REPLICA\s+ADS ADDRESS/m);
  assert.match(table, /^sleep\.foo\s+cli-a\s+\S+\s+yes$/m);

  // The config is the store's too (-c and --store are one source or the other); plaintext, so no identity is needed.
  const applied = await runMeshlite(REPO_ROOT, ['apply', '-f', join(EXAMPLES_DIR, 's1-auto-mtls'), '--store', url]);
  assert.is(applied.code, 0, applied.stderr);
  const stateDir = mkdtempSync(join(tmpdir(), 'meshlite-replicas-cli-'));
  try {
    const out = join(stateDir, 'b.json');
    await meshliteCli(['bootstrap', '--store', url, '--proxy', 'sleep.foo', '--insecure', '-o', out]);
    const boot = JSON.parse(readFileSync(out, 'utf8'));
    const endpoints = boot.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints.map(
      (e: any) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`,
    );
    assert.equal(endpoints, [a.replica.adsAddress, b.replica.adsAddress]);
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test.run();
