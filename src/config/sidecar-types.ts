// The Sidecar kind (networking.istio.io) as meshlite reads it: which part of
// the registry a proxy's outbound side imports, and what happens to traffic
// for destinations outside it.
import type { Labels, Resource } from './resource.js';

/**
 * One `namespace/dnsName` entry of `egress[].hosts`. `namespace` is a name,
 * `*` (any), `.` (the namespace of the proxy the Sidecar applies to) or `~`
 * (none); `host` is `*`, `*.suffix` or a fully qualified name.
 */
export interface SidecarEgressHost {
  namespace: string;
  host: string;
}

export type OutboundTrafficMode = 'REGISTRY_ONLY' | 'ALLOW_ANY';

export interface SidecarSpec {
  workloadSelector?: Labels;
  /** Undefined when the Sidecar has no egress section: everything visible is imported. */
  egressHosts?: readonly SidecarEgressHost[];
  /** Undefined: meshlite's default (see the README's Sidecar section). */
  outboundTrafficPolicy?: OutboundTrafficMode;
}

export type Sidecar = Resource<'Sidecar', SidecarSpec>;
