// What /debug/syncz adds to each proxy for `meshlite status`: what meshlite
// serves it as, and the workload certificate meshlite issued it: the `default`
// secret of its snapshot, or, for a node agent (its key stays on its host),
// the certificate the agent's ADS stream authenticated with.
import { X509Certificate } from 'node:crypto';
import type { SnapshotCache } from '../cache/snapshot-cache.js';
import type { StreamCredential } from '../server/stream-credential.js';
import type { MeshModel } from '../model/mesh-model.js';
import { proxyKind } from '../model/proxy-kind.js';

export interface ProxyFacts {
  /** sidecar, gateway or proxyless; absent when the current config no longer has the workload. */
  kind?: string;
  /** notBefore is known only from the certificate itself, not from an agent's stream. */
  certificate?: { serialNumber: string; notBefore?: string; notAfter: string };
}

/** `credential`: what the proxy's newest stream authenticated with. */
export function proxyFacts(
  proxy: string,
  model: MeshModel | undefined,
  cache: SnapshotCache,
  credential: StreamCredential | undefined,
): ProxyFacts {
  const workload = model?.registry.workload(proxy);
  const kind = model && workload ? proxyKind(model, workload) : undefined;
  const certificate = workloadCertificate(cache, proxy) ?? streamCertificate(credential);
  return { ...(kind ? { kind } : {}), ...(certificate ? { certificate } : {}) };
}

function workloadCertificate(cache: SnapshotCache, proxy: string): ProxyFacts['certificate'] {
  const secret = cache.get(proxy)?.secrets.resources.get('default')?.json as
    | { tls_certificate?: { certificate_chain?: { inline_string?: string } } }
    | undefined;
  const pem = secret?.tls_certificate?.certificate_chain?.inline_string;
  if (!pem) return undefined;
  try {
    const leaf = new X509Certificate(pem);
    return {
      serialNumber: leaf.serialNumber.toLowerCase(),
      notBefore: new Date(leaf.validFrom).toISOString(),
      notAfter: new Date(leaf.validTo).toISOString(),
    };
  } catch {
    return undefined;
  }
}

function streamCertificate(credential: StreamCredential | undefined): ProxyFacts['certificate'] {
  if (credential?.kind !== 'certificate' || credential.id === undefined || credential.expiresAt === undefined) return undefined;
  return { serialNumber: credential.id.toLowerCase(), notAfter: new Date(credential.expiresAt).toISOString() };
}
