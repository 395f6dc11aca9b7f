// What meshlite serves a workload as: a proxyless gRPC app, a gateway, or a
// sidecar. The translator and the config checks both decide it here.
import { PROXYLESS_GRPC_ANNOTATION } from '../config/kinds/workload-entry.js';
import type { MeshModel } from './mesh-model.js';
import type { Workload } from './registry.js';
import type { ProxyKind } from './view-types.js';

export type { ProxyKind };
export { PROXYLESS_GRPC_ANNOTATION };

export function isProxylessWorkload(workload: Pick<Workload, 'annotations'> | undefined): boolean {
  return workload?.annotations[PROXYLESS_GRPC_ANNOTATION] === 'true';
}

/**
 * What meshlite serves a workload as, or undefined when it serves nothing:
 * a proxyless gRPC app (annotation), a gateway (a Gateway selects it), or a
 * sidecar (Istio's tlsMode label), in that order.
 */
export function proxyKind(model: Pick<MeshModel, 'gateways'>, workload: Workload): ProxyKind | undefined {
  if (isProxylessWorkload(workload)) return 'proxyless';
  if (model.gateways.isGatewayWorkload(workload)) return 'gateway';
  if (workload.sidecar) return 'sidecar';
  return undefined;
}
