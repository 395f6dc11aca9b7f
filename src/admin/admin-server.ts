// The admin HTTP server (fastify), on its own port: health, readiness,
// Prometheus metrics, and the /debug views of what meshlite serves. With a
// debug token, everything but /healthz, /ready, /metrics and the dashboard's
// empty page needs it.
import { keysOnNode } from '../server/node-metadata.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { SnapshotCache } from '../cache/snapshot-cache.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import { formatIssues } from '../config/diagnostics.js';
import type { ConfigFinding, ConfigStatus, FindingSeverity } from '../config/config-status.js';
import { credentialReport } from '../credentials/credential-report.js';
import type { CredentialReference } from '../credentials/credential.js';
import type { CredentialStore } from '../credentials/credential-store.js';
import type { MeshModel } from '../model/mesh-model.js';
import { tlsCheck } from '../model/tls-check.js';
import type { AdsServer } from '../server/ads-server.js';
import type { JsonObject } from '../xds/common.js';
import { canonicalJson } from '../proto/proto-json.js';
import { authorizationReport } from '../translate/authorization-report.js';
import { buildConfigDump } from '../xds/config-dump.js';
import { meshProxies } from '../translate/translator.js';
import { CONFIG_DUMP_TYPE } from '../translate/proxy-config-dump.js';
import { RESOURCE_TYPES } from '../xds/type-urls.js';
import { type AdminRootRotation, registerCaRoutes } from './ca-routes.js';
import { registerDashboardRoutes, registerPrettyJson } from './dashboard/dashboard-routes.js';
import type { PredictedMatrix } from '../inspect/matrix-types.js';
import type { Metrics } from './metrics.js';
import type { RegistryStatus } from './registry-status.js';
import type { StoreStatus } from './store-status.js';
import { proxyFacts } from './proxy-facts.js';
import { allProxySync, type ProxySync, proxySync } from './sync-status.js';

/** The control plane as the admin endpoints read it. */
export interface AdminControlPlane {
  readonly configStatus: ConfigStatus | undefined;
  readonly ready: boolean;
  readonly currentModel: MeshModel | undefined;
  proxyWarnings(proxyId: string): readonly string[];
  credentialReferences(): CredentialReference[];
  heldBackSnapshot(proxyId: string): HeldBackSnapshot | undefined;
  /** Secret names a node agent serves to this proxy itself (its key and certificate): named, never held here. */
  secretsOnNode(proxyId: string): readonly string[];
}

/** A proxy's latest snapshot was not served because it names resources it does not hold (cache/snapshot-consistency.ts). */
export interface HeldBackSnapshot {
  since: string;
  /** What caused the rebuild. */
  reason: string;
  dangling: string[];
}

export interface AdminDeps {
  controlPlane: AdminControlPlane;
  ads: AdsServer;
  cache: SnapshotCache;
  metrics: Metrics;
  ca: CertificateAuthority;
  insecure: boolean;
  /** The secrets directory (meshlite serve --secrets-dir), when configured. */
  credentials?: CredentialStore;
  /** A change that shrinks or removes config files, held back until the files settle. */
  pendingSettle?(): { files: readonly { file: string; change: string }[]; until: number } | undefined;
  /** When set, every endpoint but /healthz, /ready and /metrics requires `Authorization: Bearer <debugToken>`. */
  debugToken?: string;
  /** The CA root rotation (POST /ca/rotate-root, /debug/ca). */
  rootRotation?: AdminRootRotation;
  /** The store config is read from (serve --store); absent in file mode. */
  store?(): StoreStatus;
  /** Store mode: every replica and where each proxy is connected, read from the store (never rejects). */
  meshView?(): Promise<unknown>;
  /** Workloads agents registered from WorkloadGroups (GET /debug/registrationz). */
  registrations?(): readonly unknown[];
  /** The registries polled for services and workloads (serve --registry); absent when none. */
  registries?(): readonly RegistryStatus[];
  /** The predicted reachability matrix of the current config, for the dashboard; absent: no prediction shown. */
  matrix?(): PredictedMatrix | undefined;
}

// `/` is the dashboard's page: with a token it is an empty shell whose data comes from /debug routes that check it.
const OPEN_ENDPOINTS = new Set(['/healthz', '/ready', '/metrics', '/']);

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Compares digests (equal length) in constant time, so the comparison leaks nothing about the token. */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  return m !== null && timingSafeEqual(digest(m[1]!.trim()), expected);
}

function requireDebugToken(app: FastifyInstance, token: string): void {
  const expected = digest(token);
  app.addHook('onRequest', async (req, reply) => {
    // The matched route, not the raw URL: no spelling of a /debug path gets around this, and unknown paths need the token too.
    const route = req.routeOptions.url;
    if (route !== undefined && OPEN_ENDPOINTS.has(route)) return;
    if (bearerMatches(req.headers.authorization, expected)) return;
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="meshlite-admin"')
      .send({ error: 'this endpoint requires "Authorization: Bearer <token>" with the token of meshlite serve --admin-token-file' });
  });
}

export function buildAdminServer(deps: AdminDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  const { controlPlane, ads, cache, metrics } = deps;
  if (deps.debugToken !== undefined) requireDebugToken(app, deps.debugToken);
  registerPrettyJson(app);

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/ready', async (_req, reply) => {
    const status = controlPlane.configStatus;
    const ready = controlPlane.ready;
    const errors = status?.state === 'rejected' ? status.totalIssues : 0;
    return reply.code(ready ? 200 : 503).send({
      ready,
      generation: status?.generation ?? 0,
      config: status?.state ?? 'not loaded',
      errors,
      ...(deps.store ? { store: deps.store() } : {}),
      ...(deps.registries ? { registries: deps.registries() } : {}),
    });
  });

  app.get('/metrics', async (_req, reply) => {
    metrics.connectedProxies.set(ads.connectedProxies().size);
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/debug/syncz', async (req, reply) => {
    const { proxy } = req.query as { proxy?: string };
    const withHeldBack = (sync: ProxySync) => {
      const heldBack = controlPlane.heldBackSnapshot(sync.proxy);
      const facts = proxyFacts(sync.proxy, controlPlane.currentModel, cache, ads.connectionsOf(sync.proxy).at(-1)?.credential);
      return heldBack ? { ...sync, ...facts, heldBack } : { ...sync, ...facts };
    };
    if (proxy === undefined) {
      const proxies = allProxySync(ads.listConnections(), cache).map(withHeldBack);
      // In store mode this replica's proxies come with the mesh-wide view.
      return deps.meshView ? { proxies, mesh: await deps.meshView() } : proxies;
    }
    const mine = ads.connectionsOf(proxy);
    if (mine.length === 0)
      return reply.code(404).send({ error: `proxy "${proxy}" is not connected`, connected: [...ads.connectedProxies()].sort() });
    return withHeldBack(proxySync(proxy, mine, cache));
  });

  app.get('/debug/registrationz', async () => deps.registrations?.() ?? []);

  app.get('/debug/adsz', async () =>
    ads.listConnections().map((c) => ({
      proxy: c.proxyId,
      stream: c.streamId,
      protocol: c.protocol,
      peer: c.peer,
      node: { id: c.node.id, cluster: c.node.cluster, userAgent: c.node.userAgent, metadata: c.node.metadata },
      connectedAt: new Date(c.connectedAt).toISOString(),
      token:
        c.credential && c.credential.kind !== 'certificate'
          ? { id: c.credential.id ?? null, issuedAt: iso(c.credential.issuedAt), expiresAt: iso(c.credential.expiresAt) }
          : null,
      certificate:
        c.credential?.kind === 'certificate' ? { serialNumber: c.credential.id ?? null, expiresAt: iso(c.credential.expiresAt) } : null,
      keysOnNode: keysOnNode(c.node),
      types: c.status(),
      warnings: controlPlane.proxyWarnings(c.proxyId),
    })),
  );

  app.get('/debug/config_dump', async (req, reply) => {
    const { proxy } = req.query as { proxy?: string };
    if (!proxy) return reply.code(400).send({ error: 'query parameter proxy=<name>.<namespace> is required' });
    const snapshot = cache.get(proxy);
    if (!snapshot)
      return reply
        .code(404)
        .send({ error: `no snapshot for "${proxy}" (is it connected?)`, connected: [...ads.connectedProxies()].sort() });
    const jsons = (type: (typeof RESOURCE_TYPES)[number]): JsonObject[] =>
      [...snapshot[type].resources.values()].sort((a, b) => a.name.localeCompare(b.name)).map((r) => r.json);
    const resources = {
      clusters: jsons('clusters'),
      endpoints: jsons('endpoints'),
      listeners: jsons('listeners'),
      routes: jsons('routes'),
    };
    const versions = Object.fromEntries(RESOURCE_TYPES.map((t) => [t, snapshot[t].version]));
    // Named so that `meshlite diff` matches what the Envoy holds; the material stays on the proxy's host.
    const onNode = controlPlane.secretsOnNode(proxy).map((name) => ({ name }) as JsonObject);
    const secrets = [...jsons('secrets'), ...onNode].sort((a, b) => String(a.name).localeCompare(String(b.name)));
    return canonicalJson(CONFIG_DUMP_TYPE, buildConfigDump(resources, secrets, { versions }));
  });

  app.get('/debug/authenticationz', async (req, reply) => {
    const { proxy } = req.query as { proxy?: string };
    const model = controlPlane.currentModel;
    if (!model) return reply.code(503).send({ error: 'no config loaded' });
    const proxies = proxy ? [proxy] : model.registry.workloads.filter((w) => w.sidecar).map((w) => w.id);
    const out: Record<string, unknown> = {};
    for (const id of proxies) {
      const rows = tlsCheck(model, id);
      if (!rows) return reply.code(404).send({ error: `no workload "${id}"` });
      out[id] = rows.map((r) => ({ ...r, TLS_conflict_status: r.status }));
    }
    return out;
  });

  app.get('/debug/authorizationz', async (req, reply) => {
    const { proxy } = req.query as { proxy?: string };
    const model = controlPlane.currentModel;
    if (!model) return reply.code(503).send({ error: 'no config loaded' });
    const proxies = proxy ? [proxy] : meshProxies(model).map((p) => p.workload.id);
    const out: Record<string, unknown> = {};
    for (const id of proxies) {
      const result = authorizationReport(model, id);
      if (!result.ok) return reply.code(404).send({ error: result.error });
      out[id] = result.report;
    }
    return out;
  });

  app.get('/debug/configz', async () => {
    const status = controlPlane.configStatus;
    const settle = deps.pendingSettle?.();
    const waiting = {
      ...(settle && {
        waitingToSettle: { files: settle.files.map((f) => `${f.file} (${f.change})`), until: new Date(settle.until).toISOString() },
      }),
      ...(deps.store ? { source: 'store', store: deps.store() } : {}),
    };
    const where = deps.store ? 'in the store' : 'on disk';
    if (!status) return { state: 'not loaded', ...waiting };
    if (status.state === 'ok') return { ...status, loadedAt: new Date(status.loadedAt).toISOString(), ...findingsView(status), ...waiting };
    return {
      state: 'rejected',
      servingGeneration: status.generation,
      message:
        status.generation > 0
          ? `the config ${where} is invalid; still serving the last good config`
          : `the config ${where} is invalid; nothing is served yet`,
      rejectedAt: new Date(status.rejectedAt).toISOString(),
      errorCount: status.totalIssues,
      errors: formatIssues(status.issues, status.totalIssues),
      ...findingsView(status),
      ...waiting,
    };
  });

  // Every credential of the secrets directory and every referenced one that is not served; never key material.
  app.get('/debug/credentialz', async () => credentialReport(deps.credentials?.set, controlPlane.credentialReferences()));

  registerCaRoutes(app, deps);
  registerDashboardRoutes(app, deps);

  return app;
}

/** The analyze findings of the config served, and how many of each severity (meshlite analyze explains each code). */
function findingsView(status: ConfigStatus): {
  findings: readonly ConfigFinding[];
  findingCounts: Record<FindingSeverity, number>;
  findingsNotListed?: number;
} {
  const findings = status.findings ?? [];
  const findingCounts: Record<FindingSeverity, number> = { Error: 0, Warning: 0, Info: 0 };
  for (const f of findings) findingCounts[f.severity] += 1;
  if (findings.length <= LISTED_FINDINGS) return { findings, findingCounts };
  return { findings: findings.slice(0, LISTED_FINDINGS), findingCounts, findingsNotListed: findings.length - LISTED_FINDINGS };
}

/** A config with a systematic mistake can have thousands of findings: the page lists these many (all are counted). */
const LISTED_FINDINGS = 500;

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
