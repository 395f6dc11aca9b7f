// `meshlite token --store` and `meshlite token revoke --store`: the token key
// and the revocations every replica of a store shares, instead of a state
// directory's. Tokens are checked against the store's config like files' are.
import { formatIssues } from '../config/diagnostics.js';
import { loadMeshTexts } from '../control-plane/load-mesh.js';
import type { IssuedToken } from '../identity/proxy-token.js';
import type { Revocation } from '../identity/token-revocations.js';
import { buildMeshModel } from '../model/mesh-model.js';
import type { EtcdStore } from '../store/etcd-store.js';
import { STORE_KEYS } from '../store/store-keys.js';
import { tokenAuthorityFrom } from '../store/store-identity.js';
import { parseStoredRevocation, writeRevocation } from '../store/store-revocations.js';
import { explainStoreError } from '../store/store-tls.js';
import { storedConfigTexts } from '../store/stored-resources.js';
import { exitWith, requireMeshProxy } from './state.js';
import { openStore, type StoreConnectionFlags } from './store-connection.js';
import { storeKeyFromFlags } from './store-key-flag.js';

type StoreFlags = StoreConnectionFlags & { store: string };

/** Runs `fn` with a store connection, closed afterwards; a store that does not answer exits with one line. */
async function withStore<T>(command: string, flags: StoreFlags, fn: (store: EtcdStore) => Promise<T>): Promise<T> {
  let store: EtcdStore;
  try {
    store = openStore(flags);
  } catch (err) {
    return exitWith(`${command}: ${(err as Error).message}`);
  }
  try {
    return await fn(store);
  } catch (err) {
    return exitWith(`${command}: ${store.description}: ${explainStoreError(err, store.options.location.tls)}`);
  } finally {
    await store.close();
  }
}

/** A token signed with the store's shared key, for a proxy of the store's config. */
export async function issueStoreToken(
  opts: StoreFlags & {
    storeKeyFile?: string;
    proxy: string;
    ttlSeconds: number;
  },
): Promise<IssuedToken> {
  let key: Buffer | undefined;
  try {
    key = storeKeyFromFlags({ store: opts.store, storeKeyFile: opts.storeKeyFile }).key;
  } catch (err) {
    exitWith(`meshlite token: ${(err as Error).message}`);
  }
  return withStore('meshlite token', opts, async (store) => {
    const read = await store.range(STORE_KEYS.config);
    const { texts, issues } = storedConfigTexts(store.options.location.prefix, read.entries);
    const result = loadMeshTexts(texts);
    if (issues.length > 0 || !result.ok) {
      const all = [...issues, ...(result.ok ? [] : result.issues)];
      for (const line of formatIssues(all)) process.stderr.write(`${line}\n`);
      exitWith(`meshlite token: the config in ${store.description} has ${all.length} error(s); fix it with meshlite apply`);
    }
    requireMeshProxy(buildMeshModel(result.config), opts.proxy);
    const stored = await store.get(STORE_KEYS.tokenKey);
    if (!stored) exitWith(`meshlite token: ${store.description} holds no token key yet: start meshlite serve --store with it first`);
    const tokens = await tokenAuthorityFrom(key!, stored.value);
    return tokens.issueToken(opts.proxy, opts.ttlSeconds);
  });
}

/** Records a revocation every replica of the store follows; returns its key. */
export function revokeInStore(flags: StoreFlags, revocation: Revocation): Promise<string> {
  return withStore('meshlite token revoke', flags, (store) => writeRevocation(store, revocation));
}

/** The revocations of a store, in key order. */
export function storeRevocations(flags: StoreFlags): Promise<Revocation[]> {
  return withStore('meshlite token revocations', flags, async (store) => {
    const read = await store.range(STORE_KEYS.revocations);
    return read.entries.flatMap((e) => {
      const parsed = parseStoredRevocation(e);
      if (parsed.ok) return [parsed.value];
      process.stderr.write(`warning: ${parsed.error}\n`);
      return [];
    });
  });
}
