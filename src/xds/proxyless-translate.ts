// The proxyless translator: what a gRPC client that resolves `xds:///name`
// itself needs, from its view. For every target (a GRPC or HTTP2 service port
// its namespace sees) it publishes:
//   Listener            `<host>:<port>` and one per other name an app may write,
//                       each an api_listener -> RDS
//   RouteConfiguration  `<host>:<port>`: one vhost, every name plus `*`
//   Cluster             `outbound|<port>||<host>` (EDS over ADS, mTLS when the view says so)
//   ClusterLoadAssignment for it, IP endpoints grouped by locality.
// That depends only on the client's namespace, so it is built once per
// namespace and shared by every proxyless client there. Per app it adds a
// server Listener `grpc/server?xds.resource.listening_address=<ip>:<port>`
// for every port it serves (proxyless-server-listener.ts).
import { appendAll } from '../util/append-all.js';
import type { ProxylessTargets, ProxylessView } from '../model/view-types.js';
import { byName } from './common.js';
import type { Cluster, ClusterLoadAssignment, Listener, RouteConfiguration } from './envoy-types/index.js';
import type { ProxyResources } from './proxy-resources.js';
import { proxylessCluster, proxylessListener, proxylessLoadAssignment, proxylessRouteConfiguration } from './proxyless-resources.js';
import { ResourceCache } from './resource-cache.js';
import { proxylessAuthzFilters } from './proxyless-rbac.js';
import { proxylessServerListener } from './proxyless-server-listener.js';

interface Shared {
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
  listeners: Listener[];
  routes: RouteConfiguration[];
}

export function buildProxylessResources(view: ProxylessView, cache: ResourceCache = new ResourceCache()): ProxyResources {
  const shared = cache.get('proxyless', view.proxyless, () => build(view.proxyless));
  const warnings = [...view.proxyless.warnings, ...view.warnings];
  let listeners = shared.listeners;
  if (view.servers.length > 0) {
    const authz = proxylessAuthzFilters(view.authz);
    appendAll(warnings, authz.warnings);
    listeners = [...listeners, ...view.servers.map((s) => proxylessServerListener(s, authz.filters))].sort(byName);
  }
  return {
    proxyId: view.proxy.id,
    clusters: shared.clusters,
    endpoints: shared.endpoints,
    listeners,
    routes: shared.routes,
    secrets: [],
    warnings,
  };
}

function build(view: ProxylessTargets): Shared {
  const clusters: Cluster[] = [];
  const endpoints: ClusterLoadAssignment[] = [];
  const listeners: Listener[] = [];
  const routes: RouteConfiguration[] = [];
  for (const t of view.targets) {
    clusters.push(proxylessCluster(t.cluster, t.maxRequests, t.tls));
    endpoints.push(proxylessLoadAssignment(t.cluster, t.endpoints));
    routes.push(proxylessRouteConfiguration(t.routeConfig, t.names, t.cluster));
    for (const name of t.names) listeners.push(proxylessListener(name, t.routeConfig));
  }
  endpoints.sort((a, b) => String(a.cluster_name).localeCompare(String(b.cluster_name)));
  return { clusters: clusters.sort(byName), endpoints, listeners: listeners.sort(byName), routes: routes.sort(byName) };
}
