// The control plane's state machine: the last good config, a snapshot for each
// connected proxy, and the refreshes that config changes and certificate
// rotations cause. Translation and gRPC live elsewhere; this joins them.
import type { LoadResult } from '../config/load-config.js';
import { formatIssue } from '../config/diagnostics.js';
import { buildSnapshot, changedTypes, type ProxySnapshot } from '../cache/snapshot.js';
import type { SnapshotCache } from '../cache/snapshot-cache.js';
import { buildMeshModel, type MeshModel } from '../model/mesh-model.js';
import type { Logger } from '../server/ads-server.js';
import type { JsonObject } from '../xds/common.js';
import { translateProxy, type ProxyResources } from '../xds/proxy-resources.js';
import { translateProxyless } from '../xds/proxyless-translate.js';
import { isProxylessWorkload } from '../xds/proxyless-workload.js';
import { buildSecret, type SecretMaterial } from '../xds/secret.js';
import type { ConfigStatus } from './config-watcher.js';
import type { WorkloadCredentialSource, WorkloadKeyPair } from './workload-credentials.js';

export interface ControlPlaneHooks {
  configApplied?(generation: number, proxies: number, millis: number): void;
  configRejected?(issues: number): void;
  snapshotBuilt?(proxyId: string, changed: readonly string[], millis: number): void;
}

const EMPTY: ProxyResources = { proxyId: '', clusters: [], endpoints: [], listeners: [], routes: [], secretNames: [], warnings: [] };

export class ControlPlane {
  private model: MeshModel | undefined;
  private generation = 0;
  private status: ConfigStatus | undefined;
  private readonly connected = new Set<string>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly warnings = new Map<string, string[]>();

  constructor(
    private readonly cache: SnapshotCache,
    private readonly credentials: WorkloadCredentialSource,
    private readonly logger: Logger,
    private readonly hooks: ControlPlaneHooks = {},
  ) {
    credentials.onRotated((key) => {
      for (const id of this.connected) {
        const w = this.model?.registry.workload(id);
        if (w && `${w.namespace}/${w.serviceAccount}` === key) void this.refresh(id, 'certificate rotated');
      }
    });
  }

  /** Applies a config load: a good one replaces the model and refreshes every connected proxy. */
  async applyConfig(result: LoadResult, reason: string): Promise<void> {
    const now = Date.now();
    if (!result.ok) {
      const generation = this.generation;
      const prior = this.status;
      this.status = { state: 'rejected', generation, loadedAt: prior?.loadedAt ?? 0, files: result.files, rejectedAt: now, issues: result.issues };
      this.logger.warn(
        { reason, errors: result.issues.map(formatIssue), servingGeneration: generation },
        this.model ? 'config rejected; still serving the last good config' : 'config rejected; nothing to serve yet',
      );
      this.hooks.configRejected?.(result.issues.length);
      return;
    }
    this.model = buildMeshModel(result.config);
    const started = performance.now();
    await Promise.all([...this.connected].map((id) => this.refresh(id, reason)));
    // Published only now, so "generation N reached" also means every snapshot reflects it.
    this.generation += 1;
    this.status = { state: 'ok', generation: this.generation, loadedAt: now, files: result.files };
    const millis = performance.now() - started;
    this.logger.info({ reason, generation: this.generation, proxies: this.connected.size, millis: Math.round(millis) }, 'config applied');
    this.hooks.configApplied?.(this.generation, this.connected.size, millis);
  }

  get currentModel(): MeshModel | undefined {
    return this.model;
  }

  get configStatus(): ConfigStatus | undefined {
    return this.status;
  }

  get ready(): boolean {
    return this.model !== undefined;
  }

  proxyConnected(proxyId: string): Promise<void> {
    this.connected.add(proxyId);
    return this.refresh(proxyId, 'proxy connected');
  }

  proxyDisconnected(proxyId: string): void {
    this.connected.delete(proxyId);
    this.cache.delete(proxyId);
    this.warnings.delete(proxyId);
  }

  connectedProxies(): string[] {
    return [...this.connected].sort();
  }

  proxyWarnings(proxyId: string): readonly string[] {
    return this.warnings.get(proxyId) ?? [];
  }

  /** Rebuilds one proxy's snapshot; refreshes of one proxy never overlap or reorder. */
  refresh(proxyId: string, reason: string): Promise<void> {
    const previous = this.chains.get(proxyId) ?? Promise.resolve();
    const next = previous.then(() => this.rebuild(proxyId, reason)).catch((err) => this.logger.warn({ proxy: proxyId, err: String(err) }, 'snapshot build failed; proxy keeps its previous config'));
    this.chains.set(proxyId, next);
    void next.finally(() => {
      if (this.chains.get(proxyId) === next) this.chains.delete(proxyId);
    });
    return next;
  }

  /** Resolves once every queued refresh finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  private async rebuild(proxyId: string, reason: string): Promise<void> {
    if (!this.model || !this.connected.has(proxyId)) return;
    const started = performance.now();
    // Proxyless gRPC workloads (annotation proxyless.meshlite.io/grpc) get api listeners and EDS, not sidecar config.
    const proxyless = isProxylessWorkload(this.model.registry.workload(proxyId));
    const translated = proxyless ? translateProxyless(this.model, proxyId) : translateProxy(this.model, proxyId);
    let resources = EMPTY;
    let secrets: JsonObject[] = [];
    if (translated.ok) {
      resources = translated.resources;
      const proxy = translated.view.proxy;
      const pair = resources.secretNames.includes('default') ? await this.credentials.certificateFor(proxy) : undefined;
      const material = secretMaterial(pair, this.credentials.rootCertPem());
      secrets = resources.secretNames.map((name) => buildSecret(name, material)).filter((s): s is JsonObject => s !== undefined);
    } else {
      // The workload left the config: it gets nothing (fail closed) until it is back.
      this.logger.warn({ proxy: proxyId, error: translated.error }, 'connected proxy has no config; serving it an empty config');
    }
    // Issuing a certificate awaited: the proxy may have gone meanwhile.
    if (!this.connected.has(proxyId)) return;
    this.warnings.set(proxyId, resources.warnings);
    const before = this.cache.get(proxyId);
    const snapshot: ProxySnapshot = buildSnapshot(resources, secrets);
    const changed = changedTypes(before, snapshot);
    this.cache.set(proxyId, snapshot);
    const millis = performance.now() - started;
    if (changed.length > 0) this.logger.debug({ proxy: proxyId, reason, changed, millis: Math.round(millis * 10) / 10 }, 'snapshot updated');
    this.hooks.snapshotBuilt?.(proxyId, changed, millis);
  }
}

function secretMaterial(pair: WorkloadKeyPair | undefined, root: string): SecretMaterial {
  return {
    workloadCertificate: () => (pair ? { certChainPem: pair.certChainPem, privateKeyPem: pair.privateKeyPem } : undefined),
    rootCertificates: () => root,
  };
}
