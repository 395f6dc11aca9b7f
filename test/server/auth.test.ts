// Who may open an ADS stream: TokenStreamAuthenticator in front of a real
// AdsServer and ControlPlane (examples/s1-auto-mtls), over a 127.0.0.1 socket.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SnapshotCache } from '../../src/cache/snapshot-cache.js';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { WorkloadCertificateCache } from '../../src/ca/rotation.js';
import { loadConfig } from '../../src/config/load-config.js';
import { caCredentials } from '../../src/control-plane/ca-credentials.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { TokenStreamAuthenticator } from '../../src/control-plane/stream-authenticator.js';
import { TokenAuthority } from '../../src/identity/proxy-token.js';
import { RevocationList } from '../../src/identity/token-revocations.js';
import { AdsServer } from '../../src/server/ads-server.js';
import { EXAMPLES_DIR } from '../support/paths.js';
import { SILENT_LOGGER } from './harness.js';
import { DeltaClient, SotwClient } from './xds-client.js';

interface AuthWorld {
  tokens: TokenAuthority;
  otherTokens: TokenAuthority;
  server: AdsServer;
  client: grpc.Client;
  /** The revocations the authenticator checks from now on. */
  setRevocations(list: RevocationList): void;
  /** A SotW stream with the given bearer token (none when undefined). */
  sotw(token?: string): SotwClient;
  delta(token?: string): DeltaClient;
}

function bearer(token: string | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return md;
}

async function withAuthWorld(body: (w: AuthWorld) => Promise<void>): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'meshlite-auth-'));
  const otherDir = mkdtempSync(join(tmpdir(), 'meshlite-auth-other-'));
  const ca = await CertificateAuthority.loadOrCreate({ stateDir, trustDomain: 'cluster.local' });
  const certificates = new WorkloadCertificateCache(ca, { autoRotate: false });
  const cache = new SnapshotCache();
  const cp = new ControlPlane(cache, caCredentials(ca, certificates), SILENT_LOGGER);
  const loaded = loadConfig([join(EXAMPLES_DIR, 's1-auto-mtls')]);
  assert.ok(loaded.ok, 'examples/s1-auto-mtls loads');
  await cp.applyConfig(loaded, 'test');
  const tokens = await TokenAuthority.loadOrCreate(stateDir);
  const otherTokens = await TokenAuthority.loadOrCreate(otherDir);
  let revocations = new RevocationList();
  const server = new AdsServer({
    cache,
    authenticator: new TokenStreamAuthenticator(cp, tokens, () => revocations),
    logger: SILENT_LOGGER,
    onProxyConnected: (id) => void cp.proxyConnected(id),
    onProxyDisconnected: (id) => cp.proxyDisconnected(id),
  });
  const streams: { close(): void }[] = [];
  let client: grpc.Client | undefined;
  try {
    const port = await server.listen('127.0.0.1:0');
    const c = (client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()));
    await body({
      tokens,
      otherTokens,
      server,
      client: c,
      setRevocations: (list) => void (revocations = list),
      sotw: (token) => {
        const s = new SotwClient(c, bearer(token));
        streams.push(s);
        return s;
      },
      delta: (token) => {
        const s = new DeltaClient(c, bearer(token));
        streams.push(s);
        return s;
      },
    });
  } finally {
    for (const s of streams) s.close();
    client?.close();
    await server.shutdown(500);
    await cp.idle();
    certificates.close();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(otherDir, { recursive: true, force: true });
  }
}

async function assertRefused(w: AuthWorld, stream: SotwClient | DeltaClient, code: grpc.status, detail: string): Promise<void> {
  const end = await stream.raw.endWithin();
  assert.is(grpc.status[end.code], grpc.status[code], `status (${end.details})`);
  assert.match(end.details, detail);
  assert.is(stream.raw.pending, 0, 'no configuration was sent');
  assert.equal(w.server.listConnections(), [], 'no connection registered');
}

const SLEEP_FOO = { id: 'sleep.foo', cluster: 'sleep.foo' };

test('no token: UNAUTHENTICATED (SotW and delta)', () =>
  withAuthWorld(async (w) => {
    const s = w.sotw();
    s.request('clusters', { node: SLEEP_FOO });
    await assertRefused(w, s, grpc.status.UNAUTHENTICATED, 'no bearer token');
    const d = w.delta();
    d.request('clusters', { node: SLEEP_FOO });
    await assertRefused(w, d, grpc.status.UNAUTHENTICATED, 'no bearer token');
  }));

test('a garbage token: UNAUTHENTICATED', () =>
  withAuthWorld(async (w) => {
    const s = w.sotw('not.a.jwt');
    s.request('clusters', { node: SLEEP_FOO });
    await assertRefused(w, s, grpc.status.UNAUTHENTICATED, 'invalid token');
  }));

test("a well-formed token signed by another meshlite's key: UNAUTHENTICATED", () =>
  withAuthWorld(async (w) => {
    const foreign = await w.otherTokens.issue('sleep.foo');
    assert.ok((await w.otherTokens.verify(foreign)).ok, 'valid for its own issuer');
    const s = w.sotw(foreign);
    s.request('clusters', { node: SLEEP_FOO });
    await assertRefused(w, s, grpc.status.UNAUTHENTICATED, 'invalid token');
  }));

test('a token for sleep.foo presented by node httpbin.bar: PERMISSION_DENIED', () =>
  withAuthWorld(async (w) => {
    const s = w.sotw(await w.tokens.issue('sleep.foo'));
    s.request('clusters', { node: { id: 'httpbin.bar' } });
    await assertRefused(w, s, grpc.status.PERMISSION_DENIED, 'the token is for "sleep.foo"');
    const istioStyle = w.sotw(await w.tokens.issue('sleep.foo'));
    istioStyle.request('clusters', { node: { id: 'sidecar~127.0.2.1~httpbin.bar~bar.svc.cluster.local' } });
    await assertRefused(w, istioStyle, grpc.status.PERMISSION_DENIED, 'the token is for "sleep.foo"');
  }));

test('an unknown workload (valid token for it): PERMISSION_DENIED', () =>
  withAuthWorld(async (w) => {
    const s = w.sotw(await w.tokens.issue('ghost.foo'));
    s.request('clusters', { node: { id: 'ghost.foo' } });
    await assertRefused(w, s, grpc.status.PERMISSION_DENIED, 'unknown workload "ghost.foo"');
  }));

test('a workload without sidecar (sleep.legacy): PERMISSION_DENIED', () =>
  withAuthWorld(async (w) => {
    const s = w.sotw(await w.tokens.issue('sleep.legacy'));
    s.request('clusters', { node: { id: 'sleep.legacy' } });
    await assertRefused(w, s, grpc.status.PERMISSION_DENIED, 'runs no sidecar');
  }));

test('a first request without node: INVALID_ARGUMENT, even with a good token', () =>
  withAuthWorld(async (w) => {
    const s = w.sotw(await w.tokens.issue('sleep.foo'));
    s.request('clusters', {});
    await assertRefused(w, s, grpc.status.INVALID_ARGUMENT, 'node.id');
    const d = w.delta(await w.tokens.issue('sleep.foo'));
    d.request('clusters', {});
    await assertRefused(w, d, grpc.status.INVALID_ARGUMENT, 'node.id');
  }));

test('the right token: the stream is accepted and config flows (plain and Istio-style node ids)', () =>
  withAuthWorld(async (w) => {
    const s = w.sotw(await w.tokens.issue('sleep.foo'));
    s.request('clusters', { node: SLEEP_FOO });
    const cds = await s.next();
    assert.is(cds.type, 'clusters');
    assert.ok(cds.names.includes('outbound|8000||httpbin.bar.svc.cluster.local'), cds.names.join(', '));
    s.request('listeners', {});
    const lds = await s.next();
    assert.ok(lds.resources.length > 0);
    assert.equal(
      w.server.listConnections().map((c) => [c.proxyId, c.protocol]),
      [['sleep.foo', 'sotw']],
    );

    const d = w.delta(await w.tokens.issue('httpbin.bar'));
    d.request('clusters', { node: { id: 'sidecar~127.0.2.1~httpbin.bar~bar.svc.cluster.local' } });
    const dcds = await d.next();
    assert.ok(Object.keys(dcds.versions).includes('inbound|80||'), 'httpbin.bar gets its own inbound cluster');
    assert.equal(
      w.server.listConnections().map((c) => c.proxyId),
      ['httpbin.bar', 'sleep.foo'],
    );
  }));

test('a revoked token is refused at open: by its id, or as a token of its proxy issued up to the revocation', () =>
  withAuthWorld(async (w) => {
    const issued = await w.tokens.issueToken('sleep.foo', 3600);
    const at = '2024-01-01T00:00:00.000Z';
    w.setRevocations(new RevocationList([{ tokenId: issued.tokenId, revokedAt: at }]));
    const byId = w.sotw(issued.token);
    byId.request('clusters', { node: SLEEP_FOO });
    await assertRefused(w, byId, grpc.status.UNAUTHENTICATED, `token revoked: token ${issued.tokenId} was revoked at ${at}`);

    w.setRevocations(new RevocationList([{ proxy: 'sleep.foo', issuedUpTo: issued.issuedAt, revokedAt: at }]));
    const byProxy = w.sotw(issued.token);
    byProxy.request('clusters', { node: SLEEP_FOO });
    await assertRefused(w, byProxy, grpc.status.UNAUTHENTICATED, 'token revoked: every token of sleep.foo issued up to');

    // The same token, were it issued after the revocation, is fine (and so are other proxies' tokens).
    w.setRevocations(new RevocationList([{ proxy: 'sleep.foo', issuedUpTo: issued.issuedAt - 1, revokedAt: at }]));
    const later = w.sotw(issued.token);
    later.request('clusters', { node: SLEEP_FOO });
    assert.ok((await later.next()).names.length > 0);
    assert.equal(
      w.server.listConnections().map((c) => [c.proxyId, c.credential]),
      [['sleep.foo', { kind: 'token', id: issued.tokenId, issuedAt: issued.issuedAt * 1000, expiresAt: issued.expiresAt * 1000 }]],
    );
  }));

test("a token's stream is closed when the token expires", () =>
  withAuthWorld(async (w) => {
    const issued = await w.tokens.issueToken('sleep.foo', 2);
    const s = w.sotw(issued.token);
    s.request('clusters', { node: SLEEP_FOO });
    assert.ok((await s.next()).names.length > 0, 'served until then');
    const end = await s.raw.endWithin(4000);
    assert.is(grpc.status[end.code], 'UNAUTHENTICATED');
    assert.is(end.details, `token expired at ${new Date(issued.expiresAt * 1000).toISOString()}`);
    assert.ok(Date.now() >= issued.expiresAt * 1000, 'not before expiry');
    assert.equal(w.server.listConnections(), []);
    const again = w.sotw(issued.token);
    again.request('clusters', { node: SLEEP_FOO });
    await assertRefused(w, again, grpc.status.UNAUTHENTICATED, 'invalid token: "exp" claim timestamp check failed');
  }));

test.run();
