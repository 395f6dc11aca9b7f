import { CertificateAuthority } from '../ca/certificate-authority.js';
import { TokenAuthority } from '../identity/proxy-token.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { Workload } from '../model/registry.js';
import { proxyKind } from '../xds/translate.js';

export const DEFAULT_STATE_DIR = '.meshlite';
export const DEFAULT_ADS_ADDRESS = '127.0.0.1:15010';
export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:15014';

/** The CA and token key meshlite serve uses, from the same state directory (created on first use). */
export async function loadIdentityState(stateDir: string, caDir: string | undefined, model: MeshModel): Promise<{ ca: CertificateAuthority; tokens: TokenAuthority }> {
  const trustDomain = model.mesh.trustDomain;
  const ca = await CertificateAuthority.loadOrCreate(caDir ? { pluggedInDir: caDir, trustDomain } : { stateDir, trustDomain });
  return { ca, tokens: await TokenAuthority.loadOrCreate(stateDir) };
}

/**
 * The proxy must be an Envoy of the config: a sidecar workload, or a gateway
 * workload (one a Gateway selects); exits with a clear message otherwise.
 */
export function requireEnvoyProxy(model: MeshModel, proxyId: string): { namespace: string; kind: 'sidecar' | 'gateway' } {
  const w = model.registry.workload(proxyId);
  const envoyKind = (x: Workload) => {
    const kind = proxyKind(model, x);
    return kind === 'sidecar' || kind === 'gateway';
  };
  if (!w || !envoyKind(w)) {
    const known = model.registry.workloads.filter(envoyKind).map((x) => x.id);
    process.stderr.write(`${w ? `workload "${proxyId}" runs no sidecar and no Gateway selects it` : `no workload "${proxyId}"`}; Envoy proxies: ${known.join(', ')}\n`);
    process.exit(1);
  }
  return { namespace: w.namespace, kind: proxyKind(model, w) as 'sidecar' | 'gateway' };
}
