// The translator: one proxy's view in, its Envoy resources out. Pure: no I/O,
// no clock, sorted output, so the same input always gives the same bytes.
import type { MeshModel } from '../model/mesh-model.js';
import { buildProxyView, type ProxyView } from '../model/proxy-view.js';
import type { Workload } from '../model/registry.js';
import { buildInboundCluster, buildOutboundCluster, buildPassthroughCluster } from './cluster.js';
import { buildClusterLoadAssignment } from './cluster-load-assignment.js';
import { byName, type JsonObject } from './common.js';
import { buildInboundListeners } from './inbound-listener.js';
import { buildOutboundListeners } from './outbound-listener.js';
import { buildRouteConfiguration, HTTP_PROXY_ROUTE } from './route-configuration.js';
import { referencedSecretNames } from './secret.js';

export interface ProxyResources {
  proxyId: string;
  clusters: JsonObject[];
  endpoints: JsonObject[];
  listeners: JsonObject[];
  routes: JsonObject[];
  /** SDS secrets the proxy's resources reference (material is resolved at serve time). */
  secretNames: string[];
  warnings: string[];
}

export type TranslateResult = { ok: true; resources: ProxyResources; view: ProxyView } | { ok: false; error: string };

/** Sidecar proxies are the workloads that carry Istio's sidecar label. */
export function sidecarProxies(model: MeshModel): Workload[] {
  return model.registry.workloads.filter((w) => w.sidecar);
}

export function translateProxy(model: MeshModel, proxyId: string): TranslateResult {
  const proxy = model.registry.workload(proxyId);
  if (!proxy) return { ok: false, error: `no workload "${proxyId}" (expected <name>.<namespace> of a WorkloadEntry)` };
  if (!proxy.sidecar) return { ok: false, error: `workload "${proxyId}" runs no sidecar (label security.istio.io/tlsMode: istio is missing)` };
  const view = buildProxyView(model, proxy);
  return { ok: true, resources: buildProxyResources(view), view };
}

export function buildProxyResources(view: ProxyView): ProxyResources {
  const warnings = [...view.warnings];
  const clusters = view.clusters.map(buildOutboundCluster);
  clusters.push(...view.inbound.map((p) => buildInboundCluster(p.targetPort, view.settings.applicationAddress)));
  if (view.settings.interceptionMode === 'TRANSPARENT') clusters.push(buildPassthroughCluster());
  const endpoints = view.clusters.filter((c) => c.discovery === 'EDS').map((c) => buildClusterLoadAssignment(c.name, c.endpoints));
  const listeners = [...buildInboundListeners(view), ...buildOutboundListeners(view)];
  const routes: JsonObject[] = [];
  if (view.settings.interceptionMode === 'TRANSPARENT') {
    for (const [port, vhosts] of view.httpRoutes) {
      const built = buildRouteConfiguration(String(port), vhosts, false);
      routes.push(built.routeConfiguration);
      warnings.push(...built.conflicts);
    }
  } else if (view.httpRoutes.size > 0) {
    const built = buildRouteConfiguration(HTTP_PROXY_ROUTE, [...view.httpRoutes.values()].flat(), true);
    routes.push(built.routeConfiguration);
    warnings.push(...built.conflicts);
  }
  clusters.sort(byName);
  listeners.sort(byName);
  routes.sort(byName);
  endpoints.sort((a, b) => String(a.cluster_name).localeCompare(String(b.cluster_name)));
  return {
    proxyId: view.proxy.id,
    clusters,
    endpoints,
    listeners,
    routes,
    secretNames: referencedSecretNames([...clusters, ...listeners]),
    warnings,
  };
}
