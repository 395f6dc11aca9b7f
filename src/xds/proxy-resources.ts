// The sidecar translator: one sidecar's view in, its Envoy resources out. Pure:
// no I/O, no clock, sorted output, so the same view always gives the same bytes.
import {
  type InterceptionMode,
  MESH_GATEWAY,
  type OutboundView,
  type SecretRef,
  type SidecarView,
  type VirtualHostView,
} from '../model/view-types.js';
import { appendAll } from '../util/append-all.js';
import { withAccessLog } from './access-log.js';
import { type AuthzFilters, authzFilters } from './authz-filters.js';
import { buildBlackHoleCluster, buildInboundCluster, buildOutboundCluster, buildPassthroughCluster } from './cluster.js';
import { buildClusterLoadAssignment } from './cluster-load-assignment.js';
import { addressedListener } from './class-listener.js';
import { byName, mergeByName, socketAddress } from './common.js';
import type { Cluster, ClusterLoadAssignment, Listener, Route, RouteConfiguration } from './envoy-types/index.js';
import { inboundRouteConfiguration } from './http-connection-manager.js';
import { buildHealthProbeClusters, buildHealthProbeListener } from './health-probe-listener.js';
import { buildHttpRoutes, requiredHttpFilters } from './http-route.js';
import { buildInboundListeners } from './inbound-listener.js';
import { buildOutboundListeners } from './outbound-listener.js';
import { ResourceCache } from './resource-cache.js';
import { buildRouteConfiguration, HTTP_PROXY_ROUTE } from './route-configuration.js';

export interface ProxyResources {
  proxyId: string;
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
  listeners: Listener[];
  routes: RouteConfiguration[];
  /** SDS secrets the proxy's resources reference, sorted by name (material is resolved at serve time). */
  secrets: SecretRef[];
  warnings: string[];
  /**
   * The same clusters and listeners split into the part shared by every proxy
   * of the namespace (same array object for all of them) and the proxy's own,
   * so snapshots can share encodings and versions.
   */
  layers?: { clusters: ResourceLayers<Cluster>; listeners: ResourceLayers<Listener> };
}

export interface ResourceLayers<T> {
  shared: readonly T[];
  own: readonly T[];
}

export interface OutboundResources {
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
  routes: RouteConfiguration[];
  warnings: string[];
  /** HTTP filters the outbound routes need before the router (e.g. fault injection). */
  httpFilters: string[];
}

/** Outbound clusters, endpoints and routes, built once per shared outbound view and layout. */
export function outboundResources(outbound: OutboundView, mode: InterceptionMode, cache: ResourceCache): OutboundResources {
  return cache.get(`outbound:${mode}`, outbound, () => buildOutboundResources(outbound, mode, cache));
}

function buildOutboundResources(outbound: OutboundView, mode: InterceptionMode, cache: ResourceCache): OutboundResources {
  const warnings = [...outbound.warnings];
  if (mode === 'EXPLICIT' && outbound.outboundTrafficPolicy === 'ALLOW_ANY')
    warnings.push(
      `Sidecar ${outbound.sidecar}: outboundTrafficPolicy ALLOW_ANY has no effect in EXPLICIT mode, whose HTTP proxy and per-port listeners only know registry services (unknown hosts get 404, unknown ports no listener)`,
    );
  // Namespaces that resolve the same rule for a service share its cluster views (OutboundClusterMemo): built once.
  const clusters = outbound.clusters.map((c) => cache.get('cluster', c, () => buildOutboundCluster(c)));
  const endpoints = outbound.clusters
    .filter((c) => c.discovery === 'EDS')
    .map((c) => cache.get('cluster-load-assignment', c, () => buildClusterLoadAssignment(c.name, c.endpoints)));
  const routes: RouteConfiguration[] = [];
  if (mode === 'TRANSPARENT') {
    for (const { port, virtualHosts } of outbound.httpRoutes) {
      const built = buildRouteConfiguration(String(port), virtualHosts, false, (v) => virtualServiceRoutes(v, port, warnings));
      routes.push(built.routeConfiguration);
      appendAll(warnings, built.conflicts);
    }
  } else if (outbound.httpRoutes.length > 0) {
    const all = outbound.httpRoutes.flatMap((r) => r.virtualHosts);
    const built = buildRouteConfiguration(HTTP_PROXY_ROUTE, all, true, (v) =>
      virtualServiceRoutes(v, Number(v.name.slice(v.name.lastIndexOf(':') + 1)), warnings),
    );
    routes.push(built.routeConfiguration);
    appendAll(warnings, built.conflicts);
  }
  endpoints.sort((a, b) => String(a.cluster_name).localeCompare(String(b.cluster_name)));
  routes.sort(byName);
  const filters = requiredHttpFilters(routes.flatMap((r) => (r.virtual_hosts ?? []).flatMap((v) => v.routes ?? [])));
  return { clusters, endpoints, routes, warnings, httpFilters: filters };
}

/** A `mesh` VirtualService's routes for one service port, or undefined to keep the default route. */
function virtualServiceRoutes(vhost: VirtualHostView, port: number, warnings: string[]): Route[] | undefined {
  const vs = vhost.virtualService;
  if (!vs) return undefined;
  const built = buildHttpRoutes(vs.http, { gateway: MESH_GATEWAY, port }, `${vs.namespace}.${vs.name}`);
  appendAll(
    warnings,
    built.warnings.map((w) => `${vs.source}: ${w}`),
  );
  return built.routes.length > 0 ? built.routes : undefined;
}

/** Outbound listeners depend on the proxy's outbound address too; proxies that share it share them. */
function sharedOutboundListeners(view: SidecarView, outbound: OutboundResources, cache: ResourceCache): Listener[] {
  const key = `${view.settings.interceptionMode} ${view.settings.outboundAddress}:${view.settings.outboundPort}`;
  // The access log is the MeshConfig's, the same for every view of the model the cache belongs to.
  return cache.get(`outbound-listeners:${key}`, outbound, () =>
    withAccessLog(buildOutboundListeners(view, outbound.httpFilters), view.accessLog).sort(byName),
  );
}

/**
 * Inbound listeners depend on the proxy's ports, their modes and its access
 * policies, which proxies of one service share, and (EXPLICIT: one listener
 * per port, bound on the proxy's address) on its address, which only names
 * and binds each listener: the listeners are built once per class and the
 * address put in per proxy.
 */
function classInboundListeners(view: SidecarView, access: AuthzFilters, cache: ResourceCache): Listener[] {
  const mode = view.settings.interceptionMode;
  const ports = view.inbound.map((p) => `${p.targetPort}/${p.cluster}/${p.http}/${p.http2}/${p.mode}`).join(' ');
  const key = `inbound-listeners ${mode} ${view.trustDomains.join(',')} ${ports}`;
  // The access log is the MeshConfig's, the same for every view of the model the cache belongs to.
  const shared = cache.get(key, access, () => withAccessLog(buildInboundListeners(view, access), view.accessLog));
  if (mode === 'TRANSPARENT') return [...shared];
  const address = view.proxy.address;
  return shared.map((listener, i) => {
    const port = view.inbound[i]!.targetPort;
    return addressedListener(listener, `${address}_${port}`, socketAddress(address, port));
  });
}

export function buildSidecarResources(view: SidecarView, cache: ResourceCache = new ResourceCache()): ProxyResources {
  const mode = view.settings.interceptionMode;
  const outbound = outboundResources(view.outbound, mode, cache);
  // Proxies whose ports and application address agree share these objects (and so their encodings).
  const app = view.settings.applicationAddress;
  const ownClusters = view.inbound.map((p) =>
    cache.get('inbound-cluster', `${p.cluster} ${p.targetPort} ${p.http2} ${app}`, () => buildInboundCluster(p, app)),
  );
  if (mode === 'TRANSPARENT')
    ownClusters.push(
      view.outbound.outboundTrafficPolicy === 'REGISTRY_ONLY'
        ? cache.get('fallback-cluster', 'blackhole', buildBlackHoleCluster)
        : cache.get('fallback-cluster', 'passthrough', buildPassthroughCluster),
    );
  const access = cache.get('authz', view.authz.key, () => authzFilters(view.authz));
  const inboundListeners = classInboundListeners(view, access, cache);
  // Health checkers poll the probe listener every few seconds: those requests are not logged.
  if (view.healthProbes) {
    inboundListeners.push(buildHealthProbeListener(view.healthProbes));
    appendAll(ownClusters, buildHealthProbeClusters(view.healthProbes, view.settings.applicationAddress));
  }
  const inboundRoutes = view.inbound
    .filter((p) => p.http)
    .map((p) =>
      cache.get(`inbound-route ${p.cluster} ${p.targetPort} ${p.http2}`, access, () =>
        inboundRouteConfiguration(p.cluster, p.targetPort, access.httpPerRoute, p.http2),
      ),
    );
  const outboundListeners = sharedOutboundListeners(view, outbound, cache);
  return {
    proxyId: view.proxy.id,
    clusters: mergeByName(
      cache.get('sorted-clusters', outbound, () => [...outbound.clusters].sort(byName)),
      ownClusters,
    ),
    endpoints: outbound.endpoints,
    listeners: mergeByName(outboundListeners, inboundListeners),
    routes: mergeByName(outbound.routes, inboundRoutes),
    secrets: view.secrets,
    warnings: [...outbound.warnings, ...inboundAccessWarnings(view, access)],
    layers: {
      clusters: { shared: outbound.clusters, own: ownClusters },
      listeners: { shared: outboundListeners, own: inboundListeners },
    },
  };
}

/** Access-control warnings of the chain kinds this proxy has (TCP chains: TCP ports, and PERMISSIVE's TLS passthrough). */
function inboundAccessWarnings(view: SidecarView, access: AuthzFilters): string[] {
  const http = view.inbound.some((p) => p.http);
  const tcp = view.inbound.some((p) => !p.http || p.mode === 'PERMISSIVE');
  return [...(http ? access.warnings.http : []), ...(tcp ? access.warnings.tcp : [])];
}
