// `--store-key-file`: the key sealing the CA and token keys in the store.
// Every replica of a store must be given the same one.
import { readStoreKeyFile } from '../store/sealed-box.js';

export const STORE_KEY_FILE_HELP =
  'with --store: file holding the 32-byte key that seals the CA and token keys in the store (32 raw bytes, 64 hex characters or base64); the same on every replica';

/** The key, when a store is used; throws one line when it is required and missing, or unreadable. */
export function storeKeyFromFlags(opts: { store?: unknown; storeKeyFile?: string; insecure?: boolean }): {
  key?: Buffer;
  looseMode?: string;
} {
  if (opts.storeKeyFile === undefined) {
    if (opts.store !== undefined && opts.insecure !== true)
      throw new Error(
        '--store needs --store-key-file <file>: the CA and token keys are kept in the store sealed with it (make one with: head -c 32 /dev/urandom | base64 > store.key; chmod 600 store.key)',
      );
    return {};
  }
  const read = readStoreKeyFile(opts.storeKeyFile);
  return { key: read.key, ...(read.looseMode !== undefined ? { looseMode: `0${read.looseMode.toString(8)}` } : {}) };
}
