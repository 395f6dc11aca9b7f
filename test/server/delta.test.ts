// Incremental (delta) ADS over a real gRPC socket: subscriptions by name,
// versions the client already holds, removals, NACKs and endpoint re-warming.
// Each rule is pinned step by step, without a socket, in delta-stream.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { changedTypes } from '../../src/cache/snapshot.js';
import { ECHO, HTTPBIN, INBOUND, MESH, NODE, PROXY, snapshotOf, versionsOf, withHarness } from './harness.js';
import { eventually } from './xds-client.js';

test('delta: an empty first subscribe for CDS/LDS is a wildcard; resources come with their versions', () =>
  withHarness(async (h) => {
    const d = snapshotOf(MESH.d);
    h.cache.set(PROXY, d);
    const c = h.delta();
    c.request('clusters', { node: NODE });
    const cds = await c.next();
    assert.is(cds.type, 'clusters');
    assert.equal(cds.versions, versionsOf(d, 'clusters'));
    assert.is(Object.keys(cds.versions).length, 3);
    assert.equal(cds.removed, []);
    assert.is(cds.systemVersion, d.clusters.version);
    c.request('listeners', {});
    const lds = await c.next();
    assert.equal(lds.versions, versionsOf(d, 'listeners'));
    assert.is.not(lds.nonce, cds.nonce);
    assert.equal(h.status('clusters')!.subscribed, '*');
    // A later change to the wildcard set: only what changed.
    c.ack(cds);
    const cSnap = snapshotOf(MESH.c);
    h.cache.set(PROXY, cSnap);
    const next = await c.next();
    assert.is(next.type, 'clusters');
    assert.equal(next.versions, { [HTTPBIN]: versionsOf(cSnap, 'clusters')[HTTPBIN] }, 'inbound cluster unchanged, not resent');
    assert.equal(next.removed, [ECHO]);
  }));

test('delta: subscribe and unsubscribe by name (EDS); a name is sent when it appears and not after unsubscribing', () =>
  withHarness(async (h) => {
    const a = snapshotOf(MESH.a);
    const d = snapshotOf(MESH.d);
    const b = snapshotOf(MESH.b);
    h.cache.set(PROXY, a);
    const c = h.delta();
    c.request('endpoints', { node: NODE, subscribe: [HTTPBIN] });
    const r1 = await c.next();
    assert.equal(r1.versions, { [HTTPBIN]: versionsOf(a, 'endpoints')[HTTPBIN] });
    c.request('endpoints', { nonce: r1.nonce, subscribe: [ECHO] });
    await eventually('the subscription is recorded', () => String(h.status('endpoints')!.subscribed) === [ECHO, HTTPBIN].sort().join(','));

    // Responses arrive in order: this one shows the subscription itself got none (echo did not exist).
    h.cache.set(PROXY, d);
    const r2 = await c.next();
    assert.equal(r2.versions, { [ECHO]: versionsOf(d, 'endpoints')[ECHO] }, 'only the new one: httpbin endpoints did not change');

    c.request('endpoints', { nonce: r2.nonce, unsubscribe: [HTTPBIN] });
    await eventually('the unsubscription is recorded', () => String(h.status('endpoints')!.subscribed) === ECHO);
    assert.is.not(versionsOf(b, 'endpoints')[HTTPBIN], versionsOf(d, 'endpoints')[HTTPBIN], 'fixture: httpbin endpoints change in b');
    h.cache.set(PROXY, b);
    const r3 = await c.next();
    assert.equal(r3.versions, { [ECHO]: versionsOf(b, 'endpoints')[ECHO] }, 'httpbin is no longer subscribed');
    assert.equal(r3.removed, []);
  }));

test('delta: on reconnect, initial_resource_versions means only what differs is sent, and what is gone is removed', () =>
  withHarness(async (h) => {
    const a = snapshotOf(MESH.a);
    h.cache.set(PROXY, a);
    const first = h.delta();
    first.request('clusters', { node: NODE });
    const held = (await first.next()).versions;
    first.request('endpoints', { subscribe: [HTTPBIN] });
    const heldEndpoints = (await first.next()).versions;
    first.close();
    await eventually('the first stream is gone', () => h.server.listConnections().length === 0);

    const cSnap = snapshotOf(MESH.c);
    assert.equal(changedTypes(a, cSnap), ['clusters'], 'fixture: only the httpbin cluster changes');
    h.cache.set(PROXY, cSnap);
    const second = h.delta();
    second.request('endpoints', { node: NODE, subscribe: [HTTPBIN], initial: heldEndpoints });
    second.request('clusters', { initial: { ...held, 'outbound|7000||gone.bar.svc.cluster.local': 'v-old' } });
    const cds = await second.next();
    assert.is(cds.type, 'clusters', 'the first response: the endpoints it holds are current');
    assert.equal(cds.versions, { [HTTPBIN]: versionsOf(cSnap, 'clusters')[HTTPBIN] }, `only the changed cluster, not ${INBOUND}`);
    assert.equal(cds.removed, ['outbound|7000||gone.bar.svc.cluster.local']);
    const eds = await second.next();
    assert.is(eds.type, 'endpoints', 'the changed cluster warms on its endpoints');
    assert.equal(eds.versions, heldEndpoints);
  }));

test('delta: resources that leave the snapshot appear in removed_resources (wildcard and named)', () =>
  withHarness(async (h) => {
    const d = snapshotOf(MESH.d);
    h.cache.set(PROXY, d);
    const c = h.delta();
    c.request('clusters', { node: NODE });
    const cds = await c.next();
    c.ack(cds);
    c.request('endpoints', { subscribe: [ECHO] });
    const eds = await c.next();
    assert.equal(Object.keys(eds.versions), [ECHO]);
    c.ack(eds);
    h.cache.set(PROXY, snapshotOf(MESH.a));
    const cds2 = await c.next();
    assert.is(cds2.type, 'clusters');
    assert.equal(cds2.versions, {}, 'remaining clusters are unchanged');
    assert.equal(cds2.removed, [ECHO]);
    const eds2 = await c.next();
    assert.is(eds2.type, 'endpoints');
    assert.equal(eds2.versions, {});
    assert.equal(eds2.removed, [ECHO]);
  }));

test('delta: a subscription change is honoured even with a stale nonce', () =>
  withHarness(async (h) => {
    const d = snapshotOf(MESH.d);
    h.cache.set(PROXY, d);
    const c = h.delta();
    c.request('endpoints', { node: NODE, subscribe: [HTTPBIN] });
    const r1 = await c.next();
    c.request('routes', { subscribe: ['http_proxy'] });
    const r2 = await c.next();
    assert.is(r2.type, 'routes');
    // r1's nonce is no longer the latest for the stream; a made-up one never was.
    c.request('endpoints', { nonce: 'stale-nonce', subscribe: [ECHO] });
    const r3 = await c.next();
    assert.equal(r3.versions, { [ECHO]: versionsOf(d, 'endpoints')[ECHO] });
    c.request('endpoints', { nonce: r1.nonce, unsubscribe: [HTTPBIN] });
    await eventually('the stale unsubscribe is honoured', () => String(h.status('endpoints')!.subscribed) === ECHO);
    h.cache.set(PROXY, snapshotOf(MESH.b));
    const r4 = await c.next();
    assert.equal(Object.keys(r4.versions), [ECHO]);
  }));

test('delta: a NACK is recorded and the rejected resources are not resent until they change', () =>
  withHarness(async (h) => {
    const a = snapshotOf(MESH.a);
    const cSnap = snapshotOf(MESH.c);
    h.cache.set(PROXY, a);
    const c = h.delta();
    c.request('clusters', { node: NODE });
    const r1 = await c.next();
    c.ack(r1);
    await eventually('the ACK is recorded', () => h.status('clusters')!.ackedVersion === a.clusters.version);
    h.cache.set(PROXY, cSnap);
    const r2 = await c.next();
    assert.equal(Object.keys(r2.versions), [HTTPBIN]);
    c.request('clusters', { nonce: r2.nonce, error: 'tls context rejected' });
    await eventually('the NACK shows in the stream status', () => h.status('clusters')!.nacked !== undefined);
    assert.equal(h.status('clusters')!.nacked, { version: cSnap.clusters.version, nonce: r2.nonce, message: 'tls context rejected' });
    assert.is(h.status('clusters')!.ackedVersion, a.clusters.version);
    assert.ok(h.events.some((e) => e.kind === 'nacked' && e.type === 'clusters' && e.message === 'tls context rejected'));

    h.cache.set(PROXY, snapshotOf(MESH.c, 1)); // secrets only
    c.request('clusters', {}); // and a plain re-request
    // A request the server must answer, sent after them: its answer comes first only if they got none.
    c.request('listeners', {});
    assert.is((await c.next()).type, 'listeners', 'the rejected cluster is not resent');

    const d = snapshotOf(MESH.d);
    h.cache.set(PROXY, d);
    const r3 = await c.next();
    assert.equal(r3.versions, { [ECHO]: versionsOf(d, 'clusters')[ECHO], [HTTPBIN]: versionsOf(d, 'clusters')[HTTPBIN] });
  }));

test('delta: a changed cluster has its (unchanged) endpoints sent again', () =>
  withHarness(async (h) => {
    const a = snapshotOf(MESH.a);
    h.cache.set(PROXY, a);
    const c = h.delta();
    c.request('clusters', { node: NODE });
    c.ack(await c.next());
    c.request('endpoints', { subscribe: [HTTPBIN] });
    const eds = await c.next();
    c.ack(eds);
    h.cache.set(PROXY, snapshotOf(MESH.c));
    const cds = await c.next();
    assert.is(cds.type, 'clusters');
    assert.equal(Object.keys(cds.versions), [HTTPBIN]);
    const eds2 = await c.next();
    assert.is(eds2.type, 'endpoints');
    assert.equal(eds2.versions, eds.versions, 'same endpoints, sent again');
    assert.is.not(eds2.nonce, eds.nonce);
  }));

test.run();
