// Loading the CA the way `meshlite serve` does: from its source, then with a
// root rotation resumed in the phase the state directory recorded, and with
// the ledger of issued certificates it kept across restarts.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type CaLogger, CertificateAuthority } from './certificate-authority.js';
import { IssuedLedger } from './issued-ledger.js';
import { loadNextCa, type NextCa, promotableRoot } from './next-ca.js';
import { ROOT_CERT_FILE } from './root-files.js';
import { RootRotation } from './root-rotation.js';
import {
  ledgerPath,
  promoteRoot,
  readLedger,
  readRotationRecord,
  removeNewRootKey,
  type RotationRecord,
  rotationDir,
  writeRotationRecord,
} from './root-rotation-store.js';

export interface OpenCaOptions {
  stateDir: string;
  /** Plugged-in CA directory (serve --ca-dir); else the self-signed root of the state directory. */
  caDir?: string;
  trustDomain: string;
  /** The longest workload certificate lifetime (--cert-ttl): how long certificates the ledger missed may live. */
  maxTtlSeconds: number;
  logger?: CaLogger;
  now?: () => Date;
}

/** The CA with its rotation state. Throws (one clear line) when the state cannot be honoured. */
export async function openCertificateAuthority(opts: OpenCaOptions): Promise<{ ca: CertificateAuthority; rotation: RootRotation }> {
  const now = opts.now ?? (() => new Date());
  const read = await readRotationRecord(opts.stateDir);
  if (!read.ok) throw new Error(`meshlite CA: ${read.error}`);
  let record = read.value;
  let caDir = opts.caDir;
  if (record?.phase === 'done') ({ record, caDir } = await settleFinished(record, opts));
  // Nothing was ever issued under a root created now: no unknown certificates.
  const fresh = caDir === undefined && !existsSync(join(opts.stateDir, 'ca', ROOT_CERT_FILE));
  const { trustDomain, logger } = opts;
  const ca = await CertificateAuthority.loadOrCreate(
    caDir ? { pluggedInDir: caDir, trustDomain, logger } : { stateDir: opts.stateDir, trustDomain, logger },
  );
  let next: NextCa | undefined;
  if (record && record.phase !== 'done') {
    next = await resumable(record, ca, opts, now);
  } else if (record && ca.info.rootFingerprintSha256 !== record.newRootFingerprint) {
    logger?.warn(
      { state: rotationDir(opts.stateDir), root: ca.info.rootFingerprintSha256 },
      'the finished root rotation recorded in the state directory was for another CA; its cross-signed certificate is not served',
    );
    record = undefined;
  }
  const rotation = new RootRotation(ca, await openLedger(opts, fresh, now), { stateDir: opts.stateDir, caDir, logger, now }, record, next);
  await rotation.markRunning();
  if (next) logger?.info({ phase: record!.phase, since: record!.phaseSince }, 'CA root rotation resumed');
  return { ca, rotation };
}

/** The next CA of a rotation under way, checked against what the state recorded. */
async function resumable(record: RotationRecord, ca: CertificateAuthority, opts: OpenCaOptions, now: () => Date): Promise<NextCa> {
  if (ca.info.rootFingerprintSha256 !== record.oldRootFingerprint)
    throw new Error(
      `meshlite CA: a root rotation (phase ${record.phase}) started from root ${record.oldRootFingerprint}, but this CA's root is ${ca.info.rootFingerprintSha256}: start serve with the CA the rotation started from, or remove ${rotationDir(opts.stateDir)} to abandon the rotation`,
    );
  const next = await loadNextCa(record.next, opts.stateDir, now());
  if (!next.ok) throw new Error(`meshlite CA: a root rotation is in progress but its next CA cannot be loaded: ${next.error}`);
  if (next.value.signer.root.node.fingerprint256 !== record.newRootFingerprint)
    throw new Error(
      `meshlite CA: the next CA of the root rotation has root ${next.value.signer.root.node.fingerprint256}, not ${record.newRootFingerprint} as when it started; restore it, or remove ${rotationDir(opts.stateDir)} to abandon the rotation`,
    );
  return next.value;
}

/**
 * A finished rotation: a plugged-in CA now signs from the next directory (even
 * if serve was started with the old one, which would break every new
 * certificate); a self-signed CA's new root is the stored root (finished here
 * if a crash came between the two).
 */
async function settleFinished(record: RotationRecord, opts: OpenCaOptions): Promise<{ record: RotationRecord; caDir?: string }> {
  if (record.oldSource === 'plugged-in' && record.next.kind === 'directory') {
    const dir = record.next.dir;
    if (opts.caDir === undefined || resolve(opts.caDir) !== dir)
      opts.logger?.warn(
        { caDir: opts.caDir, next: dir },
        `the root rotation moved signing to ${dir}; serving from there: start serve with --ca-dir ${dir}`,
      );
    return { record, caDir: dir };
  }
  if (opts.caDir !== undefined || record.promoted) return { record, caDir: opts.caDir };
  const material = await promotableRoot(record.next, opts.stateDir);
  if (!material.ok) throw new Error(`meshlite CA: the finished root rotation cannot store its new root: ${material.error}`);
  await promoteRoot(opts.stateDir, material.value.certPem, material.value.keyPem);
  const promoted = { ...record, promoted: true };
  await writeRotationRecord(opts.stateDir, promoted);
  await removeNewRootKey(opts.stateDir);
  return { record: promoted };
}

/**
 * The ledger as the last run left it. After a clean stop it is complete;
 * otherwise (a crash, or no ledger yet) certificates issued before now may be
 * missing from it, and they expire at the latest one lifetime from now.
 */
async function openLedger(opts: OpenCaOptions, fresh: boolean, now: () => Date): Promise<IssuedLedger> {
  const stored = await readLedger(opts.stateDir);
  if (!stored.ok)
    opts.logger?.warn(
      { path: ledgerPath(opts.stateDir), error: stored.error },
      'the ledger of issued certificates is unreadable; starting anew',
    );
  const previous = stored.ok ? stored.value : undefined;
  const unknownUntil = fresh ? 0 : now().getTime() + opts.maxTtlSeconds * 1000;
  const blindUntil = previous?.clean ? previous.blindUntil : Math.max(previous?.blindUntil ?? 0, unknownUntil);
  return new IssuedLedger({ entries: previous?.entries ?? [], blindUntil });
}
