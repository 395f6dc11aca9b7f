// SotwStream without a socket: each request or snapshot is followed by exactly
// what the stream wrote (nonces, versions, names, order), or by proof that it
// wrote nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { changedTypes } from '../../src/cache/snapshot.js';
import { RESOURCE_TYPES } from '../../src/xds/type-urls.js';
import { ECHO, HTTPBIN, INBOUND, MESH, namesOf, NODE, snapshotOf } from './harness.js';
import { sotwSpy } from './stream-spy.js';

const A = snapshotOf(MESH.a);
const B = snapshotOf(MESH.b);
const C = snapshotOf(MESH.c);
const D = snapshotOf(MESH.d);
const EMPTY = snapshotOf(MESH.empty);
const A1 = snapshotOf(MESH.a, 1);
const B1 = snapshotOf(MESH.b, 1);
const B2 = snapshotOf(MESH.b, 2);
const D1 = snapshotOf(MESH.d, 1);

/** A stream on snapshot A that holds (acked) the wildcard clusters. */
function withAckedClusters(snapshot = A) {
  const s = sotwSpy();
  s.stream.onSnapshot(snapshot);
  s.request('clusters', { node: NODE });
  const cds = s.one();
  s.ack(cds);
  assert.equal(s.written(), [], 'an ACK is not answered');
  return { s, cds };
}

test('an empty first CDS/LDS request is a wildcard, answered at once with the type version and a fresh nonce', () => {
  const s = sotwSpy();
  s.stream.onSnapshot(A);
  assert.equal(s.written(), [], 'nothing is written before a request');
  s.request('clusters', { node: NODE });
  const cds = s.one();
  assert.equal([cds.type, cds.versionInfo, cds.names], ['clusters', A.clusters.version, [HTTPBIN, INBOUND].sort()]);
  s.request('listeners');
  const lds = s.one();
  assert.equal([lds.type, lds.versionInfo, lds.names], ['listeners', A.listeners.version, namesOf(A, 'listeners')]);
  assert.equal(s.status('clusters')!.subscribed, '*');
  assert.equal(s.status('listeners')!.subscribed, '*');
  s.ack(cds);
  s.ack(lds);
  s.stream.onSnapshot(B);
  const pushed = s.written();
  assert.equal(
    pushed.map((r) => [r.type, r.versionInfo]),
    [
      ['clusters', B.clusters.version],
      ['listeners', B.listeners.version],
    ],
  );
  const nonces = [cds, lds, ...pushed].map((r) => r.nonce);
  assert.ok(nonces.every((n) => n.length > 0));
  assert.is(new Set(nonces).size, 4, `nonces are unique: ${nonces}`);
});

test('"*" among the names is a wildcard too; a request before any snapshot is answered when the snapshot arrives', () => {
  const s = sotwSpy();
  s.request('listeners', { node: NODE, names: ['*'] });
  assert.equal(s.written(), []);
  assert.equal(s.status('listeners')!.subscribed, '*');
  s.stream.onSnapshot(A);
  assert.equal(s.one().names, namesOf(A, 'listeners'));
});

test('an ACK records the acked version (status and observer) and writes nothing; a later empty CDS list keeps the wildcard', () => {
  const s = sotwSpy();
  s.stream.onSnapshot(A);
  s.request('clusters', { node: NODE });
  const r1 = s.one();
  assert.is(s.status('clusters')!.ackedVersion, undefined);
  s.ack(r1, []);
  assert.equal(s.written(), []);
  const st = s.status('clusters')!;
  assert.equal([st.ackedVersion, st.sentVersion, st.sentNonce, st.subscribed], [A.clusters.version, A.clusters.version, r1.nonce, '*']);
  assert.equal(s.events, [
    { kind: 'sent', proxy: 'httpbin.bar', type: 'clusters', version: A.clusters.version },
    { kind: 'acked', proxy: 'httpbin.bar', type: 'clusters', version: A.clusters.version },
  ]);
  s.stream.onSnapshot(D);
  const r2 = s.one();
  assert.is(r2.versionInfo, D.clusters.version);
  assert.equal(r2.names, namesOf(D, 'clusters'), 'the new cluster comes through the kept wildcard');
  assert.ok(r2.names.includes(ECHO));
});

test('a NACK is recorded and never answered with the same content, however often it repeats; a real change is sent', () => {
  const { s, cds: r1 } = withAckedClusters();
  s.stream.onSnapshot(B);
  const r2 = s.one();
  s.nack(r2, r1.versionInfo, 'cluster outbound|9000 rejected');
  assert.equal(s.written(), [], 'the NACK is not answered with the rejected config');
  const st = s.status('clusters')!;
  assert.equal(st.nacked, { version: B.clusters.version, nonce: r2.nonce, message: 'cluster outbound|9000 rejected' });
  assert.is(st.ackedVersion, A.clusters.version, 'the proxy still holds the previous version');
  const nacked = {
    kind: 'nacked',
    proxy: 'httpbin.bar',
    type: 'clusters',
    version: B.clusters.version,
    message: 'cluster outbound|9000 rejected',
  };
  assert.equal(s.events.at(-1), nacked);
  s.nack(r2, r1.versionInfo, 'cluster outbound|9000 rejected');
  assert.equal(s.written(), [], 'a repeated NACK is not answered either (no loop)');
  assert.equal(changedTypes(B, B1), ['secrets']);
  s.stream.onSnapshot(B1);
  s.stream.onSnapshot(B1);
  assert.equal(s.written(), [], 'a change elsewhere does not resend the rejected clusters');

  const C1 = snapshotOf(MESH.c, 1);
  s.stream.onSnapshot(C1);
  const r3 = s.one();
  assert.equal([r3.type, r3.versionInfo, r3.names], ['clusters', C1.clusters.version, namesOf(C1, 'clusters')]);
  assert.is.not(r3.nonce, r2.nonce);
  s.ack(r3);
  assert.is(s.status('clusters')!.nacked, undefined, 'an ACK clears the NACK');
});

test('content NACKed once is sent again when the config returns to it after another accepted version', () => {
  const { s, cds: r1 } = withAckedClusters();
  s.stream.onSnapshot(B);
  const rejected = s.one();
  s.nack(rejected, r1.versionInfo, 'no');
  s.stream.onSnapshot(A);
  const back = s.one();
  assert.is(back.versionInfo, A.clusters.version);
  s.ack(back);
  s.stream.onSnapshot(B);
  const again = s.one();
  assert.equal([again.versionInfo, again.names], [B.clusters.version, namesOf(B, 'clusters')]);
});

test('requests with a stale nonce are ignored: nothing written, no state change, no NACK recorded', () => {
  const { s, cds: r1 } = withAckedClusters();
  s.stream.onSnapshot(D);
  const r2 = s.one();
  const before = s.status('clusters');
  const eventsBefore = s.events.length;
  s.request('clusters', { version: r1.versionInfo, nonce: r1.nonce, names: [HTTPBIN] });
  s.request('clusters', { version: r1.versionInfo, nonce: r1.nonce, error: 'stale rejection' });
  s.request('clusters', { version: r1.versionInfo, nonce: 'never-sent', names: ['other'] });
  assert.equal(s.written(), []);
  assert.equal(s.status('clusters'), before);
  assert.is(s.events.length, eventsBefore);
  s.ack(r2);
  assert.is(s.status('clusters')!.ackedVersion, D.clusters.version);
  s.stream.onSnapshot(C);
  assert.equal(s.one().names, namesOf(C, 'clusters'), "still the wildcard, not the stale request's names");
});

test('named EDS/RDS/SDS requested before they exist get nothing, and are sent when they appear', () => {
  const s = sotwSpy();
  s.stream.onSnapshot(EMPTY);
  s.request('clusters', { node: NODE });
  const empty = s.one();
  assert.is(empty.resources.length, 0, 'a full-state type answers even when empty');
  s.ack(empty);
  s.request('endpoints', { names: [HTTPBIN, ECHO] });
  s.request('routes', { names: ['http_proxy'] });
  s.request('secrets', { names: ['ROOTCA', 'default'] });
  assert.equal(s.written(), [], 'nothing requested exists yet');
  assert.equal(s.status('endpoints')!.subscribed, [ECHO, HTTPBIN].sort());

  s.stream.onSnapshot(A);
  const [cds, eds, rds, ...rest] = s.written();
  assert.equal([cds!.type, eds!.type, rds!.type, rest.length], ['clusters', 'endpoints', 'routes', 0]);
  assert.equal(eds!.names, [HTTPBIN], 'what exists of the requested names');
  assert.equal(rds!.names, ['http_proxy']);
  s.ack(cds!);
  s.ack(eds!, [HTTPBIN, ECHO]);
  s.ack(rds!, ['http_proxy']);

  s.stream.onSnapshot(A1);
  const sds = s.one();
  assert.equal([sds.type, sds.names, sds.versionInfo], ['secrets', ['ROOTCA', 'default'], A1.secrets.version]);
  s.ack(sds, ['ROOTCA', 'default']);

  s.stream.onSnapshot(D1);
  const [cds2, eds2, ...more] = s.written();
  assert.equal([cds2!.type, eds2!.type, more.map((r) => r.type)], ['clusters', 'endpoints', ['routes']]);
  assert.equal(eds2!.names, [ECHO, HTTPBIN].sort(), 'echo endpoints sent once they exist');
});

test('a subscription change carrying the current nonce is answered with the new selection', () => {
  const s = sotwSpy();
  s.stream.onSnapshot(D);
  s.request('endpoints', { node: NODE, names: [HTTPBIN] });
  const r1 = s.one();
  assert.equal(r1.names, [HTTPBIN]);
  s.request('endpoints', { version: r1.versionInfo, nonce: r1.nonce, names: [HTTPBIN, ECHO] });
  const r2 = s.one();
  assert.equal(r2.names, [ECHO, HTTPBIN].sort());
  s.request('endpoints', { version: r2.versionInfo, nonce: r2.nonce, names: [ECHO] });
  const r3 = s.one();
  assert.equal(r3.names, [ECHO]);
  assert.is(new Set([r1.nonce, r2.nonce, r3.nonce]).size, 3);
  assert.equal(s.status('endpoints')!.subscribed, [ECHO]);
  s.ack(r3, [ECHO]);
  assert.equal(s.written(), [], 'the same names again (an ACK) change nothing');
});

test('Envoy warming: a CDS change is followed by a new EDS response even when endpoints did not change', () => {
  assert.equal(changedTypes(A, C), ['clusters'], 'fixture: only clusters change');
  const { s } = withAckedClusters();
  s.request('endpoints', { names: [HTTPBIN] });
  const eds = s.one();
  s.ack(eds, [HTTPBIN]);
  s.stream.onSnapshot(C);
  const [cds2, eds2, ...rest] = s.written();
  assert.equal([cds2!.type, eds2!.type, rest.length], ['clusters', 'endpoints', 0]);
  assert.equal([eds2!.versionInfo, eds2!.names], [eds.versionInfo, [HTTPBIN]], 'same endpoints content');
  assert.is.not(eds2!.nonce, eds.nonce, 'but a new response');
});

test('Envoy warming: an EDS response still unanswered when clusters change is re-sent once the proxy answers it', () => {
  const { s } = withAckedClusters();
  s.request('endpoints', { names: [HTTPBIN] });
  const eds = s.one();
  s.stream.onSnapshot(C);
  const cds2 = s.one();
  assert.is(cds2.type, 'clusters', 'EDS waits: the proxy has not answered the last EDS response');
  s.ack(eds, [HTTPBIN]);
  const eds2 = s.one();
  assert.equal([eds2.type, eds2.versionInfo, eds2.names], ['endpoints', eds.versionInfo, [HTTPBIN]]);
  assert.is.not(eds2.nonce, eds.nonce);
  s.ack(eds2, [HTTPBIN]);
  assert.equal(s.written(), [], 'and only once');
});

test('a change of every type is pushed once each, in the order clusters, endpoints, listeners, routes, secrets', () => {
  assert.equal(changedTypes(A1, B2), [...RESOURCE_TYPES], 'fixture: every type changes');
  const s = sotwSpy();
  s.stream.onSnapshot(A1);
  const names = { clusters: [], endpoints: [HTTPBIN, ECHO], listeners: [], routes: ['http_proxy'], secrets: ['ROOTCA', 'default'] };
  // Subscribed in reverse order, so the push order cannot come from the subscription order.
  for (const type of [...RESOURCE_TYPES].reverse()) {
    s.request(type, { node: NODE, names: names[type] });
    const [r, ...rewarm] = s.written();
    assert.is(r!.type, type);
    s.ack(r!, names[type]);
    // The first CDS response warms clusters: EDS (already subscribed) is sent again.
    assert.equal(
      rewarm.map((x) => x.type),
      type === 'clusters' ? ['endpoints'] : [],
    );
    for (const x of rewarm) s.ack(x, names.endpoints);
  }
  assert.equal(s.written(), []);
  s.stream.onSnapshot(B2);
  const pushed = s.written();
  assert.equal(
    pushed.map((r) => r.type),
    ['clusters', 'endpoints', 'listeners', 'routes', 'secrets'],
  );
  for (const r of pushed) assert.is(r.versionInfo, B2[r.type].version, `${r.type} carries the new version`);
  s.stream.onSnapshot(B2);
  assert.equal(s.written(), [], 'the same snapshot again sends nothing');
});

test('RDS is never a wildcard: an empty first request gets nothing, a later empty list (grpc-js-xds) means no routes', () => {
  const s = sotwSpy();
  s.stream.onSnapshot(A);
  s.request('routes', { node: NODE, names: [] });
  assert.equal(s.written(), [], 'no wildcard for RDS');
  assert.equal(s.status('routes')!.subscribed, []);
  s.request('routes', { names: ['http_proxy'] });
  const r1 = s.one();
  assert.equal(r1.names, ['http_proxy']);
  s.request('routes', { version: r1.versionInfo, nonce: r1.nonce, names: [] });
  const r2 = s.one();
  assert.is(r2.resources.length, 0, 'an unsubscribe is answered with the (empty) selection');
  assert.equal(s.status('routes')!.subscribed, []);
  s.ack(r2, []);
  assert.is.not(D.routes.version, A.routes.version, 'fixture: routes change in d');
  s.stream.onSnapshot(D);
  assert.equal(s.written(), [], 'a route change is not pushed to a stream that subscribes to no route');
});

test('CDS subscribed by name (grpc-js-xds): a later empty list means no clusters, not the wildcard', () => {
  const s = sotwSpy();
  s.stream.onSnapshot(A);
  s.request('clusters', { node: NODE, names: [HTTPBIN] });
  const r1 = s.one();
  assert.equal(r1.names, [HTTPBIN]);
  s.request('clusters', { version: r1.versionInfo, nonce: r1.nonce, names: [] });
  const r2 = s.one();
  assert.equal([r2.names, s.status('clusters')!.subscribed], [[], []]);
  s.ack(r2, []);
  s.stream.onSnapshot(D);
  assert.equal(s.written(), [], 'no cluster is pushed to a stream that subscribes to none');
});

test('a first request carrying a nonce from an earlier stream (reconnect) is answered as a fresh subscription', () => {
  const s = sotwSpy();
  s.stream.onSnapshot(A);
  s.request('clusters', { node: NODE, version: B.clusters.version, nonce: '17' });
  const r = s.one();
  assert.equal([r.versionInfo, r.names], [A.clusters.version, namesOf(A, 'clusters')]);
});

test('a request for a type meshlite does not serve is logged and ignored', () => {
  const s = sotwSpy();
  s.stream.onSnapshot(A);
  s.stream.onRequest({
    typeUrl: 'type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig',
    resourceNames: [],
    versionInfo: '',
    responseNonce: '',
  });
  assert.equal(s.written(), []);
  assert.equal(s.stream.status(), []);
  assert.equal(s.logs, ['ignoring request for an unsupported type']);
});

test('a reconnecting proxy that holds the current version of a type is sent nothing for it; an older version, or a subset of names, is answered', () => {
  const s = sotwSpy();
  s.stream.onSnapshot(A);
  s.request('clusters', { node: NODE, version: A.clusters.version });
  s.request('listeners', { node: NODE, version: 'an-older-version' });
  const written = s.written();
  assert.equal(
    written.map((r) => r.type),
    ['listeners'],
    'only the type whose held version differs is sent',
  );
  const clusters = s.status('clusters')!;
  assert.equal([clusters.sentVersion, clusters.ackedVersion], [A.clusters.version, A.clusters.version]);
  assert.equal(
    s.events.filter((e) => e.kind === 'sent').map((e) => e.type),
    ['listeners'],
  );
  s.stream.onSnapshot(B);
  assert.ok(
    s.written().some((r) => r.type === 'clusters' && r.versionInfo === B.clusters.version),
    'a later change of the skipped type is pushed',
  );

  const named = sotwSpy();
  named.stream.onSnapshot(A);
  const routes = namesOf(A, 'routes');
  named.request('routes', { node: NODE, version: A.routes.version, names: routes.slice(0, 1) });
  if (routes.length > 1) assert.is(named.one().type, 'routes', 'a subset of names at the current version is answered');
  named.request('endpoints', { node: NODE, version: A.endpoints.version, names: namesOf(A, 'endpoints') });
  assert.equal(named.written(), [], 'every name at the current version: nothing to send');
});

test.run();
