// Drives a CA root rotation under traffic. The CA side (src/ca/root-rotation.ts)
// holds the phase and applies it; this watches what the phases wait for and
// acts on each change: trust-both ends once every connected proxy accepted a
// ROOTCA holding the new root (or at the phase timeout); signing-new re-issues
// the direct-mode certificates and meshlite's own ADS certificate (served
// with the cross-signed certificate, so Envoys that pin the old root still
// verify meshlite) and ends once no certificate under the old root is live.
// Every change of the trust bundle also becomes the ADS listener's client CAs.
import { Counter, Gauge, type Registry } from 'prom-client';
import { spiffeIdOf } from '../ca/identity.js';
import type { LedgerEntry } from '../ca/issued-ledger.js';
import type { RootRotation } from '../ca/root-rotation.js';
import { beginRefusal, isRotating, nextPhase, phaseGaugeValue } from '../ca/root-rotation-phase.js';
import type { WorkloadCertificateCache } from '../ca/rotation.js';
import type { AdminRootRotation, RotateRootOutcome, RotateRootRequest } from '../admin/ca-routes.js';
import { proxySync } from '../admin/sync-status.js';
import type { SnapshotCache } from '../cache/snapshot-cache.js';
import type { MeshModel } from '../model/mesh-model.js';
import { ROOT_CA } from '../model/secret-refs.js';
import type { AdsTls } from '../server/ads-listener.js';
import type { AdsServer } from '../server/ads-server.js';
import { setLongTimeout } from '../server/long-timer.js';
import type { Logger } from '../util/logger.js';
import { adsServingTls } from './ca-credentials.js';

export const DEFAULT_PHASE_TIMEOUT_MS = 5 * 60_000;
const CHECK_INTERVAL_MS = 1000;
const FIRST_PEM = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/;

export interface RootRotationDriverOptions {
  rotation: RootRotation;
  certificates: Pick<WorkloadCertificateCache, 'renewAll'>;
  ads: AdsServer;
  cache: SnapshotCache;
  controlPlane: { readonly currentModel: MeshModel | undefined };
  metrics: { registry: Registry };
  logger: Logger;
  /** Set when this meshlite may not start a rotation (409 with this message). */
  refusal?: string;
  /** The ADS listen host; undefined when ADS is plaintext (--insecure: no serving certificate). */
  adsHost?: string;
  now?: () => Date;
}

export class RootRotationDriver implements AdminRootRotation {
  readonly #o: RootRotationDriverOptions;
  readonly #now: () => Date;
  readonly #transitions: Counter<'to'>;
  #tls: AdsTls | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stepping = false;
  /** Set by close(): no step starts and no timer is armed after it. */
  #closed = false;
  #stepInFlight: Promise<void> | undefined;
  #starting = false;
  #cancelCrossExpiry: (() => void) | undefined;

  constructor(options: RootRotationDriverOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => new Date());
    const { rotation } = options;
    const registry = options.metrics.registry;
    new Gauge({
      name: 'meshlite_ca_root_rotation_phase',
      help: 'Phase of the CA root rotation: 0 none, 1 trust-both (old and new root trusted), 2 signing-new (the new root signs)',
      registers: [registry],
      collect() {
        this.set(phaseGaugeValue(rotation.phase));
      },
    });
    this.#transitions = new Counter({
      name: 'meshlite_ca_root_rotation_transitions_total',
      help: 'CA root rotation phase changes, by the phase entered (trust-both, signing-new, done)',
      labelNames: ['to'],
      registers: [registry],
    });
    rotation.ca.onTrustChanged((bundle) => {
      if (!this.#tls) return;
      this.#tls = { ...this.#tls, clientCaPem: bundle };
      options.ads.setTls(this.#tls);
    });
    if (isRotating(rotation.phase)) this.#tick();
  }

  /** meshlite's ADS TLS for the current phase, issued now; undefined when ADS is plaintext. */
  async servingTls(): Promise<AdsTls | undefined> {
    const { adsHost, rotation, logger } = this.#o;
    if (adsHost === undefined) return undefined;
    const issued = await adsServingTls(rotation.ca, adsHost);
    const now = this.#now();
    const tail = rotation.servingChainTail(now);
    this.#tls = tail ? { ...issued, certChainPem: (FIRST_PEM.exec(issued.certChainPem)?.[0] ?? '') + tail } : issued;
    this.#cancelCrossExpiry?.();
    this.#cancelCrossExpiry = undefined;
    const crossEnds = rotation.record ? Date.parse(rotation.record.crossNotAfter) : Number.NaN;
    if (tail && crossEnds > now.getTime())
      this.#cancelCrossExpiry = setLongTimeout(() => {
        logger.info({}, 'the cross-signed certificate expired: meshlite serves its ADS certificate without it');
        void this.#reissueServing();
      }, crossEnds - now.getTime());
    return this.#tls;
  }

  async start(request: RotateRootRequest): Promise<RotateRootOutcome> {
    const { rotation } = this.#o;
    if (this.#o.refusal !== undefined) return { ok: false, httpStatus: 409, error: this.#o.refusal };
    if (this.#starting || isRotating(rotation.phase))
      return { ok: false, httpStatus: 409, error: this.#starting ? 'a root rotation is starting' : this.#refusal() };
    this.#starting = true;
    try {
      const begun = await rotation.begin({
        newCaDir: request.newCaDir,
        phaseTimeoutMs: request.phaseTimeoutMs ?? DEFAULT_PHASE_TIMEOUT_MS,
      });
      if (!begun.ok) return { ok: false, httpStatus: isRotating(rotation.phase) ? 409 : 400, error: begun.error };
    } finally {
      this.#starting = false;
    }
    this.#transitions.inc({ to: 'trust-both' });
    this.#tick();
    return { ok: true, status: this.status() };
  }

  status(): object {
    const { rotation } = this.#o;
    const status = rotation.status();
    const phase = rotation.phase;
    return {
      ...status,
      ...(phase === 'trust-both' ? { proxiesWithoutNewRoot: this.proxiesWithoutNewRoot() } : {}),
      ...(phase === 'signing-new' ? { proxiesWithOldCertificates: this.#proxiesHolding(rotation.liveOldCertificates(this.#now())) } : {}),
    };
  }

  /** Connected proxies whose accepted secrets do not yet include a ROOTCA with the new root. */
  proxiesWithoutNewRoot(): string[] {
    const { ads, cache, rotation } = this.#o;
    const newRoot = rotation.newRootPem;
    if (!newRoot) return [];
    return [...ads.connectedProxies()].filter((proxy) => !this.#holdsNewRoot(proxy, newRoot, ads, cache)).sort();
  }

  /**
   * Stops stepping. A step under way is awaited, so nothing of this run
   * writes the rotation state after close() resolved: a closed serve's
   * stale phase would otherwise overwrite what the next one stored.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#cancelCrossExpiry?.();
    await this.#stepInFlight;
    await this.#o.rotation.close();
  }

  #holdsNewRoot(proxy: string, newRoot: string, ads: AdsServer, cache: SnapshotCache): boolean {
    const snapshot = cache.get(proxy);
    if (!snapshot) return false;
    const secret = snapshot.secrets.resources.get(ROOT_CA.name);
    // meshlite serves this proxy no ROOTCA: there is nothing for it to accept.
    if (!secret) return true;
    const trusted = (secret.json as { validation_context?: { trusted_ca?: { inline_string?: string } } }).validation_context?.trusted_ca
      ?.inline_string;
    if (!trusted?.includes(newRoot)) return false;
    return proxySync(proxy, ads.connectionsOf(proxy), cache).types.find((t) => t.type === 'secrets')?.state === 'SYNCED';
  }

  /** Connected proxies holding one of `live`: as its holder, or as a workload of its identity (direct mode). */
  #proxiesHolding(live: readonly LedgerEntry[]): string[] {
    const holders = new Set(live.map((e) => e.holder));
    const model = this.#o.controlPlane.currentModel;
    const trustDomain = this.#o.rotation.ca.trustDomain;
    return [...this.#o.ads.connectedProxies()]
      .filter((proxy) => {
        if (holders.has(proxy)) return true;
        const w = model?.registry.workload(proxy);
        const id = w && spiffeIdOf({ trustDomain, namespace: w.namespace, serviceAccount: w.serviceAccount });
        return id?.ok === true && holders.has(id.value);
      })
      .sort();
  }

  #refusal(): string {
    const { rotation } = this.#o;
    const since = rotation.record ? new Date(rotation.record.phaseSince) : undefined;
    return beginRefusal(rotation.phase, since) ?? 'a root rotation is already in progress';
  }

  #tick(): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#stepInFlight = this.#step().finally(() => {
        this.#stepInFlight = undefined;
        if (!this.#closed && isRotating(this.#o.rotation.phase) && !this.#timer) this.#tick();
      });
    }, CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  async #step(): Promise<void> {
    const { rotation, logger, certificates } = this.#o;
    const phase = rotation.phase;
    const record = rotation.record;
    if (this.#closed || this.#stepping || !record || !isRotating(phase)) return;
    this.#stepping = true;
    try {
      const now = this.#now();
      const advance = nextPhase(phase, {
        now: now.getTime(),
        proxiesWithoutNewRoot: phase === 'trust-both' ? this.proxiesWithoutNewRoot() : [],
        trustDeadline: Date.parse(record.trustDeadline),
        liveOldCertificates: phase === 'signing-new' ? rotation.liveOldCertificates(now).length : 0,
        blindUntil: rotation.ledger.blindUntil,
      });
      if (!advance) return;
      if (advance.lagging)
        logger.warn(
          { proxies: advance.lagging },
          `CA root rotation: phase timeout; the new root signs although ${advance.lagging.length} proxies did not accept the new trust bundle: ${advance.lagging.join(', ')}`,
        );
      await rotation.advance(advance.to, advance.reason);
      this.#transitions.inc({ to: advance.to });
      if (advance.to === 'signing-new') {
        await this.#reissueServing();
        const renewed = await certificates.renewAll();
        logger.info({ renewed }, 'CA root rotation: direct-mode certificates and the ADS certificate re-issued under the new root');
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'CA root rotation step failed; retrying');
    } finally {
      this.#stepping = false;
    }
  }

  async #reissueServing(): Promise<void> {
    const tls = await this.servingTls();
    if (tls) this.#o.ads.setTls(tls);
  }
}
