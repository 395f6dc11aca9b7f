// An admin server in this process over a real control plane and snapshot
// cache, with ADS connections stood in for (each type accepted, or a NACK):
// what the dashboard tests read the dashboard from.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAdminServer } from '../../src/admin/admin-server.js';
import type { PredictedMatrix } from '../../src/inspect/matrix-types.js';
import { Metrics } from '../../src/admin/metrics.js';
import type { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { SnapshotCache } from '../../src/cache/snapshot-cache.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import type { CredentialStore } from '../../src/credentials/credential-store.js';
import type { AdsServer, ConnectionInfo, StreamCredential } from '../../src/server/ads-server.js';
import type { TypeStatus } from '../../src/server/stream-status.js';
import { RESOURCE_TYPES } from '../../src/xds/type-urls.js';
import { TestCa } from './e2e/test-pki.js';
import { authorizationPolicy, loadManifests, mtlsPolicy, serviceEntry, workloadEntry } from './fixtures/index.js';

export const DASHBOARD_MESH = [
  serviceEntry('foo/httpbin'),
  workloadEntry('foo/httpbin', { address: '127.0.1.1' }),
  workloadEntry('foo/sleep', { address: '127.0.1.2' }),
  authorizationPolicy('foo/only-sleep', {
    selector: { matchLabels: { app: 'httpbin' } },
    action: 'ALLOW',
    rules: [{ from: [{ source: { principals: ['cluster.local/ns/foo/sa/sleep'] } }] }],
  }),
  mtlsPolicy('foo/strict', 'STRICT'),
];

export interface HarnessOptions {
  token?: string;
  matrix?: () => PredictedMatrix | undefined;
  /** serve --secrets-dir */
  credentials?: CredentialStore;
}

export async function adminHarness(o: HarnessOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-'));
  const ca = await TestCa.create(dir, 'dashboard test');
  rmSync(dir, { recursive: true, force: true });
  const certPem = ca.certPem;
  const cache = new SnapshotCache();
  const logger = { info() {}, warn() {}, debug() {}, error() {} };
  const metrics = new Metrics();
  const workloadCredentials = {
    rootCertPem: () => certPem,
    certificateFor: async () => ({ certChainPem: certPem, privateKeyPem: 'KEY', serialNumber: '1', notAfter: new Date() }),
    onRotated: () => {},
  };
  const cp = new ControlPlane(cache, workloadCredentials, logger, metrics);
  await cp.applyConfig(loadManifests(DASHBOARD_MESH), 'start');
  const connections: ConnectionInfo[] = [];
  const connect = async (proxyId: string, nack?: string, credential?: StreamCredential) => {
    await cp.proxyConnected(proxyId);
    const snapshot = cache.get(proxyId);
    // Every type accepted at the snapshot's version, but for an optional NACK of listeners.
    const status = (): TypeStatus[] =>
      RESOURCE_TYPES.map((type) => {
        const version = snapshot?.[type].version ?? '';
        const nacked = type === 'listeners' && nack !== undefined;
        return {
          type,
          subscribed: '*',
          sentCount: 1,
          sentVersion: version,
          reconciledVersion: version,
          ...(nacked ? { ackedVersion: 'old', nacked: { version, nonce: '1', message: nack } } : { ackedVersion: version }),
        };
      });
    connections.push({
      streamId: connections.length + 1,
      proxyId,
      protocol: 'sotw',
      node: { id: proxyId } as ConnectionInfo['node'],
      peer: 'x',
      connectedAt: 0,
      status,
      credential,
    });
  };
  const ads = {
    listConnections: () => connections,
    connectionsOf: (id: string) => connections.filter((c) => c.proxyId === id),
    connectedProxies: () => new Set(connections.map((c) => c.proxyId)),
  } as unknown as AdsServer;
  const fakeCa = { info: {}, trustDomain: 'cluster.local' } as unknown as CertificateAuthority;
  // A new admin server over the same control plane, e.g. one that comes back on the port of a closed one.
  const build = () =>
    buildAdminServer({
      controlPlane: cp,
      ads,
      cache,
      metrics,
      ca: fakeCa,
      insecure: true,
      debugToken: o.token,
      matrix: o.matrix,
      credentials: o.credentials,
    });
  return { app: build(), build, cp, connect, certificate: new X509Certificate(certPem) };
}

export type AdminHarness = Awaited<ReturnType<typeof adminHarness>>;
