// Config read from a real etcd and followed: the first read, puts and deletes
// (a burst as one load), rejected values naming their key, an etcd restart,
// a compaction behind the watch, a store that is down at startup; then
// `meshlite serve --store` in-process (/ready, metrics) and on the CLI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BackgroundConfigLoader } from '../../src/control-plane/config-loader.js';
import { StoreConfigSource } from '../../src/control-plane/store-config-source.js';
import type { EtcdStore } from '../../src/store/etcd-store.js';
import { configKey } from '../../src/store/store-keys.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { ProcessManager } from '../support/e2e/process-manager.js';
import { type EtcdCluster, openTestStore, startEtcd } from '../support/etcd.js';
import { yamlOf } from '../support/fixtures/index.js';
import { REPO_ROOT } from '../support/paths.js';
import { type Load, put, putWhenUp, until, wl, workloadIds } from './store-config-fixtures.js';
import { serveFromStore } from '../support/store-replica.js';

let pm: ProcessManager;
let etcd: EtcdCluster;
const stores: EtcdStore[] = [];
const sources: StoreConfigSource[] = [];
const loader = new BackgroundConfigLoader();

test.before(async () => {
  pm = new ProcessManager('store-config-source');
  etcd = await startEtcd(pm, loopbackAddress('store/store-config-source.test.ts'));
});

test.after(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  await Promise.all(stores.map((s) => s.close()));
  await pm.stopAll();
  pm.removeDir();
});

const openStore = (prefix: string): EtcdStore => openTestStore(etcd, prefix, stores);

function follow(store: EtcdStore): { source: StoreConfigSource; loads: Load[] } {
  const loads: Load[] = [];
  const source = new StoreConfigSource({
    store,
    loader,
    debounceMs: 50,
    retryInitialMs: 200,
    retryMaxMs: 1000,
    onLoad: (result, reason) => void loads.push({ result, reason }),
  });
  sources.push(source);
  return { source, loads };
}

async function serveInProcess(store: EtcdStore) {
  const stateDir = mkdtempSync(join(tmpdir(), 'meshlite-store-serve-'));
  const m = await serveFromStore(store, stateDir);
  return { m, stateDir };
}

test('the first read loads every resource at one revision; the same revision loads the same way', async () => {
  const store = openStore('/initial');
  await put(store, wl('foo/sleep', '10.0.0.1'));
  await put(store, wl('foo/httpbin', '10.0.0.2'));
  const revision = await put(store, wl('bar/sleep', '10.0.0.3'));
  const { source, loads } = follow(store);
  const first = await source.start();
  assert.ok(first?.ok);
  assert.equal(workloadIds(loads[0]), ['httpbin.foo', 'sleep.bar', 'sleep.foo']);
  assert.is(loads[0]!.reason, `store revision ${revision}: startup`);
  assert.is(source.appliedRevision, revision);
  assert.equal(source.status().revision, revision);
  const again = await follow(store).source.readFirst();
  assert.equal(again?.result, first, 'a second reader of the same revision loads the same config');
  assert.ok(await source.reload(), 'a reload (SIGHUP) reads everything again');
  assert.is(loads[1]?.reason, `store revision ${revision}: reload requested`);
});

test('a put and a delete are followed; a burst of changes becomes one load', async () => {
  const store = openStore('/changes');
  await put(store, wl('foo/sleep', '10.0.0.1'));
  const { source, loads } = follow(store);
  await source.start();
  await put(store, wl('foo/httpbin', '10.0.0.2'));
  await until('the put', () => loads.length === 2);
  assert.equal(workloadIds(loads[1]), ['httpbin.foo', 'sleep.foo']);
  assert.match(loads[1]!.reason, /^store revision \d+: changed: config\/networking\.istio\.io\/WorkloadEntry\/foo\/httpbin$/);
  await store.kv.delete().key(configKey({ group: 'networking.istio.io', kind: 'WorkloadEntry', namespace: 'foo', name: 'sleep' }));
  await until('the delete', () => loads.length === 3);
  assert.equal(workloadIds(loads[2]), ['httpbin.foo']);
  let last = 0;
  for (let i = 1; i <= 5; i++) last = await put(store, wl(`bar/w${i}`, `10.0.1.${i}`));
  await until('the burst', () => source.appliedRevision === last);
  assert.is(loads.length, 4, 'five writes within the debounce time are one load');
  assert.is(workloadIds(loads[3]).length, 6);
});

test('invalid values are rejected naming their key, and the last good config stays', async () => {
  const store = openStore('/invalid');
  await put(store, wl('foo/sleep', '10.0.0.1'));
  const { source, loads } = follow(store);
  await source.start();
  await until('the watch', () => source.following);
  const badKey = 'config/networking.istio.io/WorkloadEntry/foo/broken';
  const cases: [string, string, RegExp][] = [
    [
      badKey,
      'apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: broken, namespace: foo\n',
      /^etcd:\/invalid\/config\/networking\.istio\.io\/WorkloadEntry\/foo\/broken:4:1: invalid YAML/,
    ],
    [badKey, yamlOf(wl('foo/other', '10.0.0.9')), /belongs under the key config\/networking\.istio\.io\/WorkloadEntry\/foo\/other/],
    [
      'config/example.io/Gadget/foo/g',
      'apiVersion: example.io/v1\nkind: Gadget\nmetadata: {name: g, namespace: foo}\n',
      /unknown kind "Gadget"/,
    ],
  ];
  for (const [key, value, message] of cases) {
    const good = source.appliedRevision;
    const before = loads.length;
    const rev = Number((await store.kv.put(key).value(value)).header.revision);
    await until(`the load of ${key}`, () => loads.length === before + 1);
    const load = loads.at(-1)!;
    assert.not.ok(load.result.ok);
    if (load.result.ok) return;
    const issue = load.result.issues.find((i) => i.file === `etcd:/invalid/${key}`);
    assert.ok(issue, JSON.stringify(load.result.issues));
    assert.match(`${issue!.file}:${issue!.line}:${issue!.column}: ${issue!.message}`, message);
    assert.is(source.appliedRevision, good, 'the last good config stays served');
    assert.equal(source.status().rejectedRevision, rev);
    await store.kv.delete().key(key);
    await until('the repaired config', () => source.status().rejectedRevision === undefined);
  }
});

test('etcd stopped and started again: the watch resumes and a later write is loaded', async () => {
  const store = openStore('/outage');
  await put(store, wl('foo/sleep', '10.0.0.1'));
  const { source, loads } = follow(store);
  await source.start();
  await until('the watch', () => source.following);
  await etcd.members[0]!.stop();
  try {
    await until('the store seen unavailable', () => source.status().state === 'unavailable');
    assert.is(source.status().servingLastGood, true);
    assert.is(source.appliedRevision, source.status().revision);
  } finally {
    await etcd.members[0]!.start();
  }
  await putWhenUp(store, wl('foo/httpbin', '10.0.0.2'));
  await until('the write made after the restart', () => loads.length === 2);
  assert.equal(workloadIds(loads[1]), ['httpbin.foo', 'sleep.foo']);
  await until('available again', () => source.status().state === 'available');
  assert.is(source.status().servingLastGood, false);
});

test('a compaction behind the watch leads to a full read', async () => {
  const store = openStore('/compact');
  await put(store, wl('foo/sleep', '10.0.0.1'));
  const { source, loads } = follow(store);
  await source.start();
  await until('the watch', () => source.following);
  await source.pauseWatch();
  await put(store, wl('foo/httpbin', '10.0.0.2'));
  const last = await put(store, wl('foo/sleep', '10.0.0.3'));
  await store.client.kv.compact({ revision: String(last) });
  source.resumeWatch();
  await until('the full read', () => loads.length === 2);
  assert.match(loads[1]!.reason, /compacted: full read/);
  assert.equal(workloadIds(loads[1]), ['httpbin.foo', 'sleep.foo']);
  assert.ok(source.appliedRevision! >= last);
});

test('a store down at startup: nothing is served and nothing throws; the first config arrives once it is up', async () => {
  const store = openStore('/late');
  await put(store, wl('foo/sleep', '10.0.0.1'));
  await etcd.members[0]!.stop();
  const { source, loads } = follow(store);
  try {
    assert.is(await source.start(), undefined);
    assert.is(source.status().reason, 'store not read yet');
    assert.is(source.status().revision, undefined);
    assert.is(source.status().state, 'unavailable');
  } finally {
    await etcd.members[0]!.start();
  }
  await until('the first config', () => loads.length === 1);
  assert.equal(workloadIds(loads[0]), ['sleep.foo']);
  assert.is(source.status().reason, undefined);
});

test('serve --store: a put changes what is served; /ready and /metrics show the store', async () => {
  const store = openStore('/serve');
  await put(store, wl('foo/sleep', '10.0.0.1'));
  const { m, stateDir } = await serveInProcess(store);
  try {
    const served = () => (m.controlPlane.currentModel?.registry.workloads.map((w) => w.id) ?? []).sort();
    assert.equal(served(), ['sleep.foo']);
    const revision = await put(store, wl('foo/httpbin', '10.0.0.2'));
    await until('the new workload served', () => served().length === 2);
    assert.equal(served(), ['httpbin.foo', 'sleep.foo']);
    const admin = `http://127.0.0.1:${m.adminPort}`;
    let ready: any;
    await until(
      '/ready at the new revision',
      () => ready?.store?.revision === revision,
      10_000,
      async () => {
        const res = await fetch(`${admin}/ready`);
        assert.is(res.status, 200);
        ready = await res.json();
      },
    );
    assert.equal(ready.store, {
      url: `etcd://${etcd.hosts}/serve`,
      state: 'available',
      since: ready.store.since,
      revision,
      servingLastGood: false,
    });
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.match(metrics, /^meshlite_store_available 1$/m);
    assert.match(metrics, new RegExp(`^meshlite_store_config_revision ${revision}$`, 'm'));
    const configz = (await (await fetch(`${admin}/debug/configz`)).json()) as any;
    assert.is(configz.source, 'store');
    assert.is(configz.store.revision, revision);
  } finally {
    await m.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('serve --store with etcd down at startup: not ready ("store not read yet") until the store is read', async () => {
  const store = openStore('/serve-late');
  await put(store, wl('foo/sleep', '10.0.0.1'));
  await etcd.members[0]!.stop();
  let started: Awaited<ReturnType<typeof serveInProcess>> | undefined;
  try {
    started = await serveInProcess(store);
    const res = await fetch(`http://127.0.0.1:${started.m.adminPort}/ready`);
    assert.is(res.status, 503);
    const body = (await res.json()) as any;
    assert.is(body.store.reason, 'store not read yet');
    assert.is(body.store.state, 'unavailable');
    assert.is(started.m.controlPlane.currentModel, undefined);
  } finally {
    await etcd.members[0]!.start();
  }
  const { m, stateDir } = started;
  try {
    await until('the first config served', () => m.controlPlane.currentModel?.registry.workloads.length === 1);
    assert.is((await fetch(`http://127.0.0.1:${m.adminPort}/ready`)).status, 200);
  } finally {
    await m.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('serve takes its config from -c or --store, never both, never neither (exit 2, one line)', () => {
  const serve = (...args: string[]) =>
    spawnSync(process.execPath, [join(REPO_ROOT, 'dist/src/cli/main.js'), 'serve', ...args], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 20_000,
    });
  const both = serve('--store', 'etcd://127.0.0.1:2379', '-c', 'examples/s1-auto-mtls');
  assert.is(both.status, 2, both.stderr);
  assert.equal(both.stderr.trim().split('\n'), [
    'meshlite serve: --store and -c/--config cannot be used together: the store is the one source of config (load files into it with meshlite apply -f)',
  ]);
  const neither = serve();
  assert.is(neither.status, 2, neither.stderr);
  assert.equal(neither.stderr.trim().split('\n'), [
    "meshlite serve: required option '-c, --config <path>' not specified (or --store <url>)",
  ]);
});

test.run();
