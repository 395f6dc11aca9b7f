// The Secrets a proxy's resources name, from its workload certificate, the CA
// root and the secrets directory; and the names left out on purpose because
// their material is not available. Those are not dangling references: Envoy
// keeps the listener or cluster that needs them warming (fail closed).
import type { CredentialLookup, TlsCredentialSource } from '../credentials/credential.js';
import { ROOT_CA, SECRET_NAMES, type SecretRef } from '../model/secret-refs.js';
import type { Secret } from '../xds/envoy-types/index.js';
import { buildSecret, type SecretMaterial } from '../xds/secret.js';
import type { WorkloadCredentialSource, WorkloadKeyPair } from './workload-credentials.js';

export interface ProxySecrets {
  secrets: Secret[];
  /** Referenced names whose material is missing: no workload certificate or root, or a credential the directory lacks. */
  unserved: ReadonlySet<string>;
}

export interface SecretSources {
  /** A node agent makes and serves this proxy's key and certificate: meshlite makes none. */
  keysOnNode: boolean;
  workload: WorkloadCredentialSource;
  tls: TlsCredentialSource;
  /** Hands back the Secrets (and lists) built before from the same material (the control plane keeps one). */
  memo?: SecretMemo;
}

/**
 * Secrets built again from the same material are the objects built before,
 * and a proxy whose secrets are all unchanged gets its previous list back:
 * a snapshot encoder then finds their encodings by identity instead of
 * digesting every certificate of every proxy on each rebuild. Secrets are
 * immutable once built, and so are the lists handed out (they are shared).
 */
export class SecretMemo {
  readonly #secrets = new Map<string, { material: readonly string[]; secret: Secret }>();
  readonly #lists = new Map<string, Secret[]>();

  /** Identities come and go: past this many entries the memo starts again empty. */
  constructor(private readonly maxEntries = 100_000) {}

  secret(key: string, material: readonly string[], build: () => Secret | undefined): Secret | undefined {
    const known = this.#secrets.get(key);
    // The strings are usually the very objects compared before, which compare at once.
    if (known && known.material.length === material.length && known.material.every((m, i) => m === material[i])) return known.secret;
    const secret = build();
    if (secret) this.#remember(this.#secrets, key, { material, secret });
    return secret;
  }

  list(key: string, secrets: Secret[]): Secret[] {
    const known = this.#lists.get(key);
    if (known && known.length === secrets.length && known.every((s, i) => s === secrets[i])) return known;
    this.#remember(this.#lists, key, secrets);
    return secrets;
  }

  #remember<V>(map: Map<string, V>, key: string, value: V): void {
    if (map.size >= this.maxEntries) map.clear();
    map.set(key, value);
  }
}

/**
 * The Secrets for a proxy's references, the names left unserved on purpose,
 * the `credential` lookups, and how long the CA was waited for.
 */
export async function resolveProxySecrets(
  refs: readonly SecretRef[],
  identity: { namespace: string; serviceAccount: string },
  sources: SecretSources,
): Promise<ProxySecrets & { credentials: Map<string, CredentialLookup>; waitedMs: number }> {
  const paused = performance.now();
  const wantsKey = refs.some((s) => s.kind === 'workload-cert');
  const pair = wantsKey && !sources.keysOnNode ? await sources.workload.certificateFor(identity) : undefined;
  const waitedMs = performance.now() - paused;
  const credentials = new Map(refs.filter((s) => s.kind === 'credential').map((s) => [s.name, sources.tls.lookup(s.name)]));
  // With the key on the node there is no pair: its `default` is left unserved on purpose (the agent
  // serves it), and ROOTCA is always served, since the agent keeps its trust bundle from it even when
  // the proxy's config names no secret (a proxyless gRPC app reads its roots from a file the agent writes).
  const served = sources.keysOnNode && !refs.some((s) => s.kind === 'root-ca') ? [...refs, ROOT_CA] : refs;
  const memo = sources.memo && { memo: sources.memo, identity: `${identity.namespace}/${identity.serviceAccount}` };
  return { ...proxySecrets(served, pair, sources.workload.rootCertPem(), credentials, memo), credentials, waitedMs };
}

/** `credentials`: the lookup of every `credential` reference, by its name. */
export function proxySecrets(
  refs: readonly SecretRef[],
  pair: WorkloadKeyPair | undefined,
  root: string,
  credentials: ReadonlyMap<string, CredentialLookup>,
  memo?: { memo: SecretMemo; identity: string },
): ProxySecrets {
  const material = secretMaterial(pair, root, credentials);
  const secrets: Secret[] = [];
  const unserved = new Set<string>();
  for (const ref of refs) {
    const build = () => buildSecret(ref, material);
    const secret =
      memo && ref.kind === 'workload-cert' && pair
        ? memo.memo.secret(`${ref.name}\u0000${memo.identity}`, [pair.certChainPem, pair.privateKeyPem], build)
        : memo && ref.kind === 'root-ca'
          ? memo.memo.secret(`${ref.name}\u0000`, [root], build)
          : build();
    if (secret) secrets.push(secret);
    else if (materialMissing(ref, pair, root, credentials)) unserved.add(ref.name);
  }
  const listKey = memo && `${memo.identity}\u0000${refs.map((r) => r.name).join('\u0000')}`;
  return { secrets: memo && listKey ? memo.memo.list(listKey, secrets) : secrets, unserved };
}

/** A Secret not built for any other reason (a credential of the wrong kind, say) is a dangling reference. */
function materialMissing(
  ref: SecretRef,
  pair: WorkloadKeyPair | undefined,
  root: string,
  credentials: ReadonlyMap<string, CredentialLookup>,
): boolean {
  switch (ref.kind) {
    case 'workload-cert':
      return pair === undefined;
    case 'root-ca':
      return root === '';
    case 'credential':
      return credentials.get(ref.name)?.ok === false;
    case 'file-cert':
    case 'file-root':
      return false;
  }
}

function secretMaterial(
  pair: WorkloadKeyPair | undefined,
  root: string,
  credentials: ReadonlyMap<string, CredentialLookup>,
): SecretMaterial {
  return {
    workloadCertificate: () => (pair ? { certChainPem: pair.certChainPem, privateKeyPem: pair.privateKeyPem } : undefined),
    rootCertificates: () => root,
    credentialCertificate: (name) => {
      const found = credentials.get(SECRET_NAMES.credential(name));
      return found?.ok && found.kind === 'certificate'
        ? { certChainPem: found.certChainPem, privateKeyPem: found.privateKeyPem }
        : undefined;
    },
    credentialCa: (name) => {
      const found = credentials.get(SECRET_NAMES.credentialCa(name));
      return found?.ok && found.kind === 'ca' ? found.caPem : undefined;
    },
  };
}
