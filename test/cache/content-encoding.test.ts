// Encodings found by content: a reload makes new resource objects, and the
// encoder still hands out the bytes it made before for every resource whose
// content did not change; what the current snapshots no longer use leaves.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ContentCache } from '../../src/cache/content-cache.js';
import { type AnyParts, jsonToBinary, type Json } from '../../src/proto/proto-json.js';
import { buildSnapshot, changedTypes, type ProxySnapshot, SnapshotEncoder } from '../../src/cache/snapshot.js';
import { meshProxies, Translator } from '../../src/translate/translator.js';
import { classListenerOf } from '../../src/xds/class-listener.js';
import { scenarioModels } from '../support/golden-cases.js';
import { RESOURCE_TYPES } from '../../src/xds/type-urls.js';
import { type Document, meshOf, mtlsPolicy, serviceEntry, workloadEntry } from '../support/fixtures/index.js';

const HTTPBIN = 'outbound|8000||httpbin.bar.svc.cluster.local';
const ECHO = 'outbound|9000||echo.bar.svc.cluster.local';
const base = [
  serviceEntry('bar/httpbin'),
  workloadEntry('bar/httpbin', { address: '127.0.2.1' }),
  workloadEntry('foo/sleep', { address: '127.0.1.2' }),
];
const echo = serviceEntry('bar/echo', { ports: [{ name: 'http', number: 9000, protocol: 'HTTP', targetPort: 90 }] });
const SECRETS = [{ name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: 'root' } } }];

/** One proxy's snapshot under a freshly built model (what a reload does), encoded by `encoder`. */
function reload(encoder: SnapshotEncoder, docs: Document[], proxy = 'httpbin.bar'): ProxySnapshot {
  const r = new Translator(meshOf(docs)).translate(proxy);
  if (!r.ok) throw new Error(r.error);
  // A new secret object with the same content each time, as the control plane makes them.
  return encoder.build(r.resources, structuredClone(SECRETS));
}

test('a reload that changes only listeners reuses every other encoding: same bytes objects, same type snapshots', () => {
  const encoder = new SnapshotEncoder();
  const before = reload(encoder, base);
  const after = reload(encoder, [...base, mtlsPolicy('bar/default', 'STRICT')]);
  assert.equal(changedTypes(before, after), ['listeners']);
  const cluster = before.clusters.resources.get(HTTPBIN)!;
  assert.ok(after.clusters.resources.get(HTTPBIN) === cluster, 'the cluster encoding is the same object');
  assert.ok(after.clusters.resources.get(HTTPBIN)!.value === cluster.value, 'its bytes are the same Uint8Array');
  for (const type of ['endpoints', 'routes', 'secrets'] as const)
    assert.ok(after[type] === before[type], `${type}: the same type snapshot`);
  assert.is.not(after.listeners.version, before.listeners.version);
  const stats = encoder.contentStats();
  assert.ok(stats.hits > 0, `content lookups answered: ${JSON.stringify(stats)}`);
});

test('a rebuild with the same resources hands back the very type snapshots, layered ones included', () => {
  const encoder = new SnapshotEncoder();
  const first = reload(encoder, base);
  const again = reload(encoder, base);
  for (const type of RESOURCE_TYPES) assert.ok(again[type] === first[type], `${type}: the same type snapshot object`);
  const strict = reload(encoder, [...base, mtlsPolicy('bar/default', 'STRICT')]);
  assert.ok(strict.listeners !== first.listeners && strict.listeners.version !== first.listeners.version);
  assert.ok(strict.clusters === first.clusters);
  const back = reload(encoder, base);
  assert.ok(back.listeners === first.listeners, 'the earlier content: the earlier snapshot');
  // Found by its encodings, a snapshot is what a fresh encoder computes.
  const r = new Translator(meshOf([...base, mtlsPolicy('bar/default', 'STRICT')])).translate('httpbin.bar');
  assert.ok(r.ok);
  if (!r.ok) return;
  const fresh = buildSnapshot(r.resources, SECRETS);
  for (const type of RESOURCE_TYPES) {
    assert.is(strict[type].version, fresh[type].version, type);
    assert.equal([...strict[type].resources.keys()].sort(), [...fresh[type].resources.keys()].sort(), type);
  }
});

test('content-found encodings are exactly what a fresh encoder makes (versions and bytes)', () => {
  const encoder = new SnapshotEncoder();
  reload(encoder, base);
  const reused = reload(encoder, [...base, echo]);
  const r = new Translator(meshOf([...base, echo])).translate('httpbin.bar');
  assert.ok(r.ok);
  if (!r.ok) return;
  const fresh = buildSnapshot(r.resources, SECRETS);
  for (const type of RESOURCE_TYPES) {
    assert.is(reused[type].version, fresh[type].version, type);
    for (const [name, encoded] of fresh[type].resources) {
      const got = reused[type].resources.get(name);
      assert.ok(got, `${type} ${name}`);
      assert.equal(Buffer.from(got!.value), Buffer.from(encoded.value), `${type} ${name} bytes`);
      assert.equal(got!.json, encoded.json);
    }
  }
});

test('the content caches are bounded: what a full refresh did not use leaves, and comes back re-encoded', () => {
  const encoder = new SnapshotEncoder();
  encoder.startRound();
  const withEcho = reload(encoder, [...base, echo]);
  encoder.endRound();
  const held = encoder.contentStats();
  encoder.startRound();
  const without = reload(encoder, base);
  encoder.endRound();
  const after = encoder.contentStats();
  assert.not.ok(without.clusters.resources.has(ECHO));
  assert.ok(after.resources < held.resources, `echo's encodings left: ${held.resources} -> ${after.resources}`);
  assert.ok(after.types <= held.types, `type snapshots: ${held.types} -> ${after.types}`);
  // Still used: kept across the sweep.
  assert.ok(without.clusters.resources.get(HTTPBIN) === withEcho.clusters.resources.get(HTTPBIN));
  encoder.startRound();
  const back = reload(encoder, [...base, echo]);
  encoder.endRound();
  assert.ok(back.clusters.resources.get(ECHO) !== withEcho.clusters.resources.get(ECHO), 'echo was encoded again');
  assert.ok(back.clusters !== withEcho.clusters, 'the type snapshot that held it was built again');
  assert.is(back.clusters.version, withEcho.clusters.version);
  assert.equal(Buffer.from(back.clusters.resources.get(ECHO)!.value), Buffer.from(withEcho.clusters.resources.get(ECHO)!.value));
});

test('Any values encoded once by their text give the same bytes as a plain encode; an invalid one is never stored', () => {
  const r = new Translator(meshOf([...base, mtlsPolicy('bar/default', 'STRICT')])).translate('httpbin.bar');
  assert.ok(r.ok);
  if (!r.ok) return;
  const stored = new Map<string, AnyParts>();
  let hits = 0;
  const encodings = {
    get: (text: string) => {
      const found = stored.get(text);
      if (found) hits++;
      return found;
    },
    set: (text: string, parts: AnyParts) => void stored.set(text, parts),
  };
  for (const listener of r.resources.listeners) {
    const plain = jsonToBinary('envoy.config.listener.v3.Listener', listener as unknown as Json);
    const first = jsonToBinary('envoy.config.listener.v3.Listener', listener as unknown as Json, encodings);
    const again = jsonToBinary('envoy.config.listener.v3.Listener', structuredClone(listener) as unknown as Json, encodings);
    assert.equal(Buffer.from(first), Buffer.from(plain));
    assert.equal(Buffer.from(again), Buffer.from(plain));
  }
  assert.ok(stored.size > 0 && hits > 0, `typed configs stored (${stored.size}) and found again (${hits})`);
  const bad = { name: 'x', filter_chains: [{ filters: [{ name: 'f', typed_config: { '@type': 'type.googleapis.com/nope.Nope' } }] }] };
  const before = stored.size;
  for (let i = 0; i < 2; i++)
    assert.throws(() => jsonToBinary('envoy.config.listener.v3.Listener', bad, encodings), /unknown Any type URL/);
  assert.is(stored.size, before);
});

test('ContentCache: sweep drops what was not used since mark; past its limit it sweeps on its own', () => {
  const cache = new ContentCache<number>(4);
  cache.set('a', 1);
  cache.set('b', 2);
  cache.mark();
  assert.is(cache.get('a'), 1);
  cache.sweep();
  assert.equal([cache.get('a'), cache.get('b'), cache.size], [1, undefined, 1]);
  for (const key of ['c', 'd', 'e']) cache.set(key, 0);
  assert.is(cache.size, 4);
  cache.mark();
  cache.get('e');
  cache.set('f', 0);
  assert.equal(
    ['a', 'c', 'd', 'e', 'f'].map((k) => cache.get(k) !== undefined),
    [false, false, false, true, true],
    'the fifth entry swept what the round had not used',
  );
});

test("a listener made from its class's listener encodes byte for byte as its own full encoding, in every example", () => {
  let addressed = 0;
  for (const { scenario, model } of scenarioModels()) {
    const translator = new Translator(model);
    const encoder = new SnapshotEncoder();
    for (const { workload } of meshProxies(model)) {
      const r = translator.translate(workload.id);
      if (!r.ok) continue;
      for (const listener of r.resources.listeners) {
        if (!classListenerOf(listener)) continue;
        addressed++;
        const got = encoder.encodeResource('listeners', listener).value;
        const want = jsonToBinary('envoy.config.listener.v3.Listener', listener as unknown as Json);
        assert.ok(Buffer.from(got).equals(Buffer.from(want)), `${scenario}/${workload.id}: ${listener.name}`);
      }
    }
  }
  assert.ok(addressed >= 10, `expected EXPLICIT-mode listeners in the examples, got ${addressed}`);
});

test("proxies of one class: each listener's shared part is encoded once, and a copy with other content is encoded in full", () => {
  const docs = [
    ...base,
    workloadEntry('bar/httpbin-2', { address: '127.0.2.2', labels: { app: 'httpbin' } }),
    mtlsPolicy('bar/default', 'STRICT'),
  ];
  const translator = new Translator(meshOf(docs));
  const encoder = new SnapshotEncoder();
  const listeners = ['httpbin.bar', 'httpbin-2.bar'].map((id) => {
    const r = translator.translate(id);
    if (!r.ok) throw new Error(r.error);
    return r.resources.listeners.find((l) => classListenerOf(l))!;
  });
  assert.ok(listeners[0] && listeners[1], 'both proxies have a listener of the class');
  assert.ok(classListenerOf(listeners[0]!) === classListenerOf(listeners[1]!), 'one class listener for both');
  const [a, b] = listeners.map((l) => encoder.encodeResource('listeners', l!).value);
  assert.ok(!Buffer.from(a!).equals(Buffer.from(b!)), 'each has its own address');
  // A spread copy with another stat prefix keeps no link to the class: its own content is encoded.
  const changed = { ...listeners[0]!, stat_prefix: 'other' };
  assert.is(classListenerOf(changed), undefined);
  const want = jsonToBinary('envoy.config.listener.v3.Listener', changed as unknown as Json);
  assert.ok(Buffer.from(encoder.encodeResource('listeners', changed).value).equals(Buffer.from(want)));
});

test.run();
