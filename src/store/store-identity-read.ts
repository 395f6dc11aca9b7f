// What a command outside the replicas needs of the identity they share, read
// without ever creating any of it: the token authority (to sign a token every
// replica accepts) and the CA root certificate (for a bootstrap's trust). The
// CA's private key is opened only to reach the certificate beside it and is
// dropped at once; nothing here returns or prints it.
import { X509Certificate } from 'node:crypto';
import type { TokenAuthority } from '../identity/proxy-token.js';
import type { EtcdStore } from './etcd-store.js';
import { openCa, tokenAuthorityFrom } from './store-identity.js';
import { STORE_KEYS } from './store-keys.js';
import { StoreContentError } from './store-retry.js';

const START_A_REPLICA = 'start meshlite serve --store with this store first';

/** A root the command was given (serve's plugged-in CA: --root-cert or --ca-dir), to be checked against the store's. */
export interface GivenRoot {
  pem: string;
  /** Where it came from, for messages. */
  source: string;
}

export interface StoreIdentityRead {
  tokens: TokenAuthority;
  /** The CA root certificate(s) proxies must trust (PEM), when asked for. */
  rootPem?: string;
}

/**
 * The shared token key, and with `root` the CA root: the store's own
 * (`identity/ca`), or with a plugged-in CA the given one, which must have the
 * fingerprint the replicas published. Throws a StoreContentError (one line)
 * when something is missing, does not open with `key`, or does not match.
 */
export async function readStoreIdentity(
  store: EtcdStore,
  key: Buffer,
  root: { wanted: false } | { wanted: true; given?: GivenRoot },
): Promise<StoreIdentityRead> {
  const tokenKey = await store.get(STORE_KEYS.tokenKey);
  if (!tokenKey) throw new StoreContentError(`${store.description} holds no token key yet: ${START_A_REPLICA}`);
  const tokens = await tokenAuthorityFrom(key, tokenKey.value);
  if (!root.wanted) return { tokens };
  return { tokens, rootPem: await sharedRootPem(store, key, root.given) };
}

async function sharedRootPem(store: EtcdStore, key: Buffer, given: GivenRoot | undefined): Promise<string> {
  const [sealedCa, published] = await Promise.all([store.get(STORE_KEYS.caIdentity), store.get(STORE_KEYS.caRootFingerprint)]);
  const fingerprint = published?.value.toString('utf8');
  if (sealedCa) {
    const rootPem = openCa(key, sealedCa.value).certPem;
    if (given) requireRoot(given, fingerprint ?? firstFingerprint(rootPem), store);
    return rootPem;
  }
  if (fingerprint === undefined) throw new StoreContentError(`${store.description} holds no CA root yet: ${START_A_REPLICA}`);
  if (!given)
    throw new StoreContentError(
      `the replicas of ${store.description} use a plugged-in CA (serve --ca-dir; the store holds only its root's fingerprint ${fingerprint}): pass --root-cert <root-cert.pem> or --ca-dir <dir>`,
    );
  requireRoot(given, fingerprint, store);
  return given.pem;
}

/** The given root must be (or, for a bundle, contain) the root the replicas serve. */
function requireRoot(given: GivenRoot, fingerprint: string, store: EtcdStore): void {
  const found = fingerprints(given.pem, given.source);
  if (found.includes(fingerprint)) return;
  throw new StoreContentError(
    `${given.source} has root ${found.join(', ')}, but the replicas of ${store.description} serve root ${fingerprint} (${STORE_KEYS.caRootFingerprint}): give the root of the CA the replicas use`,
  );
}

function fingerprints(pem: string, source: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new StoreContentError(`${source}: no PEM certificate in it`);
  return blocks.map((block) => {
    try {
      return new X509Certificate(block).fingerprint256;
    } catch (err) {
      throw new StoreContentError(`${source}: not a certificate (${(err as Error).message})`);
    }
  });
}

function firstFingerprint(pem: string): string {
  return fingerprints(pem, STORE_KEYS.caIdentity)[0]!;
}
