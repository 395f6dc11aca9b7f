// Which Sidecar resource applies to a proxy, and what its egress hosts import.
// Selection follows Istio: a Sidecar of the proxy's namespace whose
// workloadSelector matches the proxy's labels; else that namespace's Sidecar
// without a selector; else the root namespace's Sidecar without a selector.
// Istio leaves two matching selectors undefined; meshlite applies the oldest
// (creationTimestamp, then name) and says so in the proxy's warnings.
import type { Sidecar, SidecarEgressHost } from '../config/sidecar-types.js';
import { hostMatches } from './destination-rules.js';
import { MESH_GATEWAY } from './gateways.js';
import { matchesSelector } from './labels.js';
import type { MeshModel } from './mesh-model.js';
import { isVisibleFrom, type Service, type Workload } from './registry.js';

export interface OutboundScope {
  /** Proxies with equal keys (in one model) share their outbound view. */
  key: string;
  sidecar: Sidecar;
  /** Does the egress of `sidecar`, applied in `namespace`, import this service? */
  imports(service: Pick<Service, 'host' | 'namespace'>): boolean;
  warnings: string[];
}

/** Sidecars by namespace, oldest first (the config set is already in age order). */
export function sidecarsByNamespace(sidecars: readonly Sidecar[]): Map<string, Sidecar[]> {
  const byNamespace = new Map<string, Sidecar[]>();
  for (const sc of sidecars) {
    const list = byNamespace.get(sc.meta.namespace) ?? [];
    list.push(sc);
    byNamespace.set(sc.meta.namespace, list);
  }
  return byNamespace;
}

/** The scope of `workload`'s outbound side, or undefined when no Sidecar applies (everything visible). */
export function outboundScope(
  byNamespace: ReadonlyMap<string, readonly Sidecar[]>,
  workload: Pick<Workload, 'namespace' | 'labels'>,
  rootNamespace: string,
): OutboundScope | undefined {
  const own = byNamespace.get(workload.namespace) ?? [];
  const selecting = own.filter((sc) => sc.spec.workloadSelector && matchesSelector(sc.spec.workloadSelector, workload.labels));
  const chosen =
    selecting[0] ?? own.find((sc) => !sc.spec.workloadSelector) ?? byNamespace.get(rootNamespace)?.find((sc) => !sc.spec.workloadSelector);
  if (!chosen) return undefined;
  const warnings: string[] = [];
  const ignored = selecting.slice(1).map((sc) => sc.meta.name);
  if (ignored.length > 0)
    warnings.push(
      `Sidecars ${[chosen.meta.name, ...ignored].map((n) => `"${n}"`).join(', ')} of namespace "${workload.namespace}" all select this proxy; the oldest ("${chosen.meta.name}") applies`,
    );
  const hosts = chosen.spec.egressHosts;
  return {
    key: `${workload.namespace}|${chosen.meta.namespace}/${chosen.meta.name}|${ignored.join(',')}`,
    sidecar: chosen,
    imports: (service) => hosts === undefined || hosts.some((h) => hostImports(h, workload.namespace, service)),
    warnings,
  };
}

function hostImports(entry: SidecarEgressHost, proxyNamespace: string, service: Pick<Service, 'host' | 'namespace'>): boolean {
  const namespace = entry.namespace === '.' ? proxyNamespace : entry.namespace;
  if (namespace === '~') return false;
  if (namespace !== '*' && namespace !== service.namespace) return false;
  return hostMatches(entry.host, service.host);
}

/**
 * Like Istio, a proxy also imports the destinations of the `mesh`
 * VirtualServices its egress imports, so a route to a service outside the
 * listed hosts still has its cluster.
 */
export function scopedServices(model: MeshModel, namespace: string, visible: readonly Service[], scope: OutboundScope): Service[] {
  const wanted = new Set(visible.filter((s) => scope.imports(s)));
  for (const vs of model.gateways.boundTo(MESH_GATEWAY)) {
    const ns = vs.meta.namespace;
    if (!isVisibleFrom(vs.spec.exportTo, ns, namespace)) continue;
    const imported = vs.spec.hosts.some((h) => scope.imports({ host: model.registry.resolveHost(h, ns), namespace: ns }));
    if (!imported) continue;
    const destinations = [
      ...vs.spec.http.flatMap((r) => r.route),
      ...vs.spec.tcp.flatMap((r) => r.route),
      ...vs.spec.tls.flatMap((r) => r.route),
    ];
    for (const d of destinations) {
      const host = model.registry.resolveHost(d.destination.host, ns);
      for (const s of visible) if (s.host === host) wanted.add(s);
    }
  }
  return visible.filter((s) => wanted.has(s));
}
