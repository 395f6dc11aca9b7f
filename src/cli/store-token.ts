// `meshlite token --store` and `meshlite token revoke --store`: the token key
// and the revocations every replica of a store shares, instead of a state
// directory's. Tokens are checked against the store's config like files' are.
import type { IssuedToken } from '../identity/proxy-token.js';
import type { Revocation } from '../identity/token-revocations.js';
import { readStoreIdentity } from '../store/store-identity-read.js';
import { STORE_KEYS } from '../store/store-keys.js';
import { parseStoredRevocation, writeRevocation } from '../store/store-revocations.js';
import { storeModelOrExit, withStoreOrExit } from './config-source.js';
import { requireMeshProxy } from './state.js';
import type { StoreFlags } from './store-command.js';
import { storeKeyOrExit } from './store-identity-flags.js';

/** A token signed with the store's shared key, for a proxy of the store's config. */
export async function issueStoreToken(opts: {
  flags: StoreFlags;
  storeKeyFile?: string;
  proxy: string;
  ttlSeconds: number;
}): Promise<IssuedToken> {
  const key = storeKeyOrExit(opts.storeKeyFile, 'token');
  return withStoreOrExit(opts.flags, 'token', async (store) => {
    requireMeshProxy(await storeModelOrExit(store), opts.proxy);
    const { tokens } = await readStoreIdentity(store, key, { wanted: false });
    return tokens.issueToken(opts.proxy, opts.ttlSeconds);
  });
}

/** Records a revocation every replica of the store follows; returns its key. */
export function revokeInStore(flags: StoreFlags, revocation: Revocation): Promise<string> {
  return withStoreOrExit(flags, 'token revoke', (store) => writeRevocation(store, revocation));
}

/** The revocations of a store, in key order. */
export function storeRevocations(flags: StoreFlags): Promise<Revocation[]> {
  return withStoreOrExit(flags, 'token revocations', async (store) => {
    const read = await store.range(STORE_KEYS.revocations);
    return read.entries.flatMap((e) => {
      const parsed = parseStoredRevocation(e);
      if (parsed.ok) return [parsed.value];
      process.stderr.write(`warning: ${parsed.error}\n`);
      return [];
    });
  });
}
