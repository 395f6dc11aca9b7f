// A live root rotation of the CA: trust both roots, then sign with the new
// one, then trust only the new one. This object holds the phase (persisted in
// the state directory so a restart resumes it), applies each phase to the CA
// (signer, trust bundle), owns the cross-signed certificate and the ledger of
// issued certificates. When to advance is decided by its driver (it watches
// proxies), by the rules of root-rotation-phase.ts.
import { join, resolve } from 'node:path';
import type { CaInfo, CaLogger, CertificateAuthority } from './certificate-authority.js';
import { describeCa } from './certificate-authority.js';
import { crossChainTail, crossSign } from './cross-sign.js';
import type { IssuedLedger, LedgerEntry } from './issued-ledger.js';
import { generateNextRoot, loadNextCa, type NextCa, promotableRoot } from './next-ca.js';
import { parseCertificates } from './parsed-certificate.js';
import { fail, ok, type Result } from './result.js';
import { beginRefusal, type RotationPhase, trustBundleOf } from './root-rotation-phase.js';
import { promoteRoot, removeNewRootKey, type RotationRecord, writeLedger, writeRotationRecord } from './root-rotation-store.js';

/** Live old-root certificates the status lists (it counts them all). */
const LISTED_CERTIFICATES = 100;
/** How long after a certificate is issued during a rotation the ledger is written. */
const LEDGER_WRITE_DELAY_MS = 1000;

export interface RootRotationContext {
  stateDir: string;
  /** The plugged-in CA directory serve loaded (undefined: the self-signed root of the state directory). */
  caDir?: string;
  logger?: CaLogger;
  now: () => Date;
}

export interface BeginRequest {
  /** The next CA in the cacerts layout; required with a plugged-in CA, else a root is generated. */
  newCaDir?: string;
  /** trust-both gives way after this even if some proxies did not accept the new bundle. */
  phaseTimeoutMs: number;
}

export interface RootDescription {
  fingerprintSha256: string;
  serialNumber: string;
  subject: string;
  notAfter: string;
  signing: boolean;
  role?: 'old' | 'new';
}

export interface RotationStatus {
  phase: RotationPhase;
  startedAt?: string;
  phaseSince?: string;
  trustDeadline?: string;
  completedAt?: string;
  /** The roots of the trust bundle, in its order. */
  roots: RootDescription[];
  oldRoot?: { fingerprintSha256: string; notAfter: string };
  /** Served after meshlite's ADS certificate (for clients that pin the old root) until it expires. */
  crossSigned?: { notAfter: string; served: boolean };
  /** Certificates under the old root still valid and current (the first 100 listed). */
  oldSigned?: { count: number; certificates: { holder: string; serial: string; subject: string; notAfter: string }[] };
  /** Certificates issued before the ledger knew the CA may be valid until then. */
  unknownCertificatesUntil?: string;
}

export class RootRotation {
  #record: RotationRecord | undefined;
  #oldRoots: string[] = [];
  #next: NextCa | undefined;
  #ledgerTimer: NodeJS.Timeout | undefined;
  #ledgerWrite: Promise<void> = Promise.resolve();

  constructor(
    readonly ca: CertificateAuthority,
    readonly ledger: IssuedLedger,
    private readonly context: RootRotationContext,
    record: RotationRecord | undefined,
    next: NextCa | undefined,
  ) {
    this.#record = record;
    this.#next = next;
    ca.onIssued((issued) => {
      ledger.record(issued);
      if (this.phase === 'trust-both' || this.phase === 'signing-new') this.#scheduleLedgerWrite();
    });
    // Resuming: the CA was loaded from the old source; the phase puts the new one in.
    if (record && next && record.phase !== 'done') {
      this.#oldRoots = rootsOf(ca.rootCertPem);
      this.#apply(record.phase);
    }
  }

  get phase(): RotationPhase {
    return this.#record?.phase ?? 'idle';
  }

  get record(): Readonly<RotationRecord> | undefined {
    return this.#record;
  }

  /** The new root (PEM) of the rotation under way or last done. */
  get newRootPem(): string | undefined {
    return this.#next?.signer.root.pem;
  }

  /** Starts a rotation: the trust bundle becomes old + new. */
  async begin(request: BeginRequest): Promise<Result<RotationRecord>> {
    const refusal = beginRefusal(this.phase, this.#record ? new Date(this.#record.phaseSince) : undefined);
    if (refusal) return fail(refusal);
    const { ca, context } = this;
    const now = context.now();
    if (context.caDir !== undefined && request.newCaDir === undefined)
      return fail('meshlite serves a plugged-in CA (serve --ca-dir): name the next CA with --new-ca-dir <dir> (same cacerts layout)');
    const next = request.newCaDir
      ? await loadNextCa({ kind: 'directory', dir: resolve(request.newCaDir) }, context.stateDir, now)
      : await generateNextRoot(context.stateDir, ca.trustDomain, now);
    if (!next.ok) return fail(`the next CA: ${next.error}`);
    const oldSigner = ca.signer;
    if (next.value.signer.root.node.fingerprint256 === oldSigner.root.node.fingerprint256)
      return fail(`${request.newCaDir}: its root is the root in use; a root rotation needs a new root`);
    if (context.caDir === undefined && next.value.signer.intermediates.length > 0)
      return fail(
        `${request.newCaDir}: with the self-signed CA the next CA must be a root that signs itself (ca-cert.pem is root-cert.pem): it becomes the stored root`,
      );
    const cross = crossSign(next.value.signer.root, oldSigner, now);
    if (!cross.ok) return fail(`cannot cross-sign the new root: ${cross.error}`);
    const record: RotationRecord = {
      phase: 'trust-both',
      startedAt: now.toISOString(),
      phaseSince: now.toISOString(),
      trustDeadline: new Date(now.getTime() + request.phaseTimeoutMs).toISOString(),
      oldSource: context.caDir === undefined ? 'self-signed' : 'plugged-in',
      oldRootFingerprint: oldSigner.root.node.fingerprint256,
      oldRootPem: oldSigner.root.pem,
      newRootFingerprint: next.value.signer.root.node.fingerprint256,
      next: next.value.source,
      crossChainPem: crossChainTail(next.value.signer, cross.value, oldSigner),
      crossNotAfter: cross.value.cert.notAfter.toISOString(),
    };
    await writeRotationRecord(context.stateDir, record);
    this.#record = record;
    this.#next = next.value;
    this.#oldRoots = rootsOf(ca.rootCertPem);
    await this.#writeLedger(false);
    this.#apply('trust-both');
    context.logger?.info(
      { phase: 'trust-both', oldRoot: record.oldRootFingerprint, newRoot: record.newRootFingerprint, trustDeadline: record.trustDeadline },
      'CA root rotation started: proxies trust the old and the new root',
    );
    return ok(record);
  }

  /** Moves to the next phase (the driver decided it is time). */
  async advance(to: 'signing-new' | 'done', reason: string): Promise<void> {
    const record = this.#record;
    if (!record || !this.#next) return;
    const now = this.context.now().toISOString();
    let next: RotationRecord = { ...record, phase: to, phaseSince: now, ...(to === 'done' ? { completedAt: now } : {}) };
    await writeRotationRecord(this.context.stateDir, next);
    // Stored before it is reported: once the phase reads done, a restart loads the new root.
    if (to === 'done') next = await this.#promote(next);
    this.#record = next;
    this.#apply(to);
    if (to === 'done') this.#oldRoots = [];
    await this.#writeLedger(false);
    this.context.logger?.info(
      { phase: to, reason, oldRoot: record.oldRootFingerprint, newRoot: record.newRootFingerprint },
      to === 'done' ? 'CA root rotation done: only the new root is trusted' : 'CA root rotation: the new root signs',
    );
  }

  /** What follows a leaf of the new root in meshlite's ADS chain: the cross-signed certificate, until it expires. */
  servingChainTail(now: Date): string | undefined {
    const record = this.#record;
    if (!record || record.phase === 'trust-both' || now.getTime() >= Date.parse(record.crossNotAfter)) return undefined;
    return record.crossChainPem;
  }

  /** Certificates under the old root that are still valid and current. */
  liveOldCertificates(now: Date): LedgerEntry[] {
    return this.#record ? this.ledger.liveUnder(this.#record.oldRootFingerprint, now.getTime()) : [];
  }

  status(): RotationStatus {
    const record = this.#record;
    const now = this.context.now();
    const parsed = parseCertificates(this.ca.rootCertPem, 'trust bundle');
    const roots = (parsed.ok ? parsed.value : []).map((c) => {
      const fp = c.node.fingerprint256;
      const role = fp === record?.oldRootFingerprint ? 'old' : fp === record?.newRootFingerprint ? 'new' : undefined;
      return {
        fingerprintSha256: fp,
        serialNumber: c.cert.serialNumber,
        subject: c.node.subject.replace(/\n/g, ', '),
        notAfter: c.cert.notAfter.toISOString(),
        signing: fp === this.ca.info.rootFingerprintSha256,
        ...(role ? { role } : {}),
      } satisfies RootDescription;
    });
    const status: RotationStatus = { phase: this.phase, roots };
    if (!record) return status;
    const oldRoot = parseCertificates(record.oldRootPem, 'old root');
    const live = this.liveOldCertificates(now);
    return {
      ...status,
      startedAt: record.startedAt,
      phaseSince: record.phaseSince,
      ...(record.phase === 'trust-both' ? { trustDeadline: record.trustDeadline } : {}),
      ...(record.completedAt ? { completedAt: record.completedAt } : {}),
      ...(oldRoot.ok
        ? { oldRoot: { fingerprintSha256: record.oldRootFingerprint, notAfter: oldRoot.value[0]!.cert.notAfter.toISOString() } }
        : {}),
      crossSigned: { notAfter: record.crossNotAfter, served: this.servingChainTail(now) !== undefined },
      ...(record.phase === 'done'
        ? {}
        : {
            oldSigned: {
              count: live.length,
              certificates: live.slice(0, LISTED_CERTIFICATES).map((e) => ({
                holder: e.holder,
                serial: e.serial,
                subject: e.subject,
                notAfter: new Date(e.notAfter).toISOString(),
              })),
            },
          }),
      ...(this.ledger.blindUntil > now.getTime() ? { unknownCertificatesUntil: new Date(this.ledger.blindUntil).toISOString() } : {}),
    };
  }

  /** Marks the stored ledger incomplete while this process runs: a crash leaves it so. */
  markRunning(): Promise<void> {
    return this.#writeLedger(false);
  }

  /** Writes the ledger as complete (a clean stop). */
  async close(): Promise<void> {
    clearTimeout(this.#ledgerTimer);
    this.#ledgerTimer = undefined;
    await this.#writeLedger(true);
  }

  /** Sets the CA's signer and trust bundle for a phase. */
  #apply(phase: RotationPhase): void {
    const next = this.#next!;
    if (phase === 'signing-new' || phase === 'done') {
      // A self-signed CA's new root becomes its stored root when done.
      const stored = this.context.caDir === undefined && phase === 'done';
      const info: CaInfo = stored ? describeCa('self-signed', join(this.context.stateDir, 'ca'), next.signer) : next.info;
      this.ca.useSigner(next.signer, info);
    }
    this.ca.setTrustBundle(trustBundleOf(phase, this.#oldRoots, next.roots));
  }

  /** Self-signed CA: the new root becomes the stored root, so restarts load it. */
  async #promote(record: RotationRecord): Promise<RotationRecord> {
    if (this.context.caDir !== undefined || record.promoted) return record;
    const material = await promotableRoot(record.next, this.context.stateDir);
    if (!material.ok) {
      this.context.logger?.warn({ error: material.error }, 'the new root could not become the stored root; the next start retries');
      return record;
    }
    await promoteRoot(this.context.stateDir, material.value.certPem, material.value.keyPem);
    const promoted = { ...record, promoted: true };
    await writeRotationRecord(this.context.stateDir, promoted);
    await removeNewRootKey(this.context.stateDir);
    return promoted;
  }

  #scheduleLedgerWrite(): void {
    if (this.#ledgerTimer) return;
    this.#ledgerTimer = setTimeout(() => {
      this.#ledgerTimer = undefined;
      void this.#writeLedger(false);
    }, LEDGER_WRITE_DELAY_MS);
    this.#ledgerTimer.unref();
  }

  /** Writes are queued: two never race for the file. */
  #writeLedger(clean: boolean): Promise<void> {
    const { stateDir, logger, now } = this.context;
    this.#ledgerWrite = this.#ledgerWrite.then(() =>
      writeLedger(stateDir, { ...this.ledger.snapshot(now().getTime()), clean }).catch((err: Error) =>
        logger?.warn({ error: err.message }, 'cannot write the ledger of issued certificates'),
      ),
    );
    return this.#ledgerWrite;
  }
}

/** The roots of a bundle, one normalised PEM block each. */
export function rootsOf(bundlePem: string): string[] {
  const parsed = parseCertificates(bundlePem, 'trust bundle');
  return parsed.ok ? parsed.value.map((c) => c.pem) : [];
}
