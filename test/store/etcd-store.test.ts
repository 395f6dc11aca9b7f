// The etcd connection against a real etcd: reads at one revision, watches that
// resume after an outage, a compaction reported, availability tracked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EtcdStore, type StoreChange } from '../../src/store/etcd-store.js';
import { parseStoreUrl } from '../../src/store/store-url.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { ProcessManager } from '../support/e2e/process-manager.js';
import { type EtcdCluster, startEtcd } from '../support/etcd.js';

let pm: ProcessManager;
let etcd: EtcdCluster;
let store: EtcdStore;

test.before(async () => {
  pm = new ProcessManager('etcd-store');
  etcd = await startEtcd(pm, loopbackAddress('store/etcd-store.test.ts'));
  store = new EtcdStore({ location: parseStoreUrl(etcd.storeUrl('/t1')), callTimeoutMs: 1500 });
});

test.after(async () => {
  await store.close();
  await pm.stopAll();
  pm.removeDir();
});

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Retries a write until etcd takes it (it was just restarted). */
async function writeWhenUp(key: string, value: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await store.kv.put(key).value(value);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test('range reads every key under a prefix at one revision, keys relative to the store prefix', async () => {
  await store.kv.put('config/a').value('1');
  await store.kv.put('config/b').value('2');
  await store.kv.put('other/c').value('3');
  const read = await store.range('config/');
  assert.equal(
    read.entries.map((e) => [e.key, e.value.toString()]),
    [
      ['config/a', '1'],
      ['config/b', '2'],
    ],
  );
  assert.ok(read.revision >= read.entries[1]!.modRevision);
  assert.is((await store.get('other/c'))?.value.toString(), '3');
  assert.is(await store.get('missing'), undefined);
});

test('a watch delivers changes after the revision read, across an etcd restart, and availability follows', async () => {
  const read = await store.range('w/');
  const seen: StoreChange[] = [];
  const states: string[] = [];
  const off = store.onAvailability((a) => states.push(a.state));
  const watch = await store.watchPrefix('w/', read.revision, {
    onChanges: (c) => seen.push(...c),
    onCompacted: () => assert.unreachable(),
  });
  await store.kv.put('w/1').value('x');
  await until('the first change', () => seen.length === 1);
  await etcd.members[0]!.stop();
  const failed = await store.get('w/1').then(
    () => false,
    () => true,
  );
  assert.ok(failed, 'a read with etcd down fails');
  assert.is(store.availability.state, 'unavailable');
  await etcd.members[0]!.start();
  await writeWhenUp('w/2', 'y');
  await until('the change made after the restart', () => seen.some((c) => c.type === 'put' && c.entry.key === 'w/2'), 20_000);
  await until('available again', () => store.availability.state === 'available');
  assert.equal(states.slice(0, 2), ['unavailable', 'available']);
  await store.kv.delete().key('w/1');
  await until('the delete', () => seen.some((c) => c.type === 'delete' && c.key === 'w/1'));
  off();
  await watch.cancel();
});

test('a watch from a compacted revision reports the compaction', async () => {
  const first = await store.kv.put('c/1').value('a');
  await store.kv.put('c/1').value('b');
  const last = await store.kv.put('c/1').value('c');
  await store.client.kv.compact({ revision: last.header.revision });
  let compacted = false;
  await store.watchPrefix('c/', Number(first.header.revision), { onChanges: () => undefined, onCompacted: () => (compacted = true) });
  await until('the compaction report', () => compacted);
});

test.run();
