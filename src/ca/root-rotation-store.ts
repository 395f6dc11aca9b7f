// Where a root rotation survives a restart: `<stateDir>/ca/rotation/` holds
// the state file (the phase and what it needs) and, when meshlite made the new
// root itself, that root's certificate and key; `<stateDir>/ca/` holds the
// ledger of issued certificates. Every file is replaced atomically, mode 0600
// (the certificate 0644), and a file that does not parse is reported, never
// thrown on.
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readIfExists, writeFileAtomic } from '../util/files.js';
import type { LedgerEntry, LedgerSnapshot } from './issued-ledger.js';
import { ROOT_CERT_FILE, ROOT_KEY_FILE } from './root-files.js';
import { fail, ok, type Result } from './result.js';

export const ROTATION_DIR = 'rotation';
const STATE_FILE = 'state.json';
const LEDGER_FILE = 'issued-ledger.json';
export const NEW_ROOT_CERT_FILE = 'new-root-cert.pem';
export const NEW_ROOT_KEY_FILE = 'new-root-key.pem';

/** Where the next CA comes from: a root meshlite made, or a directory in the cacerts layout. */
export type NextCaSource = { kind: 'generated' } | { kind: 'directory'; dir: string };

export interface RotationRecord {
  phase: 'trust-both' | 'signing-new' | 'done';
  startedAt: string;
  phaseSince: string;
  /** trust-both gives way at this moment even if some proxies lag. */
  trustDeadline: string;
  /** Where the old CA came from: a plugged-in CA hands over to the next directory for good. */
  oldSource: 'self-signed' | 'plugged-in';
  oldRootFingerprint: string;
  /** The old root (PEM), for the status after it left the bundle. */
  oldRootPem: string;
  newRootFingerprint: string;
  next: NextCaSource;
  /** The cross-signed certificate and the old CA's intermediates: what follows the new root's certificates. */
  crossChainPem: string;
  /** When the cross-signed certificate expires (then meshlite serves its chain without it). */
  crossNotAfter: string;
  /** Self-signed CA: the new root replaced the stored root. */
  promoted?: boolean;
  completedAt?: string;
}

export const rotationDir = (stateDir: string) => join(stateDir, 'ca', ROTATION_DIR);
const statePath = (stateDir: string) => join(rotationDir(stateDir), STATE_FILE);
export const ledgerPath = (stateDir: string) => join(stateDir, 'ca', LEDGER_FILE);

const ISO = (v: unknown) => typeof v === 'string' && !Number.isNaN(Date.parse(v));
const STRING = (v: unknown) => typeof v === 'string' && v.length > 0;

export async function readRotationRecord(stateDir: string): Promise<Result<RotationRecord | undefined>> {
  const path = statePath(stateDir);
  const text = await readIfExists(path);
  if (text === undefined) return ok(undefined);
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return fail(`${path} is not JSON; restore it or remove ${rotationDir(stateDir)} to abandon the rotation`);
  }
  const next = value.next as Record<string, unknown> | undefined;
  const problems = [
    !['trust-both', 'signing-new', 'done'].includes(value.phase as string) && 'phase',
    !ISO(value.startedAt) && 'startedAt',
    !ISO(value.phaseSince) && 'phaseSince',
    !ISO(value.trustDeadline) && 'trustDeadline',
    !ISO(value.crossNotAfter) && 'crossNotAfter',
    !['self-signed', 'plugged-in'].includes(value.oldSource as string) && 'oldSource',
    !STRING(value.oldRootFingerprint) && 'oldRootFingerprint',
    !STRING(value.newRootFingerprint) && 'newRootFingerprint',
    !STRING(value.oldRootPem) && 'oldRootPem',
    !STRING(value.crossChainPem) && 'crossChainPem',
    !(next?.kind === 'generated' || (next?.kind === 'directory' && STRING(next.dir))) && 'next',
  ].filter(Boolean);
  if (problems.length > 0)
    return fail(
      `${path}: missing or invalid ${problems.join(', ')}; restore it or remove ${rotationDir(stateDir)} to abandon the rotation`,
    );
  return ok(value as unknown as RotationRecord);
}

export async function writeRotationRecord(stateDir: string, record: RotationRecord): Promise<void> {
  await mkdir(rotationDir(stateDir), { recursive: true, mode: 0o700 });
  await writeFileAtomic(statePath(stateDir), `${JSON.stringify(record, null, 2)}\n`, 0o600);
}

/** Stores a root meshlite made for the rotation: key first, so a certificate never lacks its key. */
export async function writeNewRoot(stateDir: string, certPem: string, keyPem: string): Promise<void> {
  await mkdir(rotationDir(stateDir), { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(rotationDir(stateDir), NEW_ROOT_KEY_FILE), keyPem, 0o600);
  await writeFileAtomic(join(rotationDir(stateDir), NEW_ROOT_CERT_FILE), certPem, 0o644);
}

export async function readNewRoot(
  stateDir: string,
): Promise<Result<{ certPem: string; keyPem: string; certPath: string; keyPath: string }>> {
  const certPath = join(rotationDir(stateDir), NEW_ROOT_CERT_FILE);
  const keyPath = join(rotationDir(stateDir), NEW_ROOT_KEY_FILE);
  const [certPem, keyPem] = [await readIfExists(certPath), await readIfExists(keyPath)];
  if (certPem === undefined || keyPem === undefined)
    return fail(
      `${certPem === undefined ? certPath : keyPath} is missing; restore it or remove ${rotationDir(stateDir)} to abandon the rotation`,
    );
  return ok({ certPem, keyPem, certPath, keyPath });
}

/**
 * Makes the new root the stored root of the self-signed CA. Key first, then
 * certificate: a crash in between leaves the state file saying "not promoted
 * yet", and the next start writes both again.
 */
export async function promoteRoot(stateDir: string, certPem: string, keyPem: string): Promise<void> {
  await writeFileAtomic(join(stateDir, 'ca', ROOT_KEY_FILE), keyPem, 0o600);
  await writeFileAtomic(join(stateDir, 'ca', ROOT_CERT_FILE), certPem, 0o644);
}

/** Once promoted, the rotation's copy of the key has no use left. */
export async function removeNewRootKey(stateDir: string): Promise<void> {
  await unlink(join(rotationDir(stateDir), NEW_ROOT_KEY_FILE)).catch(() => undefined);
}

export interface StoredLedger extends LedgerSnapshot {
  /** Written by a clean stop: nothing was issued after it. */
  clean: boolean;
}

export async function readLedger(stateDir: string): Promise<Result<StoredLedger | undefined>> {
  const path = ledgerPath(stateDir);
  const text = await readIfExists(path);
  if (text === undefined) return ok(undefined);
  try {
    const value = JSON.parse(text) as { clean?: unknown; blindUntil?: unknown; entries?: unknown };
    if (!Array.isArray(value.entries) || typeof value.blindUntil !== 'number') return fail(`${path}: not a ledger`);
    const entries = value.entries.filter(isEntry);
    return ok({ clean: value.clean === true && entries.length === value.entries.length, blindUntil: value.blindUntil, entries });
  } catch {
    return fail(`${path} is not JSON`);
  }
}

export async function writeLedger(stateDir: string, ledger: StoredLedger): Promise<void> {
  await mkdir(join(stateDir, 'ca'), { recursive: true, mode: 0o700 });
  await writeFileAtomic(ledgerPath(stateDir), `${JSON.stringify(ledger)}\n`, 0o600);
}

function isEntry(e: unknown): e is LedgerEntry {
  const x = e as Partial<LedgerEntry> | null;
  return (
    typeof x === 'object' &&
    x !== null &&
    STRING(x.serial) &&
    typeof x.subject === 'string' &&
    STRING(x.holder) &&
    STRING(x.root) &&
    Number.isFinite(x.issuedAt) &&
    Number.isFinite(x.notAfter) &&
    typeof x.superseded === 'boolean'
  );
}
