// The agent's workload certificate over time. The first one is asked for with
// the proxy token; each renewal (at half its life, with jitter) with the
// certificate being replaced, and with the token only when that one has
// expired or meshlite no longer accepts it. Every certificate has a key of its
// own, made here. When meshlite cannot be reached the current certificate is
// kept and served until it expires, and retries back off exponentially. The
// trust bundle starts as the --root-cert file and is replaced by meshlite's;
// when meshlite lists another root first than the one the held certificate
// chains to, it signs with that root now (a root rotation), so the workload
// renews at once.
import { createHash, X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { certificateBlocks } from '../ca/pem.js';
import { rotationDelayMs } from '../ca/rotation.js';
import type { HeldCertificate, LocalSecrets } from './agent-types.js';
import type { CaClient, CaCredential } from './ca-client.js';
import { type CertificateOutcome, requestCertificate } from './certificate-request.js';

export interface AgentLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { initialMs: 1000, maxMs: 30_000 };
// setTimeout overflows past ~24.8 days; a bounded timer that re-checks the time is simpler.
const MAX_TIMER_MS = 60 * 60 * 1000;
/** A root switch reaches every agent at about the same moment: spread their renewals a little. */
const ROOT_SWITCH_JITTER_MS = 1000;

export interface CertificateManagerOptions {
  ca: Pick<CaClient, 'createCertificate'>;
  /** The proxy token, read afresh at each use (the file may be replaced); undefined when there is none. */
  token(): string | undefined;
  /** Where the token is read from, for messages (e.g. `the token file /etc/meshlite/token`). */
  tokenSource?: string;
  /** The bundle for the first contact with meshlite: the --root-cert file. */
  trustBundlePem: string;
  /** Lifetime asked for; meshlite's --cert-ttl when undefined. */
  ttlSeconds?: number;
  logger: AgentLogger;
  now?: () => Date;
  random?: () => number;
  retry?: RetryPolicy;
  /** A certificate obtained already (by `requestCertificate`): start() holds it and only schedules its renewal. */
  initial?: HeldCertificate;
}

type Via = 'certificate' | 'token' | 'none';

export class CertificateManager implements LocalSecrets {
  readonly #opts: CertificateManagerOptions;
  readonly #now: () => Date;
  readonly #random: () => number;
  readonly #retry: RetryPolicy;
  readonly #listeners = new Set<() => void>();
  #bundle: string;
  #held: HeldCertificate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #renewRequested = false;
  #failures = 0;
  #stopped = false;
  #started: Promise<void> | undefined;
  #first: { resolve(): void; reject(err: Error): void } | undefined;
  /** The first root of the bundle that last made us renew: the same switch never prompts twice. */
  #promptedByRoot: string | undefined;

  constructor(opts: CertificateManagerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => new Date());
    this.#random = opts.random ?? Math.random;
    this.#retry = opts.retry ?? DEFAULT_RETRY;
    this.#bundle = opts.trustBundlePem;
  }

  /** Resolves once a certificate is held; retries until then, and rejects only if stop() comes first. */
  start(): Promise<void> {
    this.#started ??= new Promise<void>((resolve, reject) => {
      if (this.#stopped) return reject(new Error('the certificate manager is stopped'));
      this.#first = { resolve, reject };
      if (this.#opts.initial) this.#accept(this.#opts.initial, 'none');
      else this.#runAt(this.#now().getTime());
    });
    return this.#started;
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#first?.reject(new Error('the certificate manager was stopped before it got a certificate'));
    this.#first = undefined;
  }

  certificate(): HeldCertificate | undefined {
    return this.#held;
  }

  trustBundlePem(): string {
    return this.#bundle;
  }

  /** Seconds until the held certificate expires (negative once it has); undefined before the first one. */
  expiresInSeconds(): number | undefined {
    return this.#held ? (this.#held.notAfter.getTime() - this.#now().getTime()) / 1000 : undefined;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Replaces the trust bundle (meshlite's, its signing root first); a bundle without a certificate is ignored. */
  setTrustBundle(pem: string): void {
    if (pem === this.#bundle) return;
    const first = firstCertificate(pem);
    if (!first.ok) {
      this.#opts.logger.warn({ error: first.error }, 'trust bundle not replaced: the new one is unusable');
      return;
    }
    this.#bundle = pem;
    this.#opts.logger.info({ roots: first.count }, 'replaced the trust bundle with the one meshlite sent');
    this.#notify();
    const held = this.#held;
    if (!held || this.#stopped) return;
    const heldRoot = firstCertificate(held.rootPem);
    if (!heldRoot.ok || heldRoot.fingerprint === first.fingerprint || first.fingerprint === this.#promptedByRoot) return;
    this.#promptedByRoot = first.fingerprint;
    this.#opts.logger.info(
      { serialNumber: held.serialNumber },
      'meshlite signs with another root than the one of the workload certificate: renewing it now',
    );
    if (this.#running) this.#renewRequested = true;
    else this.#runAt(this.#now().getTime() + Math.round(this.#random() * ROOT_SWITCH_JITTER_MS));
  }

  #runAt(atMs: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    const delay = Math.min(Math.max(0, atMs - this.#now().getTime()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#now().getTime() < atMs) this.#runAt(atMs);
      else void this.#attempt();
    }, delay);
  }

  async #attempt(): Promise<void> {
    if (this.#stopped || this.#running) return;
    this.#running = true;
    this.#renewRequested = false;
    let result: { outcome: CertificateOutcome; via: Via };
    try {
      result = await this.#obtain();
    } catch (err) {
      result = { outcome: { ok: false, code: grpc.status.INTERNAL, message: (err as Error).message }, via: 'none' };
    }
    this.#running = false;
    if (this.#stopped) return;
    const { outcome, via } = result;
    if (!outcome.ok) return this.#failed(outcome, via);
    this.#failures = 0;
    this.#accept(outcome.certificate, via);
    if (this.#renewRequested) this.#runAt(this.#now().getTime() + Math.round(this.#random() * ROOT_SWITCH_JITTER_MS));
  }

  /** The current certificate while it is valid, else the token; the token also when meshlite refuses the certificate. */
  async #obtain(): Promise<{ outcome: CertificateOutcome; via: Via }> {
    const held = this.#held;
    const current = held && this.#now() < held.notAfter ? held : undefined;
    const ask = (credential: CaCredential) =>
      requestCertificate({ ca: this.#opts.ca, credential, validitySeconds: this.#opts.ttlSeconds, now: this.#now() });
    if (current) {
      const outcome = await ask({ certificate: current });
      if (outcome.ok || outcome.code !== grpc.status.UNAUTHENTICATED) return { outcome, via: 'certificate' };
      const token = this.#token();
      if (!token) return { outcome, via: 'certificate' };
      this.#opts.logger.warn({ error: outcome.message }, 'meshlite refused the workload certificate as a credential; trying the token');
      return { outcome: await ask({ token }), via: 'token' };
    }
    const token = this.#token();
    if (token) return { outcome: await ask({ token }), via: 'token' };
    const none = `there is no token${this.#opts.tokenSource ? ` (${this.#opts.tokenSource} is missing or empty)` : ''}`;
    const message = held ? `the certificate has expired and ${none}` : none;
    return { outcome: { ok: false, code: grpc.status.UNAUTHENTICATED, message: `no credential: ${message}` }, via: 'none' };
  }

  #token(): string | undefined {
    try {
      return this.#opts.token()?.trim() || undefined;
    } catch (err) {
      this.#opts.logger.warn({ error: (err as Error).message }, 'the proxy token cannot be read');
      return undefined;
    }
  }

  #accept(certificate: HeldCertificate, via: Via): void {
    const renewal = this.#held !== undefined;
    this.#held = certificate;
    // Measured from now, not from NotBefore: meshlite backdates NotBefore for
    // clock skew, and that allowance is no part of the lifetime to divide.
    const from = new Date(Math.max(certificate.notBefore.getTime(), this.#now().getTime()));
    const renewAtMs = from.getTime() + rotationDelayMs(from, certificate.notAfter, from, this.#random);
    this.#opts.logger.info(
      {
        spiffeId: certificate.spiffeId,
        serialNumber: certificate.serialNumber,
        notAfter: certificate.notAfter.toISOString(),
        renewAt: new Date(renewAtMs).toISOString(),
        ...(via === 'none' ? {} : { auth: via }),
      },
      renewal ? 'workload certificate renewed' : 'workload certificate obtained',
    );
    this.#runAt(renewAtMs);
    this.#notify();
    this.#first?.resolve();
    this.#first = undefined;
  }

  #failed(outcome: Extract<CertificateOutcome, { ok: false }>, via: Via): void {
    this.#failures++;
    const base = Math.min(this.#retry.maxMs, this.#retry.initialMs * 2 ** Math.min(this.#failures - 1, 30));
    const retryInMs = Math.round(base / 2 + (this.#random() * base) / 2);
    const fields = {
      code: grpc.status[outcome.code] ?? outcome.code,
      error: outcome.message,
      auth: via,
      attempt: this.#failures,
      retryInMs,
    };
    const held = this.#held;
    const { logger } = this.#opts;
    if (!held) logger.warn(fields, 'no workload certificate yet: CreateCertificate failed; retrying');
    else {
      const expiresAt = held.notAfter.toISOString();
      const expiring = { ...fields, serialNumber: held.serialNumber, expiresAt, expiresInSeconds: Math.round(this.expiresInSeconds()!) };
      if (held.notAfter > this.#now())
        logger.warn(expiring, `workload certificate renewal failed; the current one stays in use until it expires at ${expiresAt}`);
      else
        logger.error(
          expiring,
          `workload certificate renewal failed; the current one expired at ${expiresAt}: mTLS fails until a renewal succeeds`,
        );
    }
    this.#runAt(this.#now().getTime() + retryInMs);
  }

  #notify(): void {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch (err) {
        this.#opts.logger.warn({ error: (err as Error).message }, 'a certificate change listener threw');
      }
    }
  }
}

/** The SHA-256 of the first certificate of a PEM bundle of certificates only, and how many it holds. */
function firstCertificate(pem: string): { ok: true; fingerprint: string; count: number } | { ok: false; error: string } {
  const certificates = certificateBlocks(pem, 'trust bundle');
  if (!certificates.ok) return { ok: false, error: certificates.error };
  for (const [i, der] of certificates.value.entries()) {
    try {
      new X509Certificate(der);
    } catch {
      return { ok: false, error: `trust bundle: certificate ${i + 1} is not a valid X.509 certificate` };
    }
  }
  return { ok: true, fingerprint: createHash('sha256').update(certificates.value[0]!).digest('hex'), count: certificates.value.length };
}
