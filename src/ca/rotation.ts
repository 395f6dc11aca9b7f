// When to renew a certificate, and a per-identity cache that renews workload
// certificates on time and tells subscribers (the ADS server) so they can push
// the new SDS secret.
import type { CaLogger, CertificateAuthority, IssueOptions } from './certificate-authority.js';
import { identityKey, type WorkloadIdentity } from './identity.js';
import { issueFailure, type IssuedCertificate, type IssueResult } from './issue.js';

export const ROTATION_FRACTION = 0.5;
/** Spread renewals over +-1% of the lifetime so certificates issued together are not renewed together. */
export const ROTATION_JITTER = 0.01;
// setTimeout overflows past ~24.8 days and sleeps through clock jumps; a
// bounded timer that re-checks is simpler than handling either.
const MAX_TIMER_MS = 60 * 60 * 1000;
const RETRY_AFTER_FAILURE_MS = 30_000;

/** Milliseconds from `now` until renewal at 50% (+-1%) of the notBefore..notAfter lifetime; never negative. */
export function rotationDelayMs(notBefore: Date, notAfter: Date, now: Date, random: () => number = Math.random): number {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  const fraction = ROTATION_FRACTION + (random() * 2 - 1) * ROTATION_JITTER;
  return Math.max(0, Math.round(notBefore.getTime() + lifetime * fraction - now.getTime()));
}

export interface CertificateRotation {
  /** `ns/sa` */
  key: string;
  identity: WorkloadIdentity;
  certificate: IssuedCertificate;
  previous: IssuedCertificate;
}

export interface WorkloadCertificateCacheOptions {
  ttlSeconds?: number;
  now?: () => Date;
  random?: () => number;
  /** Also renew from an unref'd timer, not only on access; default true. */
  autoRotate?: boolean;
  logger?: CaLogger;
}

type WorkloadIssuer = Pick<CertificateAuthority, 'issueWorkloadCertificate'>;

interface Entry {
  identity: WorkloadIdentity;
  certificate?: IssuedCertificate;
  rotateAtMs: number;
  pending?: Promise<IssueResult>;
}

/** One current workload certificate per identity (`ns/sa`), issued on first request and renewed at rotation time. */
export class WorkloadCertificateCache {
  readonly #ca: WorkloadIssuer;
  readonly #issueOptions: IssueOptions;
  readonly #now: () => Date;
  readonly #random: () => number;
  readonly #autoRotate: boolean;
  readonly #logger: CaLogger | undefined;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<(rotation: CertificateRotation) => void>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(ca: WorkloadIssuer, opts: WorkloadCertificateCacheOptions = {}) {
    this.#ca = ca;
    this.#issueOptions = opts.ttlSeconds === undefined ? {} : { ttlSeconds: opts.ttlSeconds };
    this.#now = opts.now ?? (() => new Date());
    this.#random = opts.random ?? Math.random;
    this.#autoRotate = opts.autoRotate ?? true;
    this.#logger = opts.logger;
  }

  /** The current certificate, issuing one first if there is none or it is due for renewal. */
  async get(identity: WorkloadIdentity): Promise<IssueResult> {
    const key = identityKey(identity);
    const entry = this.#entries.get(key);
    if (entry?.certificate && !entry.pending && this.#now().getTime() < entry.rotateAtMs)
      return { ok: true, certificate: entry.certificate };
    return this.#issue(key, identity);
  }

  /**
   * The current certificate without waiting (for synchronous SDS material), or
   * undefined if none was issued yet or it expired. A due one is still returned
   * while its renewal runs in the background.
   */
  current(identity: WorkloadIdentity): IssuedCertificate | undefined {
    const key = identityKey(identity);
    const entry = this.#entries.get(key);
    if (!entry?.certificate) return undefined;
    const now = this.#now().getTime();
    if (now >= entry.rotateAtMs && !entry.pending) void this.#issue(key, entry.identity);
    return now < entry.certificate.notAfter.getTime() ? entry.certificate : undefined;
  }

  /** Calls `listener` after each renewal (not the first issue); returns an unsubscribe function. */
  onRotated(listener: (rotation: CertificateRotation) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Renews every certificate whose rotation time has come; resolves to how many were replaced. */
  async rotateDue(): Promise<number> {
    const now = this.#now().getTime();
    const due = [...this.#entries].filter(([, e]) => e.certificate && !e.pending && e.rotateAtMs <= now);
    const replaced = await Promise.all(
      due.map(async ([key, e]) => {
        const before = e.certificate;
        const result = await this.#issue(key, e.identity);
        return result.ok && result.certificate !== before;
      }),
    );
    return replaced.filter(Boolean).length;
  }

  /** Renews every certificate now, due or not (the CA signs with a new root); resolves to how many were replaced. */
  async renewAll(): Promise<number> {
    const held = [...this.#entries].filter(([, e]) => e.certificate && !e.pending);
    const replaced = await Promise.all(
      held.map(async ([key, e]) => {
        const before = e.certificate;
        const result = await this.#issue(key, e.identity);
        return result.ok && result.certificate !== before;
      }),
    );
    return replaced.filter(Boolean).length;
  }

  /** Drops an identity (its workload is gone); no further renewals. */
  forget(identity: WorkloadIdentity): void {
    this.#entries.delete(identityKey(identity));
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #issue(key: string, identity: WorkloadIdentity): Promise<IssueResult> {
    let entry = this.#entries.get(key);
    if (entry?.pending) return entry.pending;
    if (!entry) {
      entry = { identity, rotateAtMs: 0 };
      this.#entries.set(key, entry);
    }
    const target = entry;
    const issuedAt = this.#now();
    target.pending = this.#ca
      .issueWorkloadCertificate(identity, this.#issueOptions)
      .catch((err: unknown) => issueFailure('internal', `issuing failed: ${(err as Error).message}`))
      .then((result) => this.#settle(key, target, issuedAt, result));
    return target.pending;
  }

  #settle(key: string, entry: Entry, issuedAt: Date, result: IssueResult): IssueResult {
    entry.pending = undefined;
    if (this.#entries.get(key) !== entry) return result; // forgotten meanwhile
    const now = this.#now().getTime();
    if (!result.ok) {
      const kept = entry.certificate;
      if (kept && now < kept.notAfter.getTime()) {
        this.#logger?.warn(
          { identity: key, code: result.code, error: result.error },
          'workload certificate renewal failed; keeping the current one',
        );
        entry.rotateAtMs = now + RETRY_AFTER_FAILURE_MS;
        this.#schedule();
        return { ok: true, certificate: kept };
      }
      this.#entries.delete(key);
      this.#schedule();
      return result;
    }
    const previous = entry.certificate;
    entry.certificate = result.certificate;
    // Measured from the issue time, not the backdated NotBefore: the clock-skew
    // allowance is not lifetime, and with second-scale test TTLs it would make
    // every certificate due at once.
    entry.rotateAtMs = issuedAt.getTime() + rotationDelayMs(issuedAt, result.certificate.notAfter, issuedAt, this.#random);
    this.#schedule();
    if (previous) this.#notify({ key, identity: entry.identity, certificate: result.certificate, previous });
    return result;
  }

  #notify(rotation: CertificateRotation): void {
    for (const listener of this.#listeners) {
      try {
        listener(rotation);
      } catch (err) {
        this.#logger?.warn({ identity: rotation.key, error: (err as Error).message }, 'certificate rotation listener threw');
      }
    }
  }

  #schedule(): void {
    if (!this.#autoRotate || this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    let next = Infinity;
    for (const e of this.#entries.values()) if (e.certificate && !e.pending) next = Math.min(next, e.rotateAtMs);
    if (next === Infinity) return;
    const delay = Math.min(Math.max(0, next - this.#now().getTime()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => void this.rotateDue().finally(() => this.#schedule()), delay);
    this.#timer.unref();
  }
}
