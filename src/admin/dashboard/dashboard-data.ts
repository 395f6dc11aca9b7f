// Everything the dashboard shows, as plain data, read from the same sources
// as the JSON /debug endpoints: the config status, the ADS connections and
// the snapshot cache, the secrets directory, the current model.
import { X509Certificate } from 'node:crypto';
import type { SnapshotCache } from '../../cache/snapshot-cache.js';
import type { ConfigStatus } from '../../config/config-status.js';
import { formatIssues } from '../../config/diagnostics.js';
import { credentialReport } from '../../credentials/credential-report.js';
import type { CredentialReference } from '../../credentials/credential.js';
import type { CredentialStore } from '../../credentials/credential-store.js';
import type { MeshModel } from '../../model/mesh-model.js';
import { proxyKind } from '../../model/proxy-kind.js';
import type { AdsServer } from '../../server/ads-server.js';
import { proxySync, type SyncState } from '../sync-status.js';
import type { PredictedMatrix } from '../../inspect/matrix-types.js';
import { type PolicySelection, policySelections } from './policy-selection.js';

/** What the dashboard reads; AdminDeps provides all of it. */
export interface DashboardSources {
  controlPlane: {
    readonly configStatus: ConfigStatus | undefined;
    readonly currentModel: MeshModel | undefined;
    credentialReferences(): CredentialReference[];
  };
  ads: Pick<AdsServer, 'listConnections'>;
  cache: SnapshotCache;
  credentials?: CredentialStore;
  store?(): unknown;
  matrix?(): PredictedMatrix | undefined;
}

export interface DashboardProxy {
  id: string;
  kind: string;
  connected: boolean;
  synced: boolean;
  types: { type: string; state: SyncState; nack?: string }[];
}

export interface DashboardCertificate {
  proxy: string;
  /** `sds`: the workload certificate meshlite serves it; `ads client`: the certificate its stream authenticated with. */
  use: 'sds' | 'ads client';
  serial: string;
  notAfter: string;
}

export interface DashboardCredential {
  name: string;
  notAfter?: string;
  referencedBy: string[];
  problems: string[];
}

export interface DashboardConfig {
  state: 'ok' | 'rejected' | 'not loaded';
  generation: number;
  loadedAt?: string;
  files: number;
  /** Each `file:line: message`, when the files were rejected. */
  errors: string[];
  rejectedAt?: string;
  store?: unknown;
}

export interface DashboardData {
  config: DashboardConfig;
  proxies: DashboardProxy[];
  certificates: DashboardCertificate[];
  credentials: DashboardCredential[];
  /** Undefined when this meshlite has no predictor wired in or no config. */
  matrix?: PredictedMatrix;
  policies: PolicySelection[];
}

/**
 * What one admin server keeps between polls so an unchanged mesh costs little:
 * the policy rows of the last model, and each served certificate's reading
 * (keyed by the encoded resource, which a new snapshot replaces).
 */
export interface DashboardMemo {
  policies?: { model: MeshModel; rows: PolicySelection[] };
  certificates: WeakMap<object, { serial: string; notAfter: string } | null>;
}

export const newDashboardMemo = (): DashboardMemo => ({ certificates: new WeakMap() });

export function dashboardData(s: DashboardSources, memo: DashboardMemo = newDashboardMemo()): DashboardData {
  const model = s.controlPlane.currentModel;
  const connections = s.ads.listConnections();
  const connected = new Set(connections.map((c) => c.proxyId));
  const kinds = new Map<string, string>();
  for (const w of model?.registry.workloads ?? []) {
    const kind = model ? proxyKind(model, w) : undefined;
    if (kind) kinds.set(w.id, kind);
  }
  const ids = [...new Set([...kinds.keys(), ...connected])].sort();
  const proxies = ids.map((id): DashboardProxy => {
    const sync = connected.has(id) ? proxySync(id, connections, s.cache) : undefined;
    return {
      id,
      kind: kinds.get(id) ?? 'unknown (not in the config)',
      connected: connected.has(id),
      synced: sync?.synced ?? false,
      types: (sync?.types ?? []).map((t) => ({ type: t.type, state: t.state, ...(t.nacked ? { nack: t.nacked.message } : {}) })),
    };
  });
  const certificates: DashboardCertificate[] = [];
  for (const id of [...connected].sort()) {
    const served = servedWorkloadCertificate(s.cache, id, memo.certificates);
    if (served) certificates.push({ proxy: id, use: 'sds', ...served });
    const stream = connections.filter((c) => c.proxyId === id).at(-1)?.credential;
    if (stream?.kind === 'certificate' && stream.id !== undefined && stream.expiresAt !== undefined)
      certificates.push({ proxy: id, use: 'ads client', serial: stream.id, notAfter: new Date(stream.expiresAt).toISOString() });
  }
  const report = credentialReport(s.credentials?.set, s.controlPlane.credentialReferences());
  const credentials = report.credentials.map(
    (c): DashboardCredential => ({
      name: c.name,
      ...(c.notAfter ? { notAfter: c.notAfter } : {}),
      referencedBy: [...new Set(Object.values(c.referencedBy).flat())].sort(),
      problems: [...c.errors, ...c.warnings],
    }),
  );
  const matrix = model ? s.matrix?.() : undefined;
  return {
    config: configView(s.controlPlane.configStatus, s.store?.()),
    proxies,
    certificates,
    credentials,
    ...(matrix ? { matrix } : {}),
    policies: model ? policiesOf(model, memo) : [],
  };
}

function policiesOf(model: MeshModel, memo: DashboardMemo): PolicySelection[] {
  if (memo.policies?.model !== model) memo.policies = { model, rows: policySelections(model) };
  return memo.policies.rows;
}

function configView(status: ConfigStatus | undefined, store: unknown): DashboardConfig {
  const withStore = store === undefined ? {} : { store };
  if (!status) return { state: 'not loaded', generation: 0, files: 0, errors: [], ...withStore };
  const base = { generation: status.generation, loadedAt: new Date(status.loadedAt).toISOString(), files: status.files.length };
  if (status.state === 'ok') return { state: 'ok', ...base, errors: [], ...withStore };
  return {
    state: 'rejected',
    ...base,
    errors: formatIssues(status.issues, status.totalIssues),
    rejectedAt: new Date(status.rejectedAt).toISOString(),
    ...withStore,
  };
}

/** The serial and expiry of the workload certificate in the proxy's snapshot, read from the served PEM. */
function servedWorkloadCertificate(
  cache: SnapshotCache,
  proxy: string,
  read: DashboardMemo['certificates'],
): { serial: string; notAfter: string } | undefined {
  for (const secret of cache.get(proxy)?.secrets.resources.values() ?? []) {
    // Credential certificates (kubernetes://...) are listed with the secrets directory; this is the proxy's own.
    if (secret.name.startsWith('kubernetes://')) continue;
    let reading = read.get(secret);
    if (reading === undefined) read.set(secret, (reading = certificateReading(secret.json)));
    if (reading) return reading;
  }
  return undefined;
}

function certificateReading(json: unknown): { serial: string; notAfter: string } | null {
  const chain = (json as { tls_certificate?: { certificate_chain?: { inline_string?: string } } }).tls_certificate?.certificate_chain
    ?.inline_string;
  if (typeof chain !== 'string' || !chain.includes('BEGIN CERTIFICATE')) return null;
  try {
    const cert = new X509Certificate(chain);
    return { serial: cert.serialNumber.toLowerCase(), notAfter: new Date(cert.validTo).toISOString() };
  } catch {
    // Not parseable: shown as no certificate rather than failing the page.
    return null;
  }
}
