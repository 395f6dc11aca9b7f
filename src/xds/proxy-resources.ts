// The translator: one proxy's view in, its Envoy resources out. Pure: no I/O,
// no clock, sorted output, so the same input always gives the same bytes.
import type { MeshModel } from '../model/mesh-model.js';
import type { InterceptionMode } from '../config/types.js';
import { MESH_GATEWAY } from '../model/gateways.js';
import { buildProxyView, type OutboundView, type ProxyView, type VirtualHostView } from '../model/proxy-view.js';
import { buildHttpRoutes, requiredHttpFilters } from './http-route.js';
import { buildInboundCluster, buildOutboundCluster, buildPassthroughCluster } from './cluster.js';
import { buildClusterLoadAssignment } from './cluster-load-assignment.js';
import { byName, type JsonObject } from './common.js';
import { authzFilters, type AuthzFilters } from './authz-filters.js';
import { buildInboundListeners } from './inbound-listener.js';
import { inboundRouteConfiguration } from './http-connection-manager.js';
import { clusterName } from '../model/names.js';
import { buildOutboundListeners } from './outbound-listener.js';
import { buildRouteConfiguration, HTTP_PROXY_ROUTE } from './route-configuration.js';
import { referencedSecretNames } from './secret.js';
import { appendAll } from '../util/append-all.js';

export interface ProxyResources {
  proxyId: string;
  clusters: JsonObject[];
  endpoints: JsonObject[];
  listeners: JsonObject[];
  routes: JsonObject[];
  /** SDS secrets the proxy's resources reference (material is resolved at serve time). */
  secretNames: string[];
  warnings: string[];
  /**
   * The same clusters and listeners split into the part shared by every proxy
   * of the namespace (same array object for all of them) and the proxy's own,
   * so snapshots can share encodings and versions.
   */
  layers?: { clusters: ResourceLayers; listeners: ResourceLayers };
}

export interface ResourceLayers {
  shared: readonly JsonObject[];
  own: readonly JsonObject[];
}

export type TranslateResult = { ok: true; resources: ProxyResources; view: ProxyView } | { ok: false; error: string };

export function translateProxy(model: MeshModel, proxyId: string): TranslateResult {
  const proxy = model.registry.workload(proxyId);
  if (!proxy) return { ok: false, error: `no workload "${proxyId}" (expected <name>.<namespace> of a WorkloadEntry)` };
  if (!proxy.sidecar)
    return { ok: false, error: `workload "${proxyId}" runs no sidecar (label security.istio.io/tlsMode: istio is missing)` };
  const view = buildProxyView(model, proxy);
  return { ok: true, resources: buildProxyResources(view), view };
}

export interface OutboundResources {
  clusters: JsonObject[];
  endpoints: JsonObject[];
  routes: JsonObject[];
  secretNames: string[];
  warnings: string[];
  /** HTTP filters the outbound routes need before the router (e.g. fault injection). */
  httpFilters: string[];
}

const outboundMemo = new WeakMap<OutboundView, Map<InterceptionMode, OutboundResources>>();

/** Outbound clusters, endpoints and routes, built once per shared outbound view and layout. */
export function outboundResources(outbound: OutboundView, mode: InterceptionMode): OutboundResources {
  let byMode = outboundMemo.get(outbound);
  if (!byMode) outboundMemo.set(outbound, (byMode = new Map()));
  const known = byMode.get(mode);
  if (known) return known;
  const warnings = [...outbound.warnings];
  const clusters = outbound.clusters.map(buildOutboundCluster);
  const endpoints = outbound.clusters.filter((c) => c.discovery === 'EDS').map((c) => buildClusterLoadAssignment(c.name, c.endpoints));
  const routes: JsonObject[] = [];
  if (mode === 'TRANSPARENT') {
    for (const [port, vhosts] of outbound.httpRoutes) {
      const built = buildRouteConfiguration(String(port), vhosts, false, (v) => virtualServiceRoutes(outbound, v, port, warnings));
      routes.push(built.routeConfiguration);
      appendAll(warnings, built.conflicts);
    }
  } else if (outbound.httpRoutes.size > 0) {
    const built = buildRouteConfiguration(HTTP_PROXY_ROUTE, [...outbound.httpRoutes.values()].flat(), true, (v) =>
      virtualServiceRoutes(outbound, v, Number(v.name.slice(v.name.lastIndexOf(':') + 1)), warnings),
    );
    routes.push(built.routeConfiguration);
    appendAll(warnings, built.conflicts);
  }
  endpoints.sort((a, b) => String(a.cluster_name).localeCompare(String(b.cluster_name)));
  routes.sort(byName);
  const filters = requiredHttpFilters(
    routes.flatMap((r) => ((r.virtual_hosts as JsonObject[]) ?? []).flatMap((v) => v.routes as JsonObject[])),
  );
  const result = { clusters, endpoints, routes, secretNames: referencedSecretNames(clusters), warnings, httpFilters: filters };
  byMode.set(mode, result);
  return result;
}

const outboundListenerMemo = new WeakMap<OutboundResources, Map<string, JsonObject[]>>();

/** Outbound listeners depend on the proxy's outbound address too; proxies that share it share them. */
function sharedOutboundListeners(view: ProxyView, outbound: OutboundResources): JsonObject[] {
  let byAddress = outboundListenerMemo.get(outbound);
  if (!byAddress) outboundListenerMemo.set(outbound, (byAddress = new Map()));
  const key = `${view.settings.outboundAddress}:${view.settings.outboundPort}`;
  let listeners = byAddress.get(key);
  if (!listeners) byAddress.set(key, (listeners = buildOutboundListeners(view, outbound.httpFilters).sort(byName)));
  return listeners;
}

/** A `mesh` VirtualService's routes for one service port, or undefined to keep the default route. */
function virtualServiceRoutes(outbound: OutboundView, vhost: VirtualHostView, port: number, warnings: string[]): JsonObject[] | undefined {
  const vs = vhost.virtualService;
  if (!vs) return undefined;
  const built = buildHttpRoutes(
    vs.spec.http,
    { gateway: MESH_GATEWAY, port, clusterFor: (d) => outbound.clusterFor(d, vs.meta.namespace) },
    `${vs.meta.namespace}.${vs.meta.name}`,
  );
  appendAll(
    warnings,
    built.warnings.map((w) => `${vs.meta.namespace}/${vs.meta.name}: ${w}`),
  );
  return built.routes.length > 0 ? built.routes : undefined;
}

export function buildProxyResources(view: ProxyView): ProxyResources {
  const mode = view.settings.interceptionMode;
  const outbound = outboundResources(view.outbound, mode);
  const ownClusters = view.inbound.map((p) => buildInboundCluster(p.targetPort, view.settings.applicationAddress));
  if (mode === 'TRANSPARENT') ownClusters.push(buildPassthroughCluster());
  const access = authzFilters(view.authz);
  const inboundListeners = buildInboundListeners(view, access);
  const inboundRoutes = view.inbound
    .filter((p) => p.http)
    .map((p) => inboundRouteConfiguration(clusterName('inbound', p.targetPort, '', ''), p.targetPort, access.httpPerRoute));
  const outboundListeners = sharedOutboundListeners(view, outbound);
  const secretNames = [...new Set([...outbound.secretNames, ...referencedSecretNames(inboundListeners)])].sort();
  return {
    proxyId: view.proxy.id,
    clusters: [...outbound.clusters, ...ownClusters].sort(byName),
    endpoints: outbound.endpoints,
    listeners: [...inboundListeners, ...outboundListeners].sort(byName),
    routes: [...outbound.routes, ...inboundRoutes].sort(byName),
    secretNames,
    warnings: [...outbound.warnings, ...inboundAccessWarnings(view, access)],
    layers: {
      clusters: { shared: outbound.clusters, own: ownClusters },
      listeners: { shared: outboundListeners, own: inboundListeners },
    },
  };
}

/** Access-control warnings of the chain kinds this proxy has (TCP chains: TCP ports, and PERMISSIVE's TLS passthrough). */
function inboundAccessWarnings(view: ProxyView, access: AuthzFilters): string[] {
  const http = view.inbound.some((p) => p.http);
  const tcp = view.inbound.some((p) => !p.http || p.mode === 'PERMISSIVE');
  return [...(http ? access.warnings.http : []), ...(tcp ? access.warnings.tcp : [])];
}
