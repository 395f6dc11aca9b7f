// Where everything lives under the store prefix. One place, so the layout is
// readable at a glance and a key is never spelled twice:
//
//   config/<group>/<Kind>/<namespace or ->/<name>   one resource, YAML or JSON
//   config-writes                                     bumped by every apply/delete (the conflict check)
//   identity/ca                                       CA root and signing key, sealed
//   identity/token-key                                token signing key, sealed
//   identity/ca-root-fingerprint                      SHA-256 of the root every replica must serve
//   revocations/<id>                                  one token or proxy revocation (JSON)
//   ledger/<serial>                                   holder of a workload certificate (JSON, leased until expiry)
//   replicas/<replica>                                a running replica (JSON, leased)
//   proxies/<replica>/<proxy>                         a proxy connected to that replica (JSON, leased)
export const STORE_KEYS = {
  config: 'config/',
  configWrites: 'config-writes',
  caIdentity: 'identity/ca',
  tokenKey: 'identity/token-key',
  caRootFingerprint: 'identity/ca-root-fingerprint',
  revocations: 'revocations/',
  ledger: 'ledger/',
  replicas: 'replicas/',
  proxies: 'proxies/',
} as const;

/** The namespace segment of a cluster-scoped resource's key. */
export const CLUSTER_SCOPED = '-';

export interface ResourceKeyParts {
  group: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** The key (relative to the prefix) of one config resource. */
export function configKey(parts: ResourceKeyParts): string {
  return `${STORE_KEYS.config}${parts.group}/${parts.kind}/${parts.namespace ?? CLUSTER_SCOPED}/${parts.name}`;
}

/** The parts of a config key, or undefined for a key that is not one (written by hand, say). */
export function parseConfigKey(key: string): ResourceKeyParts | undefined {
  if (!key.startsWith(STORE_KEYS.config)) return undefined;
  const segments = key.slice(STORE_KEYS.config.length).split('/');
  if (segments.length !== 4 || segments.some((s) => s === '')) return undefined;
  const [group, kind, namespace, name] = segments as [string, string, string, string];
  return { group, kind, namespace: namespace === CLUSTER_SCOPED ? undefined : namespace, name };
}

export function replicaKey(replica: string): string {
  return `${STORE_KEYS.replicas}${replica}`;
}

export function proxyKey(replica: string, proxy: string): string {
  return `${STORE_KEYS.proxies}${replica}/${proxy}`;
}

/** One revocation: `token-<jti>`, or `proxy-<proxy>-<issuedUpTo>` (the same revocation written twice is one key). */
export function revocationKey(revocation: { tokenId: string } | { proxy: string; issuedUpTo: number }): string {
  const id = 'tokenId' in revocation ? `token-${revocation.tokenId}` : `proxy-${revocation.proxy}-${revocation.issuedUpTo}`;
  return `${STORE_KEYS.revocations}${id}`;
}

export function ledgerKey(serial: string): string {
  return `${STORE_KEYS.ledger}${serial.toLowerCase()}`;
}
