// A snapshot that names a resource it does not hold is not served: the proxy
// keeps its last good one, and the problem is logged as an error, counted and
// shown in /debug/syncz. The translator never builds one, so the secrets
// source here contradicts itself: it says a credential is available but hands
// over a CA where the certificate should be, so that Secret cannot be built.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildAdminServer } from '../../src/admin/admin-server.js';
import { Metrics } from '../../src/admin/metrics.js';
import { SnapshotCache } from '../../src/cache/snapshot-cache.js';
import type { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import type { WorkloadCredentialSource } from '../../src/control-plane/workload-credentials.js';
import type { CredentialLookup, TlsCredentialSource } from '../../src/credentials/credential.js';
import type { AdsServer, ConnectionInfo } from '../../src/server/ads-server.js';
import { destinationRule, loadManifests, serviceEntry, workloadEntry } from '../support/fixtures/index.js';

const CLUSTER = 'outbound|8000||db.bar.svc.cluster.local';
const mesh = [
  serviceEntry('bar/db'),
  workloadEntry('bar/db', { address: '127.0.2.9', sidecar: false }),
  workloadEntry('foo/sleep', { address: '127.0.1.2' }),
  destinationRule('foo/db-tls', {
    host: 'db.bar.svc.cluster.local',
    trafficPolicy: { tls: { mode: 'MUTUAL', credentialName: 'db-cred' } },
  }),
];

const workloadCredentials: WorkloadCredentialSource = {
  rootCertPem: () => 'ROOT',
  certificateFor: async () => ({ certChainPem: 'CERT', privateKeyPem: 'KEY', serialNumber: '1', notAfter: new Date() }),
  onRotated: () => {},
};

/** Serves db-cred properly until `contradict` is set (every lookup answers with a CA) or `missing` (none is found). */
function credentialSource() {
  const state = { contradict: false, missing: false };
  const source: TlsCredentialSource = {
    lookup(name): CredentialLookup {
      if (state.missing) return { ok: false, reason: 'not in the secrets directory' };
      if (state.contradict || name.endsWith('-cacert')) return { ok: true, kind: 'ca', caPem: 'CA', from: 'test' };
      return { ok: true, kind: 'certificate', certChainPem: 'CHAIN', privateKeyPem: 'KEY', from: 'test' };
    },
  };
  return { source, state };
}

function setUp() {
  const cache = new SnapshotCache();
  const errors: { fields: Record<string, unknown>; message?: string }[] = [];
  const logger = {
    info() {},
    warn() {},
    debug() {},
    error: (fields: object, message?: string) => void errors.push({ fields: fields as Record<string, unknown>, message }),
  };
  const metrics = new Metrics();
  const credentials = credentialSource();
  const cp = new ControlPlane(cache, workloadCredentials, logger, metrics, credentials.source);
  return { cache, cp, errors, metrics, credentials: credentials.state };
}

const DANGLING = `secrets "kubernetes://db-cred" (named by clusters/${CLUSTER})`;

test('the proxy keeps its last good snapshot; the error names the proxy and every dangling name; it is counted', async () => {
  const t = setUp();
  await t.cp.applyConfig(loadManifests(mesh), 'start');
  await t.cp.proxyConnected('sleep.foo');
  const good = t.cache.get('sleep.foo');
  assert.ok(good?.secrets.resources.has('kubernetes://db-cred'), 'served while consistent');
  assert.is(t.cp.heldBackSnapshot('sleep.foo'), undefined);

  t.credentials.contradict = true;
  await t.cp.refresh('sleep.foo', 'credentials changed');
  assert.is(t.cache.get('sleep.foo'), good, 'the last good snapshot stays');
  assert.is(t.errors.length, 1);
  assert.equal(t.errors[0]!.fields, { proxy: 'sleep.foo', reason: 'credentials changed', dangling: [DANGLING] });
  assert.match(t.errors[0]!.message ?? '', 'not served');
  assert.equal(t.cp.heldBackSnapshot('sleep.foo')?.dangling, [DANGLING]);
  assert.match(await t.metrics.registry.metrics(), /meshlite_snapshots_inconsistent_total\{missing="secrets"\} 1\n/);

  t.credentials.contradict = false;
  await t.cp.refresh('sleep.foo', 'fixed');
  assert.is(t.cp.heldBackSnapshot('sleep.foo'), undefined, 'served again');
  assert.ok(t.cache.get('sleep.foo')?.secrets.resources.has('kubernetes://db-cred'));
});

test('a credential whose material is missing is left out on purpose: the snapshot is served without it (Envoy warms)', async () => {
  const t = setUp();
  t.credentials.missing = true;
  await t.cp.applyConfig(loadManifests(mesh), 'start');
  await t.cp.proxyConnected('sleep.foo');
  const served = t.cache.get('sleep.foo');
  assert.ok(served, 'served');
  assert.not.ok(served.secrets.resources.has('kubernetes://db-cred'));
  assert.ok(served.clusters.resources.has(CLUSTER), 'the cluster naming it is there, warming in Envoy');
  assert.is(t.cp.heldBackSnapshot('sleep.foo'), undefined);
  assert.equal(t.errors, []);
});

test('a proxy whose first snapshot is inconsistent gets none; /debug/syncz says why', async () => {
  const t = setUp();
  t.credentials.contradict = true;
  await t.cp.applyConfig(loadManifests(mesh), 'start');
  await t.cp.proxyConnected('sleep.foo');
  assert.is(t.cache.get('sleep.foo'), undefined);
  const connection: ConnectionInfo = {
    streamId: 1,
    proxyId: 'sleep.foo',
    protocol: 'sotw',
    node: { id: 'sleep.foo' } as ConnectionInfo['node'],
    peer: '127.0.1.2:5000',
    connectedAt: 0,
    status: () => [],
  };
  const ads = {
    listConnections: () => [connection],
    connectionsOf: (id: string) => (id === connection.proxyId ? [connection] : []),
    connectedProxies: () => new Set([connection.proxyId]),
  } as unknown as AdsServer;
  const ca = { info: {}, trustDomain: 'cluster.local' } as unknown as CertificateAuthority;
  const app = buildAdminServer({ controlPlane: t.cp, ads, cache: t.cache, metrics: t.metrics, ca, insecure: true });
  const one = (await app.inject({ method: 'GET', url: '/debug/syncz?proxy=sleep.foo' })).json() as { heldBack?: { dangling: string[] } };
  assert.equal(one.heldBack?.dangling, [DANGLING]);
  const all = (await app.inject({ method: 'GET', url: '/debug/syncz' })).json() as { proxy: string; heldBack?: unknown }[];
  assert.equal(
    all.map((p) => [p.proxy, p.heldBack !== undefined]),
    [['sleep.foo', true]],
  );
  t.cp.proxyDisconnected('sleep.foo');
  assert.is(t.cp.heldBackSnapshot('sleep.foo'), undefined);
});

test.run();
