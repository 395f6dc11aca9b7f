// What /debug/syncz adds to each proxy for `meshlite status`: what meshlite
// serves it as, and the workload certificate meshlite issued it (read from the
// `default` secret of its snapshot; a node agent's own certificate is not here).
import { X509Certificate } from 'node:crypto';
import type { SnapshotCache } from '../cache/snapshot-cache.js';
import type { MeshModel } from '../model/mesh-model.js';
import { proxyKind } from '../model/proxy-kind.js';

export interface ProxyFacts {
  /** sidecar, gateway or proxyless; absent when the current config no longer has the workload. */
  kind?: string;
  certificate?: { serialNumber: string; notBefore: string; notAfter: string };
}

export function proxyFacts(proxy: string, model: MeshModel | undefined, cache: SnapshotCache): ProxyFacts {
  const workload = model?.registry.workload(proxy);
  const kind = model && workload ? proxyKind(model, workload) : undefined;
  const certificate = workloadCertificate(cache, proxy);
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
