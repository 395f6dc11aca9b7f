// How long an ADS stream may live: an AdsServer on a real 127.0.0.1 socket
// closes a stream that never authenticates, one whose credential expires (at
// that moment), and the ones closeStreams picks; its own listener reports a
// busy port as EADDRINUSE and logs plaintext clients on the TLS port.
import http2 from 'node:http2';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { buildSnapshot } from '../../src/cache/snapshot.js';
import { SnapshotCache } from '../../src/cache/snapshot-cache.js';
import { ListenError } from '../../src/server/ads-listener.js';
import {
  ADS_SERVICE_DEFINITION,
  AdsServer,
  type AdsServerOptions,
  type AuthResult,
  type StreamCloseReason,
} from '../../src/server/ads-server.js';
import { setLongTimeout } from '../../src/server/long-timer.js';
import { classifyTlsFailure, PerKeyRateLimit, type TlsFailure } from '../../src/server/tls-failures.js';
import { MESH, PROXY, snapshotOf } from './harness.js';
import type { ProxyResources } from '../../src/xds/proxy-resources.js';
import { TYPE_URL_OF } from '../../src/xds/type-urls.js';
import { clientCodec } from '../support/client-codec.js';
import { eventually, RawStream, SotwClient } from './xds-client.js';

const EMPTY_RESOURCES: ProxyResources = {
  proxyId: PROXY,
  clusters: [],
  endpoints: [],
  listeners: [],
  routes: [],
  secrets: [],
  warnings: [],
};

interface Rig {
  server: AdsServer;
  cache: SnapshotCache;
  client: grpc.Client;
  port: number;
  closed: StreamCloseReason[];
  logs: { level: string; msg: string; fields: Record<string, any> }[];
  tlsFailures: TlsFailure[];
}

async function withRig(
  auth: (nodeId: string) => Promise<AuthResult>,
  body: (r: Rig) => Promise<void>,
  tls?: { certChainPem: string; privateKeyPem: string },
  extra: Partial<AdsServerOptions> = {},
): Promise<void> {
  const cache = new SnapshotCache();
  cache.set(PROXY, snapshotOf(MESH.a));
  const closed: StreamCloseReason[] = [];
  const tlsFailures: TlsFailure[] = [];
  const logs: Rig['logs'] = [];
  const at = (level: string) => (fields: object, msg?: string) =>
    void logs.push({ level, msg: msg ?? '', fields: fields as Record<string, any> });
  const server = new AdsServer({
    cache,
    authenticator: { authenticate: (_md, node) => auth(node.id) },
    logger: { info: at('info'), warn: at('warn'), debug: at('debug') },
    authTimeoutMs: 300,
    onStreamClosed: (reason) => closed.push(reason),
    onTlsFailure: (f) => tlsFailures.push(f),
    ...extra,
  });
  const port = await server.listen('127.0.0.1:0', tls);
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    await body({ server, cache, client, port, closed, logs, tlsFailures });
  } finally {
    client.close();
    await server.shutdown(300);
  }
}

/**
 * Waits, on a condition rather than a sleep, until a full auth timeout has passed
 * after now: a stream opened now that never speaks is closed at its deadline.
 */
async function pastAuthDeadline(r: Rig): Promise<void> {
  const control = new RawStream(r.client, 'StreamAggregatedResources');
  const end = await control.endWithin(3000);
  assert.is(grpc.status[end.code], 'UNAUTHENTICATED', 'the control stream is closed at its auth deadline');
}

/** The stream is still open and served: a new subscription on it is answered. */
async function stillServed(s: SotwClient): Promise<void> {
  s.request('listeners');
  assert.is((await s.next()).type, 'listeners');
}

const trust =
  (credential?: { expiresAt?: number; id?: string }) =>
  async (id: string): Promise<AuthResult> => ({ ok: true, proxyId: id, ...(credential ? { credential } : {}) });

test('a stream that never sends a request is closed UNAUTHENTICATED after the auth timeout, and logged', () =>
  withRig(trust(), async (r) => {
    const started = Date.now();
    const silent = new RawStream(r.client, 'StreamAggregatedResources');
    const end = await silent.endWithin(3000);
    const tookMs = Date.now() - started;
    assert.is(grpc.status[end.code], 'UNAUTHENTICATED', end.details);
    assert.match(end.details, 'no authenticated discovery request within 0.3 s');
    assert.ok(tookMs >= 250 && tookMs < 2000, `closed at the deadline (${tookMs} ms)`);
    assert.equal(r.closed, ['auth_timeout']);
    assert.ok(r.logs.some((l) => l.level === 'warn' && l.msg === 'ADS stream refused' && /no authenticated/.test(l.fields.reason)));
    assert.equal(r.server.listConnections(), []);
  }));

test('a stream whose authentication is still pending at the deadline is closed too', () =>
  withRig(
    () => new Promise<AuthResult>(() => {}),
    async (r) => {
      const s = new SotwClient(r.client);
      s.request('clusters', { node: { id: PROXY } });
      const end = await s.raw.endWithin(3000);
      assert.is(grpc.status[end.code], 'UNAUTHENTICATED');
      assert.equal(r.closed, ['auth_timeout']);
      assert.is(s.raw.pending, 0, 'nothing was sent');
    },
  ));

test('an authenticated stream is not closed by the auth timeout', () =>
  withRig(trust(), async (r) => {
    const s = new SotwClient(r.client);
    s.request('clusters', { node: { id: PROXY } });
    await s.next();
    await pastAuthDeadline(r);
    await stillServed(s);
    assert.equal(
      r.server.listConnections().map((c) => c.proxyId),
      [PROXY],
    );
    assert.equal(r.closed, ['auth_timeout'], 'only the control stream was closed');
    s.close();
  }));

test('a credential that expires closes its stream at that moment (config flows until then); a warning at open', async () => {
  const expiresAt = Date.now() + 700;
  await withRig(trust({ id: 'tok-1', expiresAt }), async (r) => {
    const s = new SotwClient(r.client);
    s.request('clusters', { node: { id: PROXY } });
    const cds = await s.next();
    assert.ok(cds.names.length > 0, 'config before expiry');
    assert.equal(
      r.server.listConnections().map((c) => c.credential),
      [{ id: 'tok-1', expiresAt }],
    );
    const end = await s.raw.endWithin(3000);
    const lateMs = Date.now() - expiresAt;
    assert.is(grpc.status[end.code], 'UNAUTHENTICATED');
    assert.is(end.details, `token expired at ${new Date(expiresAt).toISOString()}`);
    assert.ok(lateMs >= 0 && lateMs < 500, `closed at expiry (${lateMs} ms late)`);
    assert.equal(r.closed, ['token_expired']);
    assert.equal(r.server.listConnections(), []);
    const closedLog = r.logs.find((l) => l.msg === 'ADS stream closed');
    assert.equal(closedLog && [closedLog.fields.proxy, closedLog.fields.tokenId, closedLog.fields.code], [
      PROXY,
      'tok-1',
      'UNAUTHENTICATED',
    ]);
    assert.ok(
      r.logs.some((l) => l.level === 'warn' && /^proxy token expires in 0 min/.test(l.msg)),
      'warned at open',
    );
  });
});

test('a credential valid for 40 days (beyond one timer) keeps its stream open and is not warned about', () =>
  withRig(trust({ id: 'long', expiresAt: Date.now() + 40 * 86400_000 }), async (r) => {
    const s = new SotwClient(r.client);
    s.request('clusters', { node: { id: PROXY } });
    await s.next();
    // A 40-day delay given to one setTimeout would fire at once; by the auth deadline it would have.
    await pastAuthDeadline(r);
    await stillServed(s);
    assert.equal(r.closed, ['auth_timeout'], 'only the control stream was closed');
    assert.not.ok(r.logs.some((l) => /expires in/.test(l.msg)));
    s.close();
  }));

test('closeStreams ends exactly the streams it selects, with the code and message given', () =>
  withRig(trust(), async (r) => {
    const a = new SotwClient(r.client);
    a.request('clusters', { node: { id: PROXY } });
    await a.next();
    const b = new SotwClient(r.client);
    b.request('clusters', { node: { id: 'sleep.foo' } });
    await eventually('both streams are registered', () => r.server.listConnections().length === 2);
    const n = r.server.closeStreams((c) => c.proxyId === PROXY, grpc.status.UNAUTHENTICATED, 'token revoked: test', 'token_revoked');
    assert.is(n, 1);
    const end = await a.raw.endWithin();
    assert.equal([grpc.status[end.code], end.details], ['UNAUTHENTICATED', 'token revoked: test']);
    assert.equal(
      r.server.listConnections().map((c) => c.proxyId),
      ['sleep.foo'],
    );
    assert.equal(r.closed, ['token_revoked']);
    b.close();
  }));

test('a newer stream of a proxy on the same connection closes an older one that never answered; one that ACKed stays, as do other connections', () =>
  withRig(trust(), async (r) => {
    const silent = new SotwClient(r.client);
    silent.request('clusters', { node: { id: PROXY } });
    await silent.next(); // never ACKed: what a client that gave the stream up leaves behind
    const live = new SotwClient(r.client);
    live.request('clusters', { node: { id: PROXY } });
    const first = await live.next();
    const end = await silent.raw.endWithin();
    assert.is(grpc.status[end.code], 'CANCELLED');
    assert.match(end.details, /^superseded by stream \d+ of the same proxy on the same connection/);
    assert.equal(r.closed, ['superseded']);
    live.request('clusters', { version: first.versionInfo, nonce: first.nonce });
    await eventually('the ACK is recorded', () => r.server.connectionsOf(PROXY)[0]?.status()[0]?.ackedVersion === first.versionInfo);
    // A second xDS client of the same node on the same connection: the ACKing stream is live and stays.
    const second = new SotwClient(r.client);
    second.request('clusters', { node: { id: PROXY } });
    await second.next();
    // Another connection (its own subchannel) of the same proxy is another client.
    const other = new grpc.Client(`127.0.0.1:${r.port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    try {
      const elsewhere = new SotwClient(other);
      elsewhere.request('clusters', { node: { id: PROXY } });
      await elsewhere.next();
      await stillServed(live);
      await stillServed(elsewhere);
      assert.is(r.server.connectionsOf(PROXY).length, 3);
      assert.equal(r.closed, ['superseded']);
      elsewhere.close();
    } finally {
      other.close();
    }
    second.close();
    live.close();
  }));

test('a proxy that ends its stream and opens the next at once keeps getting config on the new one', () =>
  withRig(trust(), async (r) => {
    for (let round = 0; round < 20; round++) {
      const old = new SotwClient(r.client);
      old.request('clusters', { node: { id: PROXY } });
      const first = await old.next();
      old.request('clusters', { version: first.versionInfo, nonce: first.nonce });
      old.raw.end();
      const next = new SotwClient(r.client);
      next.request('clusters', { node: { id: PROXY } });
      const got = await next.next();
      next.request('clusters', { version: got.versionInfo, nonce: got.nonce });
      await old.raw.endWithin();
      // Every close event of the old stream has had its turn: a config change must still reach the new one.
      await new Promise((resolve) => setImmediate(resolve));
      r.cache.set(PROXY, snapshotOf(round % 2 === 0 ? MESH.b : MESH.a));
      const pushed = await next.next(2000);
      assert.is.not(pushed.versionInfo, got.versionInfo, `round ${round}: the change reached the new stream`);
      next.close();
      await next.raw.endWithin();
    }
  }));

test('a stream whose peer reads nothing is closed as stalled; a reading stream on another connection is not', () => {
  // A 2 MB trust bundle: far beyond what HTTP/2 lets through to a peer that stopped reading.
  const big = { name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: 'x'.repeat(2_000_000) } } };
  return withRig(
    trust(),
    async (r) => {
      r.cache.set(PROXY, buildSnapshot(EMPTY_RESOURCES, [big]));
      // A real HTTP/2 peer with a 1 KiB window that never reads its response.
      const session = http2.connect(`http://127.0.0.1:${r.port}`, { settings: { initialWindowSize: 1024 } });
      session.on('error', () => {});
      try {
        const call = session.request({
          ':method': 'POST',
          ':path': ADS_SERVICE_DEFINITION.StreamAggregatedResources!.path,
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        call.on('error', () => {});
        call.pause();
        const request = clientCodec.encodeSotwRequest({ typeUrl: TYPE_URL_OF.secrets, node: { id: PROXY }, resourceNames: ['ROOTCA'] });
        const frame = Buffer.alloc(5 + request.byteLength);
        frame.writeUInt32BE(request.byteLength, 1);
        frame.set(request, 5);
        call.write(frame);
        await eventually('the stalled stream is closed', () => r.closed.includes('stalled'), 5000);
        assert.equal(r.closed, ['stalled']);
        assert.is(r.server.connectionsOf(PROXY).length, 0);
        // The same response to a peer that reads goes through.
        const reader = new SotwClient(r.client);
        reader.request('secrets', { node: { id: PROXY }, names: ['ROOTCA'] });
        assert.is((await reader.next(5000)).type, 'secrets');
        assert.equal(r.closed, ['stalled']);
        reader.close();
      } finally {
        session.destroy();
      }
    },
    undefined,
    { writeTiming: { stallMs: 100, deadMs: 400, sweepEveryMs: 50 } },
  );
});

test("long timers: a delay beyond setTimeout's limit does not fire early, and cancels", async () => {
  let fired = 0;
  const cancel = setLongTimeout(() => fired++, 2 ** 31 + 5000);
  await new Promise((res) => setTimeout(res, 50));
  assert.is(fired, 0);
  cancel();
  // The timers are unref'd (a server keeps the process alive); this one keeps the test alive.
  const keepAlive = setTimeout(() => {}, 5000);
  await new Promise<void>((res) => setLongTimeout(res, 10));
  clearTimeout(keepAlive);
});

test('a busy port is a ListenError with code EADDRINUSE', async () => {
  const blocker = net.createServer();
  await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
  const port = (blocker.address() as net.AddressInfo).port;
  const server = new AdsServer({
    cache: new SnapshotCache(),
    authenticator: { authenticate: (_md, node) => trust()(node.id) },
    logger: { info() {}, warn() {}, debug() {} },
  });
  try {
    const err = await server.listen(`127.0.0.1:${port}`).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, ListenError);
    assert.is((err as ListenError).code, 'EADDRINUSE');
  } finally {
    blocker.close();
    await server.shutdown(100);
  }
});

test('the TLS port: a plaintext client is logged with a hint, once per peer per minute; every failure is counted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-lifetime-'));
  try {
    const ca = await CertificateAuthority.loadOrCreate({ stateDir: dir, trustDomain: 'cluster.local' });
    const issued = await ca.issueServerCertificate(['meshlite'], ['127.0.0.1']);
    assert.ok(issued.ok);
    const tls = {
      certChainPem: issued.ok ? issued.certificate.certChainPem : '',
      privateKeyPem: issued.ok ? issued.certificate.privateKeyPem! : '',
    };
    await withRig(
      trust(),
      async (r) => {
        for (let i = 0; i < 2; i++) {
          const s = new SotwClient(r.client); // plaintext gRPC to the TLS port
          s.request('clusters', { node: { id: PROXY } });
          const end = await s.raw.endWithin();
          assert.is(grpc.status[end.code], 'UNAVAILABLE');
          s.close();
        }
        await eventually('both handshakes failed', () => r.tlsFailures.length >= 2);
        assert.ok(
          r.tlsFailures.every((f) => f.kind === 'plaintext_client'),
          JSON.stringify(r.tlsFailures),
        );
        const lines = r.logs.filter((l) => /^TLS handshake with/.test(l.msg));
        assert.is(lines.length, 1, 'logged once');
        assert.match(
          lines[0]!.msg,
          /^TLS handshake with 127\.0\.0\.1:\d+ failed: .+; the peer speaks plaintext: was its bootstrap made with --insecure\?$/,
        );
      },
      tls,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TLS failure classes and the per-key rate limit', () => {
  const err = (code: string, reason?: string) => Object.assign(new Error(reason ?? code), { code, reason });
  assert.equal(classifyTlsFailure(err('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'tlsv1 alert unknown ca')), {
    reason: 'tlsv1 alert unknown ca',
    kind: 'untrusted_certificate',
    hint: "was this proxy's bootstrap made with another --state-dir?",
  });
  assert.is(classifyTlsFailure(err('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE')).kind, 'untrusted_certificate');
  assert.is(classifyTlsFailure(err('ERR_SSL_WRONG_VERSION_NUMBER')).kind, 'plaintext_client');
  assert.is(classifyTlsFailure(err('ECONNRESET', 'socket hang up')).kind, 'closed_early');
  assert.is(classifyTlsFailure(err('ERR_SSL_NO_SHARED_CIPHER')).hint, undefined);
  const limit = new PerKeyRateLimit(1000, 4);
  assert.is(limit.admit('a', 0), 0);
  assert.is(limit.admit('a', 10), undefined);
  assert.is(limit.admit('a', 20), undefined);
  assert.is(limit.admit('b', 20), 0, 'per key');
  assert.is(limit.admit('a', 1000), 2, 'after the interval, with the count held back');
  for (const k of ['c', 'd', 'e', 'f', 'g']) limit.admit(k, 1500);
  assert.is(limit.admit('g', 1600), undefined, 'a flood of keys forgets the oldest, keeps recent ones');
});

test.run();
