// State-of-the-world ADS over a real gRPC socket: meshlite's protocol rules
// (xds-protocol.ts) as a client (Envoy or grpc-js-xds) experiences them,
// through the server's decoding, cache watch and stream wiring. Every rule is
// pinned step by step, without a socket, in sotw-stream.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { changedTypes } from '../../src/cache/snapshot.js';
import { RESOURCE_TYPES } from '../../src/xds/type-urls.js';
import { answerAndAwaitAck, ECHO, HTTPBIN, INBOUND, MESH, namesOf, NODE, PROXY, snapshotOf, withHarness } from './harness.js';
import { eventually } from './xds-client.js';

test('an empty first CDS/LDS request is a wildcard; every response has a fresh nonce and the type version', () =>
  withHarness(async (h) => {
    const a = snapshotOf(MESH.a);
    h.cache.set(PROXY, a);
    const c = h.sotw();
    c.request('clusters', { node: NODE });
    const cds = await c.next();
    assert.is(cds.type, 'clusters');
    assert.is(cds.versionInfo, a.clusters.version);
    assert.equal(cds.names, [HTTPBIN, INBOUND].sort());
    c.request('listeners');
    const lds = await c.next();
    assert.is(lds.type, 'listeners');
    assert.is(lds.versionInfo, a.listeners.version);
    assert.equal(lds.names, namesOf(a, 'listeners'));
    assert.is(lds.names.length, 2);
    assert.equal(h.status('clusters')!.subscribed, '*');
    assert.equal(h.status('listeners')!.subscribed, '*');

    await answerAndAwaitAck(h, 'clusters', () => c.ack(cds));
    await answerAndAwaitAck(h, 'listeners', () => c.ack(lds));
    const b = snapshotOf(MESH.b);
    h.cache.set(PROXY, b);
    const cds2 = await c.next();
    const lds2 = await c.next();
    assert.equal([cds2.type, lds2.type], ['clusters', 'listeners']);
    assert.is(cds2.versionInfo, b.clusters.version);
    assert.is(lds2.versionInfo, b.listeners.version);
    const nonces = [cds, lds, cds2, lds2].map((r) => r.nonce);
    assert.ok(
      nonces.every((n) => n.length > 0),
      'every response has a nonce',
    );
    assert.is(new Set(nonces).size, 4, `nonces are unique: ${nonces}`);
  }));

test('an ACK records the acked version (status and observer); a later empty CDS request keeps the wildcard', () =>
  withHarness(async (h) => {
    const a = snapshotOf(MESH.a);
    h.cache.set(PROXY, a);
    const c = h.sotw();
    c.request('clusters', { node: NODE });
    const r1 = await c.next();
    assert.is(h.status('clusters')!.ackedVersion, undefined, 'nothing acked before the ACK');
    await answerAndAwaitAck(h, 'clusters', () => c.ack(r1, []));
    const st = h.status('clusters')!;
    assert.is(st.ackedVersion, a.clusters.version);
    assert.is(st.sentVersion, a.clusters.version);
    assert.equal(st.subscribed, '*', 'an empty list after the first request is still the wildcard (Envoy semantics)');
    assert.ok(h.events.some((e) => e.kind === 'acked' && e.proxy === PROXY && e.type === 'clusters' && e.version === a.clusters.version));

    const d = snapshotOf(MESH.d);
    h.cache.set(PROXY, d);
    const r2 = await c.next();
    assert.is(r2.versionInfo, d.clusters.version, 'the ACK itself caused no resend');
    assert.equal(r2.names, namesOf(d, 'clusters'), 'the new cluster comes through the kept wildcard');
    assert.ok(r2.names.includes(ECHO));
  }));

test('a NACK is recorded and the rejected content is not resent, but a later real change is', () =>
  withHarness(async (h) => {
    const a = snapshotOf(MESH.a);
    const b = snapshotOf(MESH.b);
    h.cache.set(PROXY, a);
    const c = h.sotw();
    c.request('clusters', { node: NODE });
    const r1 = await c.next();
    await answerAndAwaitAck(h, 'clusters', () => c.ack(r1));
    h.cache.set(PROXY, b);
    const r2 = await c.next();
    assert.is(r2.versionInfo, b.clusters.version);

    c.request('clusters', { version: r1.versionInfo, nonce: r2.nonce, error: 'cluster outbound|9000 rejected' });
    await eventually('the NACK shows in the stream status', () => h.status('clusters')?.nacked !== undefined);
    const st = h.status('clusters')!;
    assert.equal(st.nacked, { version: b.clusters.version, nonce: r2.nonce, message: 'cluster outbound|9000 rejected' });
    assert.is(st.ackedVersion, a.clusters.version, 'the proxy still holds the previous version');
    assert.ok(
      h.events.some(
        (e) =>
          e.kind === 'nacked' &&
          e.type === 'clusters' &&
          e.version === b.clusters.version &&
          e.message === 'cluster outbound|9000 rejected',
      ),
    );

    // A snapshot change elsewhere (secrets only) must not resend the rejected clusters.
    const bSecrets = snapshotOf(MESH.b, 1);
    assert.equal(changedTypes(b, bSecrets), ['secrets']);
    h.cache.set(PROXY, bSecrets);

    // Responses arrive in order, so the next one shows that nothing was resent in between.
    const cSnap = snapshotOf(MESH.c, 1);
    h.cache.set(PROXY, cSnap);
    const r3 = await c.next();
    assert.is(r3.type, 'clusters');
    assert.is(r3.versionInfo, cSnap.clusters.version);
    assert.equal(r3.names, namesOf(cSnap, 'clusters'));
    assert.is.not(r3.nonce, r2.nonce);
  }));

test('a request with a stale nonce is ignored: no response and no state change', () =>
  withHarness(async (h) => {
    const a = snapshotOf(MESH.a);
    const d = snapshotOf(MESH.d);
    h.cache.set(PROXY, a);
    const c = h.sotw();
    c.request('clusters', { node: NODE });
    const r1 = await c.next();
    await answerAndAwaitAck(h, 'clusters', () => c.ack(r1));
    h.cache.set(PROXY, d);
    const r2 = await c.next();
    const before = h.status('clusters')!;

    c.request('clusters', { version: r1.versionInfo, nonce: r1.nonce, names: [HTTPBIN] });
    c.request('clusters', { version: r1.versionInfo, nonce: r1.nonce, error: 'stale rejection' });
    c.request('clusters', { version: r1.versionInfo, nonce: 'never-sent', names: ['other'] });
    // A request the server must answer, sent after them: its answer comes first only if they got none.
    c.request('listeners');
    assert.is((await c.next()).type, 'listeners', 'no response to stale requests');
    assert.equal(h.status('clusters'), before, 'stale requests change nothing');
    assert.not.ok(
      h.events.some((e) => e.kind === 'nacked'),
      'a stale NACK is not recorded',
    );

    await answerAndAwaitAck(h, 'clusters', () => c.ack(r2));
    assert.is(h.status('clusters')!.ackedVersion, d.clusters.version);
    const cSnap = snapshotOf(MESH.c);
    h.cache.set(PROXY, cSnap);
    const r3 = await c.next();
    assert.equal(r3.names, namesOf(cSnap, 'clusters'), "still the wildcard, not the stale request's names");
  }));

test('named RDS/EDS/SDS resources requested before they exist get no response, and are sent when they appear', () =>
  withHarness(async (h) => {
    h.cache.set(PROXY, snapshotOf(MESH.empty));
    const c = h.sotw();
    c.request('clusters', { node: NODE });
    const empty = await c.next();
    assert.is(empty.resources.length, 0, 'a full-state type answers even when empty');
    await answerAndAwaitAck(h, 'clusters', () => c.ack(empty));
    c.request('endpoints', { names: [HTTPBIN, ECHO] });
    c.request('routes', { names: ['http_proxy'] });
    c.request('secrets', { names: ['ROOTCA', 'default'] });
    await eventually('the three subscriptions are recorded', () => h.status('secrets') !== undefined);
    assert.equal(h.status('endpoints')!.subscribed, [ECHO, HTTPBIN].sort());

    const a = snapshotOf(MESH.a);
    h.cache.set(PROXY, a);
    const cds = await c.next();
    const eds = await c.next();
    const rds = await c.next();
    assert.equal(
      [cds.type, eds.type, rds.type],
      ['clusters', 'endpoints', 'routes'],
      'the first responses: none came before (nothing requested existed)',
    );
    assert.equal(eds.names, [HTTPBIN], 'what exists of the requested names');
    assert.equal(rds.names, ['http_proxy']);
    await answerAndAwaitAck(h, 'clusters', () => c.ack(cds));
    await answerAndAwaitAck(h, 'endpoints', () => c.ack(eds, [HTTPBIN, ECHO]));
    await answerAndAwaitAck(h, 'routes', () => c.ack(rds, ['http_proxy']));

    const a1 = snapshotOf(MESH.a, 1);
    h.cache.set(PROXY, a1);
    const sds = await c.next();
    assert.is(sds.type, 'secrets');
    assert.equal(sds.names, ['ROOTCA', 'default']);
    assert.is(sds.versionInfo, a1.secrets.version);
    await answerAndAwaitAck(h, 'secrets', () => c.ack(sds, ['ROOTCA', 'default']));

    h.cache.set(PROXY, snapshotOf(MESH.d, 1));
    const cds2 = await c.next();
    const eds2 = await c.next();
    assert.equal([cds2.type, eds2.type], ['clusters', 'endpoints']);
    assert.equal(eds2.names, [ECHO, HTTPBIN].sort(), 'echo endpoints sent once they exist');
  }));

test('Envoy warming: a CDS change is followed by a new EDS response even when endpoints did not change', () =>
  withHarness(async (h) => {
    const a = snapshotOf(MESH.a);
    const cSnap = snapshotOf(MESH.c);
    assert.equal(changedTypes(a, cSnap), ['clusters'], 'fixture: only clusters change');
    h.cache.set(PROXY, a);
    const c = h.sotw();
    c.request('clusters', { node: NODE });
    const cds = await c.next();
    await answerAndAwaitAck(h, 'clusters', () => c.ack(cds));
    c.request('endpoints', { names: [HTTPBIN] });
    const eds = await c.next();
    await answerAndAwaitAck(h, 'endpoints', () => c.ack(eds, [HTTPBIN]));

    h.cache.set(PROXY, cSnap);
    const cds2 = await c.next();
    assert.is(cds2.type, 'clusters');
    const eds2 = await c.next();
    assert.is(eds2.type, 'endpoints');
    assert.is(eds2.versionInfo, eds.versionInfo, 'same endpoints content');
    assert.equal(eds2.names, [HTTPBIN]);
    assert.is.not(eds2.nonce, eds.nonce, 'but a new response');
  }));

test('Envoy warming: after a CDS change, the next EDS request (same names, acked nonce) gets an EDS response', () =>
  withHarness(async (h) => {
    h.cache.set(PROXY, snapshotOf(MESH.a));
    const c = h.sotw();
    c.request('clusters', { node: NODE });
    const cds = await c.next();
    await answerAndAwaitAck(h, 'clusters', () => c.ack(cds));
    c.request('endpoints', { names: [HTTPBIN] });
    const eds = await c.next(); // not answered yet: the proxy is busy
    h.cache.set(PROXY, snapshotOf(MESH.c));
    const cds2 = await c.next();
    assert.is(cds2.type, 'clusters');
    assert.is(c.raw.pending, 0);
    // The proxy processes the CDS update and re-requests EDS, acking the last EDS nonce.
    c.request('endpoints', { version: eds.versionInfo, nonce: eds.nonce, names: [HTTPBIN] });
    const eds2 = await c.next();
    assert.is(eds2.type, 'endpoints');
    assert.is(eds2.versionInfo, eds.versionInfo);
    assert.equal(eds2.names, [HTTPBIN]);
    assert.is.not(eds2.nonce, eds.nonce);
  }));

test('a snapshot change of every type is pushed in the order clusters, endpoints, listeners, routes, secrets', () =>
  withHarness(async (h) => {
    const a = snapshotOf(MESH.a, 1);
    const b = snapshotOf(MESH.b, 2);
    assert.equal(changedTypes(a, b), [...RESOURCE_TYPES], 'fixture: every type changes');
    h.cache.set(PROXY, a);
    const c = h.sotw();
    const names = { clusters: [], endpoints: [HTTPBIN, ECHO], listeners: [], routes: ['http_proxy'], secrets: ['ROOTCA', 'default'] };
    // Subscribe in reverse order, so the push order cannot come from the subscription order.
    for (const type of [...RESOURCE_TYPES].reverse()) {
      c.request(type, { node: NODE, names: names[type] });
      const r = await c.next();
      assert.is(r.type, type);
      await answerAndAwaitAck(h, type, () => c.ack(r, names[type]));
    }
    // The first CDS response warms clusters: EDS (already subscribed) is sent again; ACK it.
    const rewarm = await c.next();
    assert.is(rewarm.type, 'endpoints');
    await answerAndAwaitAck(h, 'endpoints', () => c.ack(rewarm, names.endpoints));
    h.cache.set(PROXY, b);
    const pushed = [];
    for (let i = 0; i < 5; i++) pushed.push(await c.next());
    assert.equal(
      pushed.map((r) => r.type),
      ['clusters', 'endpoints', 'listeners', 'routes', 'secrets'],
    );
    for (const r of pushed) assert.is(r.versionInfo, b[r.type].version, `${r.type} carries the new version`);
    const routes = pushed[3]!;
    c.request('routes', { version: routes.versionInfo, nonce: routes.nonce, names: [] });
    const unsubscribed = await c.next();
    assert.equal(
      [unsubscribed.type, unsubscribed.names],
      ['routes', []],
      'each type pushed once: the next response answers the later request',
    );
  }));

test('RDS (named) is never a wildcard: an empty first request gets nothing, an empty later one means nothing', () =>
  withHarness(async (h) => {
    h.cache.set(PROXY, snapshotOf(MESH.a));
    const c = h.sotw();
    c.request('routes', { node: NODE, names: [] });
    c.request('routes', { names: ['http_proxy'] });
    const r1 = await c.next();
    assert.equal(r1.names, ['http_proxy'], 'no wildcard for RDS: the empty first request got no response');
    // grpc-js-xds unsubscribes by sending an empty list.
    c.request('routes', { version: r1.versionInfo, nonce: r1.nonce, names: [] });
    const r2 = await c.next();
    assert.is(r2.resources.length, 0);
    assert.equal(h.status('routes')!.subscribed, []);
    await answerAndAwaitAck(h, 'routes', () => c.ack(r2, []));
    h.cache.set(PROXY, snapshotOf(MESH.d));
    c.request('clusters');
    assert.is((await c.next()).type, 'clusters', 'a route change is not pushed to a stream that subscribes to no route');
  }));

// Envoy 1.40 and grpc-js-xds clear the nonce on a new stream; clients that keep
// it (Istio's INIT/RECONNECT case) must still get their config.
test('a reconnecting stream is answered only for what changed since the version it holds', () =>
  withHarness(async (h) => {
    const a = snapshotOf(MESH.a);
    h.cache.set(PROXY, a);
    const first = h.sotw();
    first.request('clusters', { node: NODE });
    first.request('listeners', { node: NODE });
    const held = new Map([await first.next(), await first.next()].map((r) => [r.type, r]));
    first.close();
    await eventually('the first stream is gone', () => h.server.listConnections().length === 0);
    const c = snapshotOf(MESH.c);
    assert.is.not(c.clusters.version, a.clusters.version, 'fixture: clusters change in c');
    assert.is(c.listeners.version, a.listeners.version, 'fixture: listeners do not');
    h.cache.set(PROXY, c);
    const second = h.sotw();
    for (const type of ['clusters', 'listeners'] as const) {
      const r = held.get(type)!;
      second.request(type, { node: NODE, version: r.versionInfo, nonce: r.nonce });
    }
    // Answered in order: had listeners been sent, they would come before these endpoints.
    second.request('endpoints', { node: NODE, names: namesOf(c, 'endpoints') });
    const types: string[] = [];
    for (;;) {
      const r = await second.next(2000);
      types.push(r.type);
      if (r.type === 'endpoints') break;
    }
    assert.equal(types, ['clusters', 'endpoints']);
    assert.is(h.server.listConnections().length, 1);
  }));

test.run();
