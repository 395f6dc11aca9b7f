// The identity every replica of a store must share: the CA that signs
// workload certificates and the key that signs proxy tokens. The first
// replica to start makes them and writes them sealed, each with a transaction
// that only creates an absent key; a replica that loses that race uses what
// the winner wrote, so replicas started together still end up with one CA.
// With a plugged-in CA (--ca-dir) each replica reads the CA from its own files
// and only the root's fingerprint is shared, so a replica given another CA
// refuses to start instead of splitting the mesh's trust.
import { type CaLogger, CertificateAuthority } from '../ca/certificate-authority.js';
import { DEFAULT_ROOT_TTL_SECONDS } from '../ca/issue.js';
import { createRootPem, rootSigner } from '../ca/root-store.js';
import { TokenAuthority } from '../identity/proxy-token.js';
import type { EtcdStore } from './etcd-store.js';
import { open, SealedBoxError, seal } from './sealed-box.js';
import { STORE_KEYS } from './store-keys.js';
import { type RetryOptions, StoreContentError, untilStoreAnswers } from './store-retry.js';

export interface StoreIdentityOptions {
  trustDomain: string;
  /** A plugged-in CA directory (Istio cacerts layout) read on this replica. */
  caDir?: string;
  logger?: CaLogger;
  now?: () => Date;
  /** How a store that does not answer is waited for (default: retried until it answers). */
  retry?: RetryOptions;
}

export interface StoreIdentity {
  ca: CertificateAuthority;
  tokens: TokenAuthority;
  /** This replica made the CA (nothing was issued under it before). */
  caCreated: boolean;
}

interface CaMaterial {
  certPem: string;
  keyPem: string;
}

/** Throws one clear line (a StoreContentError) when the store's identity cannot be used with this key or CA. */
export async function openStoreIdentity(store: EtcdStore, key: Buffer, options: StoreIdentityOptions): Promise<StoreIdentity> {
  const { trustDomain, logger } = options;
  const now = options.now ?? (() => new Date());
  const retry = { logger, ...options.retry };
  let ca: CertificateAuthority;
  let caCreated = false;
  if (options.caDir !== undefined) {
    ca = await CertificateAuthority.loadOrCreate({ pluggedInDir: options.caDir, trustDomain, logger, now });
  } else {
    const made = await untilStoreAnswers(store, 'reading the shared CA', () => sharedCa(store, key, trustDomain, now), retry);
    caCreated = made.created;
    const signer = rootSigner(made.material.certPem, made.material.keyPem, 'the CA root in the store', 'the CA key in the store', now());
    if (!signer.ok) throw new StoreContentError(`${STORE_KEYS.caIdentity}: ${signer.error}`);
    ca = CertificateAuthority.fromRootSigner(trustDomain, signer.value, `etcd:${store.options.location.prefix}${STORE_KEYS.caIdentity}`, {
      logger,
      now,
    });
    logger?.info(
      { ...ca.info },
      made.created
        ? 'meshlite CA created a self-signed root and shared it in the store'
        : 'meshlite CA loaded the root shared in the store',
    );
  }
  await untilStoreAnswers(store, 'publishing the CA root fingerprint', () => checkSharedRoot(store, ca, options.caDir), retry);
  const tokens = await untilStoreAnswers(store, 'reading the shared token key', () => sharedTokenKey(store, key), retry);
  return { ca, tokens, caCreated };
}

async function sharedCa(
  store: EtcdStore,
  key: Buffer,
  trustDomain: string,
  now: () => Date,
): Promise<{ material: CaMaterial; created: boolean }> {
  const existing = await store.get(STORE_KEYS.caIdentity);
  if (existing) return { material: openCa(key, existing.value), created: false };
  const made = await createRootPem(trustDomain, DEFAULT_ROOT_TTL_SECONDS, 'ecdsa-p256', now());
  const written = await createIfAbsent(store, STORE_KEYS.caIdentity, seal(key, STORE_KEYS.caIdentity, JSON.stringify(made)));
  return { material: written.created ? made : openCa(key, written.value), created: written.created };
}

/** The sealed CA of `identity/ca`, opened with the store key (a StoreContentError when it does not open). */
export function openCa(key: Buffer, value: Buffer): CaMaterial {
  const doc = parseJson(openSealed(key, STORE_KEYS.caIdentity, value), STORE_KEYS.caIdentity) as Partial<CaMaterial>;
  if (typeof doc.certPem !== 'string' || typeof doc.keyPem !== 'string')
    throw new StoreContentError(`${STORE_KEYS.caIdentity}: the sealed value holds no certPem and keyPem`);
  return { certPem: doc.certPem, keyPem: doc.keyPem };
}

async function sharedTokenKey(store: EtcdStore, key: Buffer): Promise<TokenAuthority> {
  const existing = await store.get(STORE_KEYS.tokenKey);
  let value = existing?.value;
  if (!value) {
    const pem = await TokenAuthority.generatePrivateKeyPem();
    value = (await createIfAbsent(store, STORE_KEYS.tokenKey, seal(key, STORE_KEYS.tokenKey, JSON.stringify({ privateKeyPem: pem }))))
      .value;
  }
  return tokenAuthorityFrom(key, value);
}

/** The token authority of a stored, sealed token key (also `meshlite token --store`). */
export async function tokenAuthorityFrom(key: Buffer, value: Buffer): Promise<TokenAuthority> {
  const doc = parseJson(openSealed(key, STORE_KEYS.tokenKey, value), STORE_KEYS.tokenKey) as { privateKeyPem?: unknown };
  if (typeof doc.privateKeyPem !== 'string') throw new StoreContentError(`${STORE_KEYS.tokenKey}: the sealed value holds no privateKeyPem`);
  try {
    return await TokenAuthority.fromPrivateKeyPem(doc.privateKeyPem);
  } catch (err) {
    throw new StoreContentError(`${STORE_KEYS.tokenKey}: ${(err as Error).message}`);
  }
}

/** Every replica must serve the same root: the first publishes its fingerprint, the others compare. */
async function checkSharedRoot(store: EtcdStore, ca: CertificateAuthority, caDir: string | undefined): Promise<void> {
  const mine = ca.info.rootFingerprintSha256;
  const shared = (await createIfAbsent(store, STORE_KEYS.caRootFingerprint, mine)).value.toString('utf8');
  if (shared === mine) return;
  const source = caDir === undefined ? `the root shared in ${STORE_KEYS.caIdentity}` : `the CA in --ca-dir ${caDir}`;
  throw new StoreContentError(
    `${source} has root ${mine}, but the replicas of this store serve root ${shared} (${STORE_KEYS.caRootFingerprint}): start every replica with the same CA (the same --ca-dir files, or none)`,
  );
}

/** Writes `value` unless the key exists; either way, the value the key now holds. */
export async function createIfAbsent(store: EtcdStore, key: string, value: string): Promise<{ value: Buffer; created: boolean }> {
  const res = await store.call((kv) => kv.if(key, 'Create', '==', 0).then(kv.put(key).value(value)).else(kv.get(key)).commit());
  if (res.succeeded) return { value: Buffer.from(value, 'utf8'), created: true };
  const held = res.responses[0]?.response_range?.kvs[0];
  if (!held) throw new Error(`${key}: the store answered the transaction without the value`);
  return { value: held.value, created: false };
}

function openSealed(key: Buffer, storeKey: string, value: Buffer): string {
  try {
    return open(key, storeKey, value).toString('utf8');
  } catch (err) {
    if (err instanceof SealedBoxError) throw new StoreContentError(err.message);
    throw err;
  }
}

function parseJson(text: string, storeKey: string): Record<string, unknown> {
  try {
    const doc = JSON.parse(text) as unknown;
    if (typeof doc === 'object' && doc !== null) return doc as Record<string, unknown>;
  } catch {}
  throw new StoreContentError(`${storeKey}: the sealed value is not a JSON object`);
}
