// Gateways and the VirtualServices bound to them. A gateway proxy is a workload
// that a Gateway's selector picks (in any namespace, as Istio does by default).
import type { ConfigSet, Gateway, VirtualService } from '../config/types.js';
import { hostMatches } from './destination-rules.js';
import { matchesSelector } from './labels.js';
import type { Workload } from './registry.js';
import { MESH_GATEWAY, type ServerHost } from './view-types.js';

export type { ServerHost };

export { MESH_GATEWAY };

export function gatewayId(gateway: Gateway): string {
  return `${gateway.meta.namespace}/${gateway.meta.name}`;
}

export class GatewayIndex {
  private readonly gateways: readonly Gateway[];
  private readonly virtualServices: readonly VirtualService[];

  constructor(config: ConfigSet) {
    this.gateways = config.gateways;
    this.virtualServices = config.virtualServices;
  }

  /** The Gateways whose selector picks this workload, oldest first. */
  gatewaysOf(workload: Workload): Gateway[] {
    return this.gateways.filter((g) => Object.keys(g.spec.selector).length > 0 && matchesSelector(g.spec.selector, workload.labels));
  }

  isGatewayWorkload(workload: Workload): boolean {
    return this.gatewaysOf(workload).length > 0;
  }

  /** VirtualServices bound to a gateway (`ns/name`) or to `mesh`, oldest first. */
  boundTo(gateway: string): VirtualService[] {
    return this.virtualServices.filter((vs) => vs.spec.gateways.includes(gateway));
  }
}

/** A Gateway server host split into its namespace part (`*` = any, `.` = the gateway's) and host part. */
export function parseServerHost(raw: string, gatewayNamespace: string): ServerHost {
  const slash = raw.indexOf('/');
  if (slash < 0) return { namespace: '*', host: raw };
  const ns = raw.slice(0, slash);
  return { namespace: ns === '.' ? gatewayNamespace : ns, host: raw.slice(slash + 1) };
}

/** Do two host patterns overlap (either may be a `*.suffix` wildcard or `*`)? */
export function hostsOverlap(a: string, b: string): boolean {
  return hostMatches(a, b) || hostMatches(b, a);
}

/** The narrower of two overlapping host patterns: what a virtual host should match. */
export function narrowerHost(a: string, b: string): string {
  if (a === b) return a;
  return hostMatches(a, b) ? b : a;
}
