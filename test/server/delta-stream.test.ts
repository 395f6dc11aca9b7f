// DeltaStream without a socket: subscriptions by name, the versions a client
// already holds, removals, NACKs and endpoint re-warming, each step followed by
// exactly what the stream wrote (or proof that it wrote nothing).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { changedTypes } from '../../src/cache/snapshot.js';
import { ECHO, HTTPBIN, INBOUND, MESH, NODE, snapshotOf, versionsOf } from './harness.js';
import { deltaSpy } from './stream-spy.js';

const A = snapshotOf(MESH.a);
const B = snapshotOf(MESH.b);
const C = snapshotOf(MESH.c);
const D = snapshotOf(MESH.d);
const GONE = 'outbound|7000||gone.bar.svc.cluster.local';

test('delta: an empty first CDS/LDS subscribe is a wildcard; later only what changed is sent, and what left is removed', () => {
  const s = deltaSpy();
  s.stream.onSnapshot(D);
  assert.equal(s.written(), []);
  s.request('clusters', { node: NODE });
  const cds = s.one();
  assert.equal([cds.type, cds.systemVersion, cds.versions, cds.removed], ['clusters', D.clusters.version, versionsOf(D, 'clusters'), []]);
  assert.is(Object.keys(cds.versions).length, 3);
  s.request('listeners', {});
  const lds = s.one();
  assert.equal(lds.versions, versionsOf(D, 'listeners'));
  assert.is.not(lds.nonce, cds.nonce);
  assert.equal(s.status('clusters')!.subscribed, '*');
  s.ack(cds);
  s.ack(lds);
  assert.equal(s.written(), [], 'ACKs are not answered');
  assert.equal([s.status('clusters')!.ackedVersion, s.status('listeners')!.ackedVersion], [D.clusters.version, D.listeners.version]);
  s.stream.onSnapshot(C);
  const next = s.one();
  assert.is(next.type, 'clusters', 'listeners did not change');
  assert.equal(next.versions, { [HTTPBIN]: versionsOf(C, 'clusters')[HTTPBIN] }, `${INBOUND} unchanged, not resent`);
  assert.equal(next.removed, [ECHO]);
});

test('delta: "*" subscribes to everything and unsubscribing "*" ends the wildcard', () => {
  const s = deltaSpy();
  s.stream.onSnapshot(A);
  s.request('clusters', { node: NODE, subscribe: ['*'] });
  const r1 = s.one();
  assert.equal(r1.versions, versionsOf(A, 'clusters'));
  s.request('clusters', { nonce: r1.nonce, unsubscribe: ['*'] });
  assert.equal(s.written(), [], 'what the client holds stays; nothing to send');
  assert.equal(s.status('clusters')!.subscribed, []);
  s.stream.onSnapshot(D);
  assert.equal(s.written(), [], 'a new cluster is not sent once the wildcard is gone');
});

test('delta: subscribe and unsubscribe by name (EDS); a name is sent when it appears and not after unsubscribing', () => {
  const s = deltaSpy();
  s.stream.onSnapshot(A);
  s.request('endpoints', { node: NODE, subscribe: [HTTPBIN] });
  const r1 = s.one();
  assert.equal(r1.versions, { [HTTPBIN]: versionsOf(A, 'endpoints')[HTTPBIN] });
  s.request('endpoints', { nonce: r1.nonce, subscribe: [ECHO] });
  assert.equal(s.written(), [], 'echo does not exist yet; httpbin is unchanged');
  assert.equal(s.status('endpoints')!.subscribed, [ECHO, HTTPBIN].sort());

  s.stream.onSnapshot(D);
  const r2 = s.one();
  assert.equal(r2.versions, { [ECHO]: versionsOf(D, 'endpoints')[ECHO] }, 'only the new one: httpbin endpoints did not change');

  s.request('endpoints', { nonce: r2.nonce, unsubscribe: [HTTPBIN] });
  assert.equal(s.written(), []);
  assert.equal(s.status('endpoints')!.subscribed, [ECHO]);
  assert.is.not(versionsOf(B, 'endpoints')[HTTPBIN], versionsOf(D, 'endpoints')[HTTPBIN], 'fixture: httpbin endpoints change in b');
  s.stream.onSnapshot(B);
  const r3 = s.one();
  assert.equal([r3.versions, r3.removed], [{ [ECHO]: versionsOf(B, 'endpoints')[ECHO] }, []], 'httpbin is no longer subscribed');
});

test('delta: initial_resource_versions means only what differs is sent, and what is gone is removed', () => {
  assert.equal(changedTypes(A, C), ['clusters'], 'fixture: only the httpbin cluster changes');
  const s = deltaSpy();
  s.stream.onSnapshot(C);
  s.request('endpoints', { node: NODE, subscribe: [HTTPBIN], initial: versionsOf(A, 'endpoints') });
  assert.equal(s.written(), [], 'the endpoints it holds are current');
  s.request('clusters', { initial: { ...versionsOf(A, 'clusters'), [GONE]: 'v-old' } });
  const [cds, eds, ...rest] = s.written();
  assert.equal([cds!.type, rest.length], ['clusters', 0]);
  assert.equal(cds!.versions, { [HTTPBIN]: versionsOf(C, 'clusters')[HTTPBIN] }, `only the changed cluster, not ${INBOUND}`);
  assert.equal(cds!.removed, [GONE]);
  assert.is(eds!.type, 'endpoints', 'the changed cluster warms on its endpoints');
  assert.equal(eds!.versions, { [HTTPBIN]: versionsOf(C, 'endpoints')[HTTPBIN] });
});

test('delta: resources that leave the snapshot appear in removed_resources (wildcard and named)', () => {
  const s = deltaSpy();
  s.stream.onSnapshot(D);
  s.request('clusters', { node: NODE });
  s.ack(s.one());
  s.request('endpoints', { subscribe: [ECHO] });
  const eds = s.one();
  assert.equal(Object.keys(eds.versions), [ECHO]);
  s.ack(eds);
  s.stream.onSnapshot(A);
  const [cds2, eds2, ...rest] = s.written();
  assert.equal([cds2!.type, cds2!.versions, cds2!.removed], ['clusters', {}, [ECHO]], 'remaining clusters are unchanged');
  assert.equal([eds2!.type, eds2!.versions, eds2!.removed, rest.length], ['endpoints', {}, [ECHO], 0]);
  s.stream.onSnapshot(A);
  assert.equal(s.written(), [], 'a removal is named once');
});

test('delta: a subscription change is honoured even with a stale nonce; a stale ACK is not recorded', () => {
  const s = deltaSpy();
  s.stream.onSnapshot(D);
  s.request('endpoints', { node: NODE, subscribe: [HTTPBIN] });
  const r1 = s.one();
  s.request('routes', { subscribe: ['http_proxy'] });
  assert.is(s.one().type, 'routes');
  s.request('endpoints', { nonce: 'stale-nonce', subscribe: [ECHO] });
  const r3 = s.one();
  assert.equal(r3.versions, { [ECHO]: versionsOf(D, 'endpoints')[ECHO] });
  s.request('endpoints', { nonce: r1.nonce, unsubscribe: [HTTPBIN] });
  assert.equal(s.written(), []);
  assert.equal(s.status('endpoints')!.subscribed, [ECHO]);
  assert.not.ok(
    s.events.some((e) => e.kind === 'acked'),
    'answers to superseded nonces are not ACKs',
  );
  s.stream.onSnapshot(B);
  const [eds4, ...rest] = s.written();
  assert.equal([eds4!.type, Object.keys(eds4!.versions)], ['endpoints', [ECHO]]);
  assert.equal(rest, [], 'routes did not change');
});

test('delta: a NACK is recorded and the rejected resources are not resent until they change', () => {
  const s = deltaSpy();
  s.stream.onSnapshot(A);
  s.request('clusters', { node: NODE });
  s.ack(s.one());
  assert.is(s.status('clusters')!.ackedVersion, A.clusters.version);
  s.stream.onSnapshot(C);
  const r2 = s.one();
  assert.equal(Object.keys(r2.versions), [HTTPBIN]);
  s.request('clusters', { nonce: r2.nonce, error: 'tls context rejected' });
  assert.equal(s.written(), [], 'the NACK is not answered with the rejected cluster');
  assert.equal(s.status('clusters')!.nacked, { version: C.clusters.version, nonce: r2.nonce, message: 'tls context rejected' });
  assert.is(s.status('clusters')!.ackedVersion, A.clusters.version);
  assert.equal(s.events.at(-1), {
    kind: 'nacked',
    proxy: 'httpbin.bar',
    type: 'clusters',
    version: C.clusters.version,
    message: 'tls context rejected',
  });

  s.request('clusters', { nonce: r2.nonce, error: 'tls context rejected' });
  s.stream.onSnapshot(snapshotOf(MESH.c, 1)); // secrets only
  s.request('clusters', {}); // and a plain re-request
  assert.equal(s.written(), [], 'the rejected cluster is not resent');

  s.stream.onSnapshot(D);
  const r3 = s.one();
  assert.equal(r3.versions, { [ECHO]: versionsOf(D, 'clusters')[ECHO], [HTTPBIN]: versionsOf(D, 'clusters')[HTTPBIN] });
});

test('delta: a changed cluster has its (unchanged) endpoints sent again; an unchanged one does not', () => {
  const s = deltaSpy();
  s.stream.onSnapshot(D);
  s.request('clusters', { node: NODE });
  s.ack(s.one());
  s.request('endpoints', { subscribe: [HTTPBIN, ECHO] });
  const eds = s.one();
  s.ack(eds);
  s.stream.onSnapshot(snapshotOf([...MESH.d, ...MESH.c.slice(-1)]));
  const [cds, eds2, ...rest] = s.written();
  assert.equal([cds!.type, Object.keys(cds!.versions), rest.length], ['clusters', [HTTPBIN], 0]);
  assert.is(eds2!.type, 'endpoints');
  assert.equal(eds2!.versions, { [HTTPBIN]: eds.versions[HTTPBIN] }, 'httpbin endpoints again; echo (cluster unchanged) not');
  assert.is.not(eds2!.nonce, eds.nonce);
});

test('delta: a snapshot change is pushed in the order clusters, endpoints, listeners, routes, secrets', () => {
  const s = deltaSpy();
  const A1 = snapshotOf(MESH.a, 1);
  s.stream.onSnapshot(A1);
  s.request('secrets', { node: NODE, subscribe: ['ROOTCA', 'default'] });
  s.request('routes', { subscribe: ['http_proxy'] });
  s.request('listeners');
  s.request('endpoints', { subscribe: [HTTPBIN, ECHO] });
  s.request('clusters');
  assert.equal(
    s.written().map((r) => r.type),
    ['secrets', 'routes', 'listeners', 'endpoints', 'clusters', 'endpoints'],
  );
  const B2 = snapshotOf(MESH.b, 2);
  s.stream.onSnapshot(B2);
  const pushed = s.written();
  assert.equal(
    pushed.map((r) => r.type),
    ['clusters', 'endpoints', 'listeners', 'routes', 'secrets'],
  );
  for (const r of pushed) assert.is(r.systemVersion, B2[r.type].version);
});

test.run();
