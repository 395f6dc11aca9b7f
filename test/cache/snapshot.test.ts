import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildSnapshot, changedTypes, SnapshotEncoder } from '../../src/cache/snapshot.js';
import { SnapshotCache } from '../../src/cache/snapshot-cache.js';
import { Translator, translate } from '../../src/translate/translator.js';
import { type Document, meshOf, mtlsPolicy, serviceEntry, workloadEntry } from '../support/fixtures/index.js';

const base = [
  serviceEntry('bar/httpbin'),
  workloadEntry('bar/httpbin', { address: '127.0.2.1' }),
  workloadEntry('bar/httpbin2', { address: '127.0.2.2', labels: { app: 'httpbin' } }),
  workloadEntry('foo/sleep', { address: '127.0.1.2' }),
];

function snapshotOf(docs: Document[], proxy: string) {
  const r = translate(meshOf(docs), proxy);
  if (!r.ok) throw new Error(r.error);
  return { snapshot: buildSnapshot(r.resources, []), resources: r.resources };
}

test('a layered snapshot holds exactly the merged resources, with identical bytes', () => {
  const { snapshot, resources } = snapshotOf(base, 'httpbin.bar');
  const flat = new SnapshotEncoder().typeSnapshot('clusters', resources.clusters);
  assert.equal([...snapshot.clusters.resources.keys()].sort(), [...flat.resources.keys()].sort());
  for (const [name, r] of flat.resources) assert.equal(snapshot.clusters.resources.get(name)!.value, r.value);
  assert.is(snapshot.listeners.resources.size, resources.listeners.length);
});

test('proxies of one namespace share outbound encodings; their own parts differ', () => {
  const translator = new Translator(meshOf(base));
  const a = translator.translate('httpbin.bar');
  const b = translator.translate('httpbin2.bar');
  assert.ok(a.ok && b.ok);
  if (!a.ok || !b.ok) return;
  const encoder = new SnapshotEncoder();
  const sa = encoder.build(a.resources, []);
  const sb = encoder.build(b.resources, []);
  const name = 'outbound|8000||httpbin.bar.svc.cluster.local';
  assert.ok(sa.clusters.resources.get(name) === sb.clusters.resources.get(name), 'same encoded object');
  assert.is(sa.endpoints, sb.endpoints);
  assert.is.not(sa.listeners.version, sb.listeners.version, 'inbound listeners bind different addresses');
});

test('versions are content hashes: same input, same versions; a policy change moves only what it affects', () => {
  const one = snapshotOf(base, 'httpbin.bar').snapshot;
  const two = snapshotOf(base, 'httpbin.bar').snapshot;
  assert.equal(changedTypes(one, two), []);
  const strict = snapshotOf([...base, mtlsPolicy('bar/default', 'STRICT')], 'httpbin.bar').snapshot;
  assert.equal(changedTypes(one, strict), ['listeners'], 'STRICT changes inbound chains; endpoint metadata stays (still mTLS)');
  const off = snapshotOf([...base, mtlsPolicy('bar/default', 'DISABLE')], 'httpbin.bar').snapshot;
  assert.equal(changedTypes(one, off), ['endpoints', 'listeners'], 'DISABLE also drops tlsMode metadata from endpoints');
});

test('the cache notifies watchers only on change', () => {
  const cache = new SnapshotCache();
  const seen: string[] = [];
  const stop = cache.watch('p', (s) => seen.push(s.clusters.version));
  const s1 = snapshotOf(base, 'httpbin.bar').snapshot;
  assert.ok(cache.set('p', s1));
  assert.not.ok(cache.set('p', snapshotOf(base, 'httpbin.bar').snapshot), 'same versions: no notification');
  assert.ok(cache.set('p', snapshotOf([...base, mtlsPolicy('bar/default', 'STRICT')], 'httpbin.bar').snapshot));
  stop();
  assert.is(seen.length, 2);
  assert.is(cache.watcherCount('p'), 0);
});

test("a watcher's stop may run twice, after the proxy's next watcher came: the next one keeps hearing", () => {
  const cache = new SnapshotCache();
  const stopOld = cache.watch('p', () => {});
  stopOld(); // the old stream's first cleanup: the proxy has no watcher for a moment
  const heard: string[] = [];
  cache.watch('p', (s) => heard.push(s.clusters.version));
  stopOld(); // its second cleanup (another close event of the same call)
  assert.is(cache.watcherCount('p'), 1);
  assert.ok(cache.set('p', snapshotOf(base, 'httpbin.bar').snapshot));
  assert.is(heard.length, 1, 'the new watcher heard the new snapshot');
});

test('encoding in slices pauses between resources when asked and leaves what buildSnapshot builds unchanged', async () => {
  const model = meshOf(base);
  const sliced = translate(model, 'httpbin.bar');
  const direct = translate(meshOf(base), 'httpbin.bar');
  assert.ok(sliced.ok && direct.ok);
  if (!sliced.ok || !direct.ok) return;
  const encoder = new SnapshotEncoder();
  let asked = 0;
  let paused = 0;
  await encoder.encodeInSlices(sliced.resources, [], () => {
    asked += 1;
    if (asked % 2) return undefined;
    paused += 1;
    return new Promise<void>((resolve) => setImmediate(resolve));
  });
  const count =
    sliced.resources.clusters.length +
    sliced.resources.endpoints.length +
    sliced.resources.listeners.length +
    sliced.resources.routes.length;
  assert.is(asked, count, 'asked once per resource encoded');
  assert.ok(paused > 0);
  const a = encoder.build(sliced.resources, []);
  const b = buildSnapshot(direct.resources, []);
  for (const t of ['clusters', 'endpoints', 'listeners', 'routes'] as const) assert.is(a[t].version, b[t].version, t);
  // Everything is cached now: a second pass encodes nothing and never pauses.
  let again = 0;
  await encoder.encodeInSlices(sliced.resources, [], () => {
    again += 1;
    return undefined;
  });
  assert.is(again, 0);
});

test.run();
