// `serve --store`: the CA, the token key, the revocations and the ledger of
// issued certificates come from the store, shared by every replica, instead
// of from the state directory (which still keeps this replica's rotation
// record and a copy of its ledger). A CA root rotation is not offered: the
// replicas would have to move through its phases together.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { IssuedLedger } from '../ca/issued-ledger.js';
import { ROOT_CERT_FILE } from '../ca/root-files.js';
import { writeFileAtomic } from '../util/files.js';
import type { CaLogger } from '../ca/certificate-authority.js';
import { RootRotation } from '../ca/root-rotation.js';
import type { TokenAuthority } from '../identity/proxy-token.js';
import type { RevocationList } from '../identity/token-revocations.js';
import type { EtcdStore } from '../store/etcd-store.js';
import { openStoreIdentity } from '../store/store-identity.js';
import { StoreLedger } from '../store/store-ledger.js';
import { StoreRevocationWatcher } from '../store/store-revocations.js';
import type { Logger } from '../util/logger.js';

export const STORE_ROTATION_REFUSAL = 'root rotation is not available with --store yet';

export interface StoreIdentityMountOptions {
  store: EtcdStore;
  storeKey: Buffer;
  stateDir: string;
  caDir?: string;
  trustDomain: string;
  /** The longest workload certificate lifetime: how long certificates the shared ledger may have missed can live. */
  maxTtlSeconds: number;
  logger: Logger & CaLogger;
}

export interface StoreIdentityMount {
  ca: RootRotation['ca'];
  rotation: RootRotation;
  tokens: TokenAuthority;
  ledger: StoreLedger;
  /** Reads the store's revocations (waiting for the store) and follows them once started. */
  openRevocations(onChange: (list: RevocationList) => void): Promise<StoreRevocationWatcher>;
}

export async function mountStoreIdentity(o: StoreIdentityMountOptions): Promise<StoreIdentityMount> {
  const now = () => new Date();
  const { ca, tokens, caCreated } = await openStoreIdentity(o.store, o.storeKey, {
    trustDomain: o.trustDomain,
    caDir: o.caDir,
    logger: o.logger,
    now,
  });
  // The shared root, public, where the state directory keeps it in file mode: what agents and Envoys are handed to trust.
  await mkdir(join(o.stateDir, 'ca'), { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(o.stateDir, 'ca', ROOT_CERT_FILE), ca.rootCertPem, 0o644);
  // Other replicas may have issued certificates the shared ledger lost (written while the store was down).
  const blindUntil = caCreated ? 0 : Date.now() + o.maxTtlSeconds * 1000;
  const issued = new IssuedLedger({ entries: [], blindUntil });
  const rotation = new RootRotation(ca, issued, { stateDir: o.stateDir, caDir: o.caDir, logger: o.logger, now }, undefined, undefined);
  await rotation.markRunning();
  const ledger = new StoreLedger({ store: o.store, ledger: issued, logger: o.logger });
  // Registered after the rotation's listener, so the local ledger already resolved the holder.
  ca.onIssued((record) => {
    const entry = issued.entry(record.serialNumber);
    if (entry) ledger.publish(entry);
  });
  return {
    ca,
    rotation,
    tokens,
    ledger,
    openRevocations: (onChange) => StoreRevocationWatcher.open({ store: o.store, logger: o.logger, onChange }),
  };
}

/**
 * The shared identity when serve runs with a store, else undefined (the state
 * directory's). Without a store key an --insecure replica keeps its own CA.
 */
export async function sharedIdentity(
  o: Omit<StoreIdentityMountOptions, 'store' | 'storeKey'> & { store?: EtcdStore; storeKey?: Buffer; insecure: boolean },
): Promise<StoreIdentityMount | undefined> {
  if (!o.store) return undefined;
  if (!o.storeKey) {
    if (!o.insecure) throw new Error('--store needs --store-key-file: the CA and token keys are kept in the store sealed with it');
    o.logger.warn(
      { store: o.store.description, stateDir: o.stateDir },
      'no --store-key-file: this replica uses the CA of its own state directory; workloads served by other replicas will not trust its certificates',
    );
    return undefined;
  }
  return mountStoreIdentity({ ...o, store: o.store, storeKey: o.storeKey });
}
