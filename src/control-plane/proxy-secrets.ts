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
  return { ...proxySecrets(served, pair, sources.workload.rootCertPem(), credentials), credentials, waitedMs };
}

/** `credentials`: the lookup of every `credential` reference, by its name. */
export function proxySecrets(
  refs: readonly SecretRef[],
  pair: WorkloadKeyPair | undefined,
  root: string,
  credentials: ReadonlyMap<string, CredentialLookup>,
): ProxySecrets {
  const material = secretMaterial(pair, root, credentials);
  const secrets: Secret[] = [];
  const unserved = new Set<string>();
  for (const ref of refs) {
    const secret = buildSecret(ref, material);
    if (secret) secrets.push(secret);
    else if (materialMissing(ref, pair, root, credentials)) unserved.add(ref.name);
  }
  return { secrets, unserved };
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
