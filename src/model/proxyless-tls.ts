// Whether a proxyless client calls a service port with mTLS. The sidecar's
// decision (outbound-view.ts) is reused: a DestinationRule's ISTIO_MUTUAL
// always means mTLS; auto mTLS means mTLS when the servers take it. gRPC has
// no per-endpoint transport socket, so auto mTLS is decided for the whole
// cluster: mTLS only when every endpoint accepts it.
import type { MeshModel } from './mesh-model.js';
import { isProxylessWorkload } from './proxy-kind.js';
import { endpointPort, type Endpoint, type ServicePort } from './registry.js';
import type { OutboundCluster, ProxylessMtls } from './view-types.js';

/** What a server endpoint accepts on a port: mTLS only, plaintext only, or both. */
export type EndpointAccepts = 'mtls' | 'plaintext' | 'both';

/**
 * A sidecar accepts mTLS unless DISABLE (PERMISSIVE takes both). A proxyless
 * server (run by the agent when security is on) gets a TLS filter chain only
 * under STRICT: gRPC servers cannot tell TLS from plaintext on one port, so
 * PERMISSIVE is served as plaintext.
 */
export function endpointAccepts(model: MeshModel, e: Endpoint, port: ServicePort, secure: boolean): EndpointAccepts {
  const mode = model.peerAuthn.effectiveMode({ namespace: e.namespace, labels: e.labels, ports: e.ports }, endpointPort(e, port));
  if (isProxylessWorkload(e.workload)) return secure && mode === 'STRICT' ? 'mtls' : 'plaintext';
  if (!e.sidecar || mode === 'DISABLE') return 'plaintext';
  return mode === 'STRICT' ? 'mtls' : 'both';
}

/**
 * The client TLS of one target, or undefined for plaintext. `cluster` is the
 * sidecar outbound cluster of the same service port (its TLS decision);
 * undefined when proxyless security is off.
 */
export function proxylessClientTls(
  model: MeshModel,
  target: string,
  endpoints: readonly Endpoint[],
  port: ServicePort,
  cluster: OutboundCluster | undefined,
  warnings: string[],
): ProxylessMtls | undefined {
  const secure = cluster !== undefined;
  const accepts = endpoints.map((e) => ({ e, accepts: endpointAccepts(model, e, port, secure) }));
  const strict = accepts.filter((a) => a.accepts === 'mtls').map((a) => who(a.e));
  const plainOnly = accepts.filter((a) => a.accepts === 'plaintext').map((a) => who(a.e));
  const refused = (why: string) => {
    if (strict.length > 0) warnings.push(`${target}: ${strict.join(', ')} require mTLS (STRICT) but ${why}; those calls will be refused`);
  };
  if (!cluster) {
    refused('proxyless clients connect in plaintext (proxyless security is off)');
    return undefined;
  }
  const tls = cluster.tls;
  if (tls.kind === 'istio-mutual') {
    if (plainOnly.length > 0) warnings.push(`${target}: DestinationRule asks ISTIO_MUTUAL but ${plainOnly.join(', ')} take plaintext only`);
    return { subjectAltNames: tls.istio.subjectAltNames };
  }
  if (tls.kind === 'auto') {
    if (endpoints.length > 0 && plainOnly.length === 0) return { subjectAltNames: tls.istio.subjectAltNames };
    refused(`${plainOnly.join(', ')} take plaintext only, so the cluster (one TLS setting for all endpoints in gRPC) is plaintext`);
    return undefined;
  }
  if (tls.kind === 'simple' || tls.kind === 'mutual') {
    warnings.push(
      `${target}: DestinationRule tls mode ${tls.kind.toUpperCase()} is not applied to proxyless clients (gRPC takes certificates only from its bootstrap providers); they connect in plaintext`,
    );
  }
  refused('the client side sends plaintext');
  return undefined;
}

function who(e: Endpoint): string {
  return e.workload ? `workload ${e.workload.id}` : `endpoint ${e.address}`;
}
