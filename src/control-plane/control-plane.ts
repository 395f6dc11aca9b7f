// The control plane's state machine: the last good config, a snapshot for each
// connected proxy, and the refreshes that config changes and certificate
// rotations cause. Translation and gRPC live elsewhere; this joins them.
import type { AdminControlPlane, HeldBackSnapshot } from '../admin/admin-server.js';
import type { LoadResult } from '../config/load-config.js';
import { formatIssues } from '../config/diagnostics.js';
import { changedTypes, type ProxySnapshot, SnapshotEncoder } from '../cache/snapshot.js';
import { nextLoopTurn, type TimeSlicer } from '../util/time-slicer.js';
import type { SnapshotCache } from '../cache/snapshot-cache.js';
import { ConsistencyChecker, type DanglingReference, describeDangling } from '../cache/snapshot-consistency.js';
import type { ConfigStatus, FindingSeverity } from '../config/config-status.js';
import { analyzeApplied } from './config-findings.js';
import type { ConfigSet, WorkloadEntry } from '../config/types.js';
import { jwksTimeoutsOf, jwksUrisOf } from '../model/authorization.js';
import { buildMeshModel, type MeshModel } from '../model/mesh-model.js';
import type { Logger } from '../util/logger.js';
import type { Secret } from '../xds/envoy-types/index.js';
import type { ProxyResources } from '../xds/proxy-resources.js';
import { Translator, type TranslatorOptions } from '../translate/translator.js';
import type { CredentialLookup, CredentialReference, TlsCredentialSource } from '../credentials/credential.js';
import { affectedSecretNames, NO_SECRETS_DIRECTORY } from '../credentials/credential-store.js';
import { SECRET_NAMES } from '../model/secret-refs.js';
import { CredentialTracker } from './credential-tracker.js';
import { RefreshQueue } from './refresh-queue.js';
import { resolveProxySecrets, SecretMemo } from './proxy-secrets.js';
import type { WorkloadCredentialSource } from './workload-credentials.js';
import { policiesOnlyChanged, type TranslationInputs } from './translation-reuse.js';

/** Where JWKS documents for RequestAuthentication `jwksUri`s come from (meshlite fetches them; see jwks-fetcher.ts). */
export interface JwksSource {
  /**
   * Watch exactly these URIs; resolves once each has had its first fetch
   * (success or not). `timeouts` (milliseconds by URI) bounds each fetch.
   */
  setUris(uris: Iterable<string>, timeouts?: ReadonlyMap<string, number>): Promise<void>;
  /** The last good document of a URI. */
  current(uri: string): string | undefined;
}

export interface ControlPlaneHooks {
  configApplied?(generation: number, proxies: number, millis: number): void;
  configRejected?(issues: number): void;
  snapshotBuilt?(proxyId: string, changed: readonly string[], millis: number): void;
  /** The findings of `meshlite analyze` on the config just applied, by severity. */
  configAnalyzed?(counts: Readonly<Record<FindingSeverity, number>>): void;
  /** A snapshot was not served: it names resources it does not hold (the proxy keeps its last good one). */
  snapshotInconsistent?(proxyId: string, dangling: readonly DanglingReference[]): void;
}

/** Config errors written into one log line; /debug/configz and `meshlite validate` list more. */
const LOGGED_ERRORS = 20;

const EMPTY: ProxyResources = { proxyId: '', clusters: [], endpoints: [], listeners: [], routes: [], secrets: [], warnings: [] };

export class ControlPlane implements AdminControlPlane {
  /** The last good model with its caches; replaced whole when the model changes. */
  private translator: Translator | undefined;
  /** What the translator's model was built from (undefined: unknown, so the next config builds anew). */
  private translatorInputs: TranslationInputs | undefined;
  private generation = 0;
  private status: ConfigStatus | undefined;
  private readonly connected = new Set<string>();
  /** Connected proxies run by a node agent: their key is made and served on their host, never here. */
  private readonly keysOnNode = new Set<string>();
  /** Encodings of the resources proxies are served, shared between proxies while they share the resources. */
  private readonly encoder = new SnapshotEncoder();
  private readonly checker = new ConsistencyChecker();
  private readonly secretMemo = new SecretMemo();
  private readonly credentialTracker: CredentialTracker;
  private readonly queue: RefreshQueue;
  private readonly warnings = new Map<string, string[]>();
  /** Per connected proxy: every secret name its resources reference. */
  private readonly secretNames = new Map<string, readonly string[]>();
  /** Per connected proxy whose latest snapshot was not served: why. */
  private readonly heldBack = new Map<string, HeldBackSnapshot>();
  /** The last good config as loaded, before auto-registered workloads join it. */
  private loaded: ConfigSet | undefined;
  /** WorkloadEntries agents registered (see auto-registration.ts), as they are under a config. */
  private registered: (config: ConfigSet) => readonly WorkloadEntry[] = () => [];

  constructor(
    private readonly cache: SnapshotCache,
    private readonly credentials: WorkloadCredentialSource,
    private readonly logger: Logger,
    private readonly hooks: ControlPlaneHooks = {},
    /** `credentialName` secrets (meshlite serve --secrets-dir); without it none is served. */
    private readonly tlsCredentials: TlsCredentialSource = NO_SECRETS_DIRECTORY,
    private readonly jwksSource?: JwksSource,
    private readonly translatorOptions: TranslatorOptions = {},
  ) {
    this.credentialTracker = new CredentialTracker(logger);
    this.queue = new RefreshQueue(
      (id, reason, slicer) => this.rebuild(id, reason, slicer),
      (id, err) => this.logger.warn({ proxy: id, err: String(err) }, "building the proxy's snapshot failed; it keeps its previous config"),
    );
    credentials.onRotated((key) => {
      for (const id of this.connected) {
        // A proxy whose agent holds its key never got this certificate.
        if (this.keysOnNode.has(id)) continue;
        const w = this.model?.registry.workload(id);
        if (w && `${w.namespace}/${w.serviceAccount}` === key) void this.refresh(id, 'certificate rotated');
      }
    });
    credentials.onTrustChanged?.(() => {
      for (const id of this.connected) void this.refresh(id, 'trust bundle changed');
    });
  }

  /** Applies a config load: a good one replaces the model and refreshes every connected proxy. */
  async applyConfig(result: LoadResult, reason: string): Promise<void> {
    const now = Date.now();
    if (!result.ok) {
      const generation = this.generation;
      const prior = this.status;
      this.status = {
        state: 'rejected',
        generation,
        loadedAt: prior?.loadedAt ?? 0,
        files: result.files,
        rejectedAt: now,
        issues: result.issues,
        totalIssues: result.totalIssues,
        ...(prior?.findings ? { findings: prior.findings } : {}),
      };
      this.logger.warn(
        {
          reason,
          errors: formatIssues(result.issues.slice(0, LOGGED_ERRORS), result.totalIssues),
          errorCount: result.totalIssues,
          servingGeneration: generation,
        },
        this.model
          ? `rejected the new config (${result.totalIssues} errors); still serving generation ${generation}`
          : `rejected the config (${result.totalIssues} errors); nothing to serve until it is fixed`,
      );
      this.hooks.configRejected?.(result.totalIssues);
      return;
    }
    const jwks = await this.fetchJwks(result.config);
    // The load arrived in one task; building the model is another, with I/O served in between.
    await nextLoopTurn();
    this.loaded = result.config;
    const config = this.withRegistered(result.config);
    const inputs = result.kindDigests && { kindDigests: result.kindDigests, registered: JSON.stringify(this.registered(result.config)) };
    // Services, workloads and MeshConfig read from the very same documents: the registry built from them stands.
    const previous = policiesOnlyChanged(this.translatorInputs, inputs) ? this.translator : undefined;
    const model = buildMeshModel(config, jwks, previous?.model.registry);
    this.translator = new Translator(model, this.translatorOptions, previous);
    this.translatorInputs = inputs;
    const started = performance.now();
    await this.refreshAll(reason);
    const millis = performance.now() - started;
    // A load from the worker comes analyzed; otherwise proxies have their config first and the advice comes a loop turn later.
    if (!result.findings) await nextLoopTurn();
    const findings = analyzeApplied(result.findings, config, model, this.logger, this.hooks);
    // Published only now, so "generation N reached" also means every snapshot reflects it.
    this.generation += 1;
    this.status = { state: 'ok', generation: this.generation, loadedAt: now, files: result.files, findings };
    this.logger.info(
      { reason, generation: this.generation, proxies: this.connected.size, millis: Math.round(millis) },
      `applied config generation ${this.generation} to ${this.connected.size} connected proxies`,
    );
    this.hooks.configApplied?.(this.generation, this.connected.size, millis);
  }

  /** The JWKS of every jwksUri the config names (fetched before the config is applied, so no proxy sees a placeholder first). */
  private async fetchJwks(config: ConfigSet): Promise<ReadonlyMap<string, string>> {
    const uris = jwksUrisOf(config);
    if (!this.jwksSource) return new Map();
    await this.jwksSource.setUris(uris, jwksTimeoutsOf(config));
    const found = new Map<string, string>();
    for (const uri of uris) {
      const text = this.jwksSource.current(uri);
      if (text !== undefined) found.set(uri, text);
      else this.logger.warn({ jwksUri: uri }, 'JWKS not available; tokens of its issuer are rejected (401) until it is');
    }
    return found;
  }

  /**
   * A fetched JWKS document changed (or arrived late): the model takes it and
   * exactly the connected proxies with a RequestAuthentication naming it are refreshed.
   */
  async jwksChanged(uri: string, text: string): Promise<string[]> {
    const model = this.model;
    if (!model || model.jwks.get(uri) === text || !model.authz.jwksUris.includes(uri)) return [];
    this.translator = new Translator({ ...model, jwks: new Map([...model.jwks, [uri, text]]) }, this.translatorOptions);
    this.translatorInputs = undefined;
    const affected = [...this.connected]
      .filter((id) => {
        const w = model.registry.workload(id);
        return (
          w !== undefined &&
          model.authz.for(w).requestAuthentications.some((r) => r.spec.jwtRules.some((j) => j.jwks === undefined && j.jwksUri === uri))
        );
      })
      .sort();
    this.logger.info({ jwksUri: uri, proxies: affected.length }, 'JWKS changed; refreshing the proxies that verify its tokens');
    await Promise.all(affected.map((id) => this.refresh(id, `JWKS changed: ${uri}`)));
    return affected;
  }

  /** Where auto-registered WorkloadEntries come from; each model built from now on includes them. */
  useRegisteredWorkloads(source: (config: ConfigSet) => readonly WorkloadEntry[]): void {
    this.registered = source;
  }

  /** The last good config as loaded (without auto-registered workloads). */
  get loadedConfig(): ConfigSet | undefined {
    return this.loaded;
  }

  /** Auto-registered workloads changed (joined, left, health): rebuilds the model and refreshes every connected proxy. */
  async registrationsChanged(reason: string): Promise<void> {
    const model = this.model;
    if (!model || !this.loaded) return;
    this.translator = new Translator(buildMeshModel(this.withRegistered(this.loaded), model.jwks), this.translatorOptions);
    this.translatorInputs = undefined;
    await this.refreshAll(reason);
  }

  /** Every connected proxy, under a new model: encodings the new snapshots no longer use are dropped after. */
  private async refreshAll(reason: string): Promise<void> {
    this.encoder.startRound();
    await Promise.all([...this.connected].map((id) => this.refresh(id, reason)));
    this.encoder.endRound();
  }

  private withRegistered(config: ConfigSet): ConfigSet {
    const extra = this.registered(config);
    return extra.length === 0 ? config : { ...config, workloadEntries: [...config.workloadEntries, ...extra] };
  }

  private get model(): MeshModel | undefined {
    return this.translator?.model;
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

  /** `keysOnNode`: a node agent holds this proxy's key and serves its `default` secret; meshlite makes none. */
  proxyConnected(proxyId: string, options: { keysOnNode?: boolean } = {}): Promise<void> {
    this.connected.add(proxyId);
    if (options.keysOnNode) this.keysOnNode.add(proxyId);
    else this.keysOnNode.delete(proxyId);
    return this.refresh(proxyId, 'proxy connected');
  }

  proxyDisconnected(proxyId: string): void {
    this.connected.delete(proxyId);
    this.keysOnNode.delete(proxyId);
    this.cache.delete(proxyId);
    this.warnings.delete(proxyId);
    this.secretNames.delete(proxyId);
    this.credentialTracker.forget(proxyId);
    this.heldBack.delete(proxyId);
  }

  /**
   * Secrets of the secrets directory were added, removed or changed: refreshes
   * exactly the connected proxies whose resources reference them. Resolves to those proxies.
   */
  async credentialsChanged(names: readonly string[]): Promise<string[]> {
    const affected = new Set(names.flatMap(affectedSecretNames));
    const proxies = [...this.connected].filter((id) => (this.secretNames.get(id) ?? []).some((n) => affected.has(n))).sort();
    await Promise.all(proxies.map((id) => this.refresh(id, `credentials changed: ${names.join(', ')}`)));
    return proxies;
  }

  /** Every `kubernetes://` reference of every connected proxy, and whether it is served. */
  credentialReferences(): CredentialReference[] {
    return this.credentialTracker.references();
  }

  /** The distinct `kubernetes://` names connected proxies reference that are not served. */
  missingCredentials(): string[] {
    return this.credentialTracker.missing();
  }

  connectedProxies(): string[] {
    return [...this.connected].sort();
  }

  proxyWarnings(proxyId: string): readonly string[] {
    return this.warnings.get(proxyId) ?? [];
  }

  secretsOnNode(proxyId: string): readonly string[] {
    return this.keysOnNode.has(proxyId) ? (this.secretNames.get(proxyId) ?? []).filter((n) => n === SECRET_NAMES.workloadCert) : [];
  }

  heldBackSnapshot(proxyId: string): HeldBackSnapshot | undefined {
    return this.heldBack.get(proxyId);
  }

  /** Rebuilds one proxy's snapshot (queued: refreshes never overlap, and a burst of them yields to the event loop). */
  refresh(proxyId: string, reason: string): Promise<void> {
    return this.queue.enqueue(proxyId, reason);
  }

  /** Resolves once every queued refresh finished (tests, shutdown). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async rebuild(proxyId: string, reason: string, slicer: TimeSlicer): Promise<void> {
    const translator = this.translator;
    if (!translator || !this.connected.has(proxyId)) return;
    const started = performance.now();
    let waited = 0;
    const translated = translator.translate(proxyId);
    let resources = EMPTY;
    let secrets: Secret[] = [];
    let unserved: ReadonlySet<string> = new Set();
    let credentials = new Map<string, CredentialLookup>();
    if (translated.ok) {
      resources = translated.resources;
      const resolved = await resolveProxySecrets(resources.secrets, translated.proxy, {
        keysOnNode: this.keysOnNode.has(proxyId),
        workload: this.credentials,
        tls: this.tlsCredentials,
        memo: this.secretMemo,
      });
      ({ secrets, unserved, credentials } = resolved);
      // Time spent waiting for the CA (or behind other rebuilds) is not build work: keep it out of the metric.
      waited = resolved.waitedMs;
    } else {
      // The workload left the config: it gets nothing (fail closed) until it is back.
      this.logger.warn({ proxy: proxyId, error: translated.error }, 'connected proxy has no config; serving it an empty config');
    }
    // Issuing a certificate awaited: the proxy may have gone meanwhile.
    if (!this.connected.has(proxyId)) return;
    this.warnings.set(proxyId, resources.warnings);
    this.secretNames.set(
      proxyId,
      resources.secrets.map((s) => s.name),
    );
    this.credentialTracker.note(proxyId, credentials);
    const dangling = this.checker.dangling({ ...resources, secrets }, unserved);
    if (dangling.length > 0) return this.holdBack(proxyId, reason, dangling);
    this.heldBack.delete(proxyId);
    // Encoding is build work; the pauses between its slices are not.
    const pause = () => {
      const due = slicer.due();
      if (!due) return undefined;
      const pausedAt = performance.now();
      return due.then(() => void (waited += performance.now() - pausedAt));
    };
    await this.encoder.encodeInSlices(resources, secrets, pause);
    if (!this.connected.has(proxyId)) return;
    const before = this.cache.get(proxyId);
    const snapshot: ProxySnapshot = this.encoder.build(resources, secrets);
    const changed = changedTypes(before, snapshot);
    this.cache.set(proxyId, snapshot);
    const millis = performance.now() - started - waited;
    if (changed.length > 0)
      this.logger.debug({ proxy: proxyId, reason, changed, millis: Math.round(millis * 10) / 10 }, "rebuilt the proxy's snapshot");
    this.hooks.snapshotBuilt?.(proxyId, changed, millis);
  }

  /** An inconsistent snapshot is not served: Envoy would wait on what it lacks, or answer 503, without a word. */
  private holdBack(proxyId: string, reason: string, dangling: readonly DanglingReference[]): void {
    const names = dangling.map(describeDangling);
    this.heldBack.set(proxyId, { since: new Date().toISOString(), reason, dangling: names });
    const log = this.logger.error ?? this.logger.warn;
    log.call(
      this.logger,
      { proxy: proxyId, reason, dangling: names },
      'snapshot not served: it names resources it does not hold; the proxy keeps its last good snapshot (if any)',
    );
    this.hooks.snapshotInconsistent?.(proxyId, dangling);
  }
}
