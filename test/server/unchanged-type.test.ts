// A new snapshot whose type versions are unchanged (a reload that rebuilt equal
// content into new objects) costs a stream nothing for those types: nothing is
// written, and their resources are not even looked at. ACKs neither.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EncodedResource, ProxySnapshot, TypeSnapshot } from '../../src/cache/snapshot.js';
import { RESOURCE_TYPES, type ResourceType } from '../../src/xds/type-urls.js';
import { HTTPBIN, MESH, NODE, snapshotOf } from './harness.js';
import { deltaSpy, sotwSpy } from './stream-spy.js';

const A = snapshotOf(MESH.a, 1);

/** `snapshot` with every type's resources behind a map that counts reads. */
function counted(snapshot: ProxySnapshot): { snapshot: ProxySnapshot; reads: Record<ResourceType, number> } {
  const reads = Object.fromEntries(RESOURCE_TYPES.map((t) => [t, 0])) as Record<ResourceType, number>;
  const wrap = (type: ResourceType, s: TypeSnapshot): TypeSnapshot => {
    const inner = s.resources;
    const resources = new Proxy(inner, {
      get(target, key) {
        reads[type]++;
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as ReadonlyMap<string, EncodedResource>;
    return { ...s, resources };
  };
  const out = Object.fromEntries(RESOURCE_TYPES.map((t) => [t, wrap(t, snapshot[t])])) as unknown as ProxySnapshot;
  return { snapshot: out, reads };
}

test('SotW: a snapshot with equal versions in new objects is neither sent nor scanned; a changed type still is', () => {
  const s = sotwSpy();
  s.stream.onSnapshot(A);
  s.request('clusters', { node: NODE });
  s.ack(s.one());
  s.request('endpoints', { names: [HTTPBIN] });
  s.ack(s.one(), [HTTPBIN]);
  s.request('listeners');
  s.ack(s.one());
  s.request('secrets', { names: ['ROOTCA', 'default'] });
  s.ack(s.one(), ['ROOTCA', 'default']);
  const same = counted(snapshotOf(MESH.a, 1));
  assert.is.not(same.snapshot.clusters, A.clusters, 'new objects');
  s.stream.onSnapshot(same.snapshot);
  assert.equal(s.written(), []);
  assert.equal(same.reads, { clusters: 0, endpoints: 0, listeners: 0, routes: 0, secrets: 0 }, 'no type was scanned');
  // New secrets only: exactly SDS is answered.
  const rotated = counted(snapshotOf(MESH.a, 2));
  s.stream.onSnapshot(rotated.snapshot);
  const sds = s.one();
  assert.is(sds.type, 'secrets');
  assert.equal([rotated.reads.clusters, rotated.reads.listeners], [0, 0]);
  s.ack(sds, ['ROOTCA', 'default']);
  assert.equal(s.written(), [], 'the ACK is not answered');
  assert.is(rotated.reads.clusters, 0, 'nor does it scan other types');
});

test('SotW: a changed subscription is answered even when the snapshot did not change', () => {
  const s = sotwSpy();
  s.stream.onSnapshot(A);
  s.request('endpoints', { node: NODE, names: [HTTPBIN] });
  const eds = s.one();
  s.ack(eds, [HTTPBIN]);
  assert.equal(s.written(), []);
  s.ack(eds, []);
  const none = s.one();
  assert.equal(none.names, [], 'an emptied subscription gets an empty answer');
});

test('delta: equal versions in new objects are neither sent nor scanned; an unsubscribe and resubscribe sends the resource again', () => {
  const s = deltaSpy();
  s.stream.onSnapshot(A);
  s.request('clusters', { node: NODE });
  s.ack(s.one());
  s.request('endpoints', { subscribe: [HTTPBIN] });
  s.ack(s.one());
  const same = counted(snapshotOf(MESH.a, 1));
  s.stream.onSnapshot(same.snapshot);
  assert.equal(s.written(), []);
  assert.equal([same.reads.clusters, same.reads.endpoints], [0, 0]);
  s.request('endpoints', { unsubscribe: [HTTPBIN] });
  assert.equal(s.written(), []);
  s.request('endpoints', { subscribe: [HTTPBIN] });
  const again = s.one();
  assert.equal(Object.keys(again.versions), [HTTPBIN]);
});

test.run();
