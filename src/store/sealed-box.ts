// Secrets kept in the store (the CA key, the token signing key) are sealed
// with AES-256-GCM under a key every replica reads from --store-key-file: etcd
// and its backups never hold them in the clear. The store key a value lives
// under is authenticated with it, so a sealed value copied to another key does
// not open there.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

const ALG = 'AES-256-GCM';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface SealedJson {
  version: 1;
  alg: typeof ALG;
  iv: string;
  tag: string;
  data: string;
}

export interface StoreKeyFile {
  key: Buffer;
  /** Set when the file is readable by group or others (the caller warns). */
  looseMode?: number;
}

/** The problem of a value that is not a sealed box (or cannot be opened). */
export class SealedBoxError extends Error {}

/**
 * The 32-byte key of a --store-key-file: exactly 32 raw bytes, or 64 hex
 * characters, or base64 of 32 bytes (text forms may end with a newline).
 * Throws one line naming the file, never its content.
 */
export function readStoreKeyFile(path: string): StoreKeyFile {
  let raw: Buffer;
  let mode: number;
  try {
    raw = readFileSync(path);
    mode = statSync(path).mode & 0o777;
  } catch (err) {
    throw new Error(`--store-key-file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const key = parseStoreKey(raw);
  if (!key)
    throw new Error(
      `--store-key-file ${path}: expected 32 raw bytes, 64 hex characters or base64 of 32 bytes (make one with: head -c 32 /dev/urandom | base64 > ${path}); the file holds ${raw.length} bytes of something else`,
    );
  return (mode & 0o077) !== 0 ? { key, looseMode: mode } : { key };
}

/** The key a file's bytes spell, or undefined. */
export function parseStoreKey(raw: Buffer): Buffer | undefined {
  if (raw.length === KEY_BYTES) return Buffer.from(raw);
  const text = raw.toString('latin1').replace(/\r?\n$/, '');
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    // Node decodes the URL-safe alphabet too.
    const decoded = Buffer.from(text, 'base64');
    if (decoded.length === KEY_BYTES) return decoded;
  }
  // Raw bytes followed by a newline an editor added.
  if (raw.length === KEY_BYTES + 1 && raw[KEY_BYTES] === 0x0a) return Buffer.from(raw.subarray(0, KEY_BYTES));
  return undefined;
}

/** Seals `plaintext` for the store key `storeKey` (a fresh random IV every time). */
export function seal(key: Buffer, storeKey: string, plaintext: Buffer | string): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(storeKey, 'utf8'));
  const data = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext), cipher.final()]);
  const sealed: SealedJson = {
    version: 1,
    alg: ALG,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return JSON.stringify(sealed);
}

/**
 * The plaintext of a value sealed for `storeKey`. Throws a SealedBoxError
 * naming the store key (never any of the value) when the value is not a
 * sealed box, or the key or store key is not the one it was sealed with.
 */
export function open(key: Buffer, storeKey: string, value: Buffer | string): Buffer {
  checkKey(key);
  const box = parseBox(storeKey, typeof value === 'string' ? value : value.toString('utf8'));
  const decipher = createDecipheriv('aes-256-gcm', key, box.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(storeKey, 'utf8'));
  decipher.setAuthTag(box.tag);
  try {
    return Buffer.concat([decipher.update(box.data), decipher.final()]);
  } catch {
    throw new SealedBoxError(
      `--store-key-file does not open ${storeKey}: not the key the replicas that created it used (or the stored value was altered or moved from another key)`,
    );
  }
}

function parseBox(storeKey: string, text: string): { iv: Buffer; tag: Buffer; data: Buffer } {
  let doc: Partial<SealedJson>;
  try {
    doc = JSON.parse(text) as Partial<SealedJson>;
  } catch {
    throw new SealedBoxError(`${storeKey} does not hold a sealed value (not JSON)`);
  }
  if (typeof doc !== 'object' || doc === null || doc.version !== 1 || doc.alg !== ALG)
    throw new SealedBoxError(`${storeKey} does not hold a sealed value of version 1 (${ALG})`);
  const [iv, tag, data] = [doc.iv, doc.tag, doc.data].map((f) => (typeof f === 'string' ? Buffer.from(f, 'base64') : undefined));
  if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || data === undefined)
    throw new SealedBoxError(`${storeKey}: the sealed value's iv, tag or data is missing or of the wrong length`);
  return { iv, tag, data };
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new Error(`the store key must be ${KEY_BYTES} bytes, not ${key.length}`);
}
