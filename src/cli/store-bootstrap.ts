// What `meshlite bootstrap --store` reads from the store besides the config:
// where the replicas listen, the shared token key and the CA root. No state
// directory is needed: a bootstrap made here is trusted by every replica.
import type { TokenAuthority } from '../identity/proxy-token.js';
import type { EtcdStore } from '../store/etcd-store.js';
import { readMesh } from '../store/replica-registry.js';
import { readStoreIdentity } from '../store/store-identity-read.js';
import { type Endpoint, registeredEndpointsOrExit, replicaEndpointsOrExit } from './replica-endpoints.js';
import { givenRootOrExit, storeKeyOrExit } from './store-identity-flags.js';

/** --control-plane when given, else every replica registered in the store. */
export async function storeReplicaEndpointsOrExit(store: EtcdStore, controlPlane: string | undefined): Promise<Endpoint[]> {
  return replicaEndpointsOrExit({ controlPlane }) ?? registeredEndpointsOrExit(await readMesh(store), store.description);
}

/** The shared token authority and the root proxies must trust (never the CA's key). */
export async function storeBootstrapIdentity(
  store: EtcdStore,
  opts: { storeKeyFile?: string; rootCert?: string; caDir?: string },
  trustDomain: string,
): Promise<{ rootPem: string; tokens: TokenAuthority }> {
  const key = storeKeyOrExit(opts.storeKeyFile, 'bootstrap');
  const given = await givenRootOrExit(opts, trustDomain, 'bootstrap');
  const { rootPem, tokens } = await readStoreIdentity(store, key, { wanted: true, given });
  return { rootPem: rootPem!, tokens };
}
