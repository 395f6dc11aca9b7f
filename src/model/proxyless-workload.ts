// Which workloads are proxyless gRPC clients (grpc-js-xds, grpc-go, grpc-java
// resolving `xds:///name` themselves) rather than apps behind an Envoy sidecar.
//
// The config decides, not the client: a WorkloadEntry annotated
// `proxyless.meshlite.io/grpc: "true"` is proxyless. The node's user agent is
// only used to refuse an obvious mix-up early (an Envoy connecting as a
// proxyless workload, or a gRPC library connecting as a sidecar workload),
// with a message that says how to fix the config.
import { PROXYLESS_GRPC_ANNOTATION } from '../config/kinds/workload-entry.js';
import { isProxylessWorkload } from './proxy-kind.js';
import type { Workload } from './registry.js';

export { isProxylessWorkload, PROXYLESS_GRPC_ANNOTATION };

export { PROXYLESS_NODE_KIND } from './view-types.js';

/** gRPC libraries announce themselves as `gRPC Node Pure JS`, `gRPC Go`, `gRPC Java`, `gRPC C-core`... */
export function isGrpcUserAgent(userAgent: string): boolean {
  return /^grpc\b/i.test(userAgent);
}

export function isEnvoyUserAgent(userAgent: string): boolean {
  return /^envoy\b/i.test(userAgent);
}

/**
 * Why this node cannot be served as this workload, or undefined when it can.
 * An empty or unknown user agent is not judged: the annotation alone decides.
 */
export function proxylessMismatch(workload: Workload, userAgent: string): string | undefined {
  const proxyless = isProxylessWorkload(workload);
  if (proxyless && isEnvoyUserAgent(userAgent)) {
    return `workload "${workload.id}" is a proxyless gRPC workload (annotation ${PROXYLESS_GRPC_ANNOTATION}: "true"); an Envoy (user agent "${userAgent}") cannot use its config`;
  }
  if (!proxyless && isGrpcUserAgent(userAgent)) {
    return `node with user agent "${userAgent}" is a proxyless gRPC client, but workload "${workload.id}" is not marked proxyless (add the annotation ${PROXYLESS_GRPC_ANNOTATION}: "true" to its WorkloadEntry)`;
  }
  return undefined;
}
