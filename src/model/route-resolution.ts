// VirtualService routes resolved for the clients of one namespace: every
// destination (and mirror) gets the outbound cluster it names, if that
// cluster exists for those clients.
import type { Destination, VirtualService } from '../config/types.js';
import type { MeshModel } from './mesh-model.js';
import { clusterName } from './names.js';
import type { L4RouteView, VirtualServiceRoutes } from './view-types.js';

/** Resolves destinations against the clusters a namespace's clients have. */
export type ClusterResolver = (destination: Destination, namespace: string) => string | undefined;

/**
 * The cluster for `destination` (host written in `namespace`), when it exists
 * among `known`: the port may be omitted for single-port services; a subset
 * must be defined by the DestinationRule the client sees.
 */
export function clusterResolver(model: MeshModel, known: ReadonlySet<string>): ClusterResolver {
  return (destination, namespace) => {
    const host = model.registry.resolveHost(destination.host, namespace);
    const service = model.registry.service(host);
    const port = destination.port ?? (service?.ports.length === 1 ? service.ports[0]!.number : undefined);
    if (port === undefined) return undefined;
    const name = clusterName('outbound', port, destination.subset ?? '', host);
    return known.has(name) ? name : undefined;
  };
}

/** Resolves VirtualServices against the clusters in `known`, each once however many hosts or servers it routes. */
export function virtualServiceRoutes(model: MeshModel, known: ReadonlySet<string>): (vs: VirtualService) => VirtualServiceRoutes {
  const clusterFor = clusterResolver(model, known);
  const resolved = new Map<VirtualService, VirtualServiceRoutes>();
  return (vs) => {
    let routes = resolved.get(vs);
    if (!routes) resolved.set(vs, (routes = resolveVirtualService(vs, clusterFor)));
    return routes;
  };
}

export function resolveVirtualService(vs: VirtualService, clusterFor: ClusterResolver): VirtualServiceRoutes {
  const ns = vs.meta.namespace;
  const cluster = (d: Destination) => {
    const found = clusterFor(d, ns);
    return found === undefined ? {} : { cluster: found };
  };
  const l4 = (routes: VirtualService['spec']['tcp']): L4RouteView[] =>
    routes.map((r) => ({ match: r.match, route: r.route.map((d) => ({ ...d, ...cluster(d.destination) })) }));
  return {
    source: `${ns}/${vs.meta.name}`,
    namespace: ns,
    name: vs.meta.name,
    http: vs.spec.http.map(({ route, mirror, ...rest }) => ({
      ...rest,
      route: route.map((d) => ({ ...d, ...cluster(d.destination) })),
      ...(mirror ? { mirror: { ...mirror, ...cluster(mirror) } } : {}),
    })),
    tcp: l4(vs.spec.tcp),
    tls: l4(vs.spec.tls),
  };
}
