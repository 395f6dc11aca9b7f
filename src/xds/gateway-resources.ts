// The gateway translator: a gateway proxy's listeners, route configurations,
// clusters and endpoints (the outbound ones its namespace sees), and secrets.
import { uniqueSecretRefs } from '../model/secret-refs.js';
import type { GatewayServerView, GatewayView } from '../model/view-types.js';
import { appendAll } from '../util/append-all.js';
import { withAccessLog } from './access-log.js';
import { authzFilters } from './authz-filters.js';
import { byName } from './common.js';
import type { Any, Route, RouteConfiguration } from './envoy-types/index.js';
import { buildGatewayListeners } from './gateway-listener.js';
import { buildHttpRoutes, requiredHttpFilters } from './http-route.js';
import { outboundResources, type ProxyResources } from './proxy-resources.js';
import { ResourceCache } from './resource-cache.js';

interface VirtualHostDraft {
  host: string;
  requireTls: boolean;
  routes: Route[];
}

/** `perFilter`: the access policies of the gateway workload, on every virtual host (see authz-filters.ts). */
function buildRouteConfigs(view: GatewayView, perFilter: { [filterName: string]: Any }, warnings: string[]): RouteConfiguration[] {
  const byName = new Map<string, { port: number; servers: GatewayServerView[] }>();
  for (const port of view.ports) {
    for (const server of port.servers) {
      if (!server.routeConfigName) continue;
      const entry = byName.get(server.routeConfigName) ?? { port: port.port, servers: [] };
      entry.servers.push(server);
      byName.set(server.routeConfigName, entry);
    }
  }
  const configs: RouteConfiguration[] = [];
  for (const [name, { port, servers }] of [...byName.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const vhosts = new Map<string, VirtualHostDraft>();
    for (const server of servers) {
      const redirect = server.kind === 'http' && server.tls?.httpsRedirect === true;
      for (const { routes: vs, hosts } of server.virtualServices) {
        const built = buildHttpRoutes(vs.http, { gateway: server.gateway, port }, `${vs.namespace}.${vs.name}`);
        appendAll(
          warnings,
          built.warnings.map((w) => `${vs.source}: ${w}`),
        );
        for (const host of hosts) {
          const draft = vhosts.get(host);
          if (draft) {
            if (draft.routes.length > 0 && built.routes.length > 0)
              warnings.push(`${name}: host ${host} is routed by more than one VirtualService; the oldest wins`);
            continue;
          }
          vhosts.set(host, { host, requireTls: redirect, routes: built.routes });
        }
      }
      if (redirect) {
        for (const h of server.hosts) if (!vhosts.has(h.host)) vhosts.set(h.host, { host: h.host, requireTls: true, routes: [] });
      }
    }
    configs.push({
      name,
      virtual_hosts: [...vhosts.values()]
        .sort((a, b) => a.host.localeCompare(b.host))
        .map((v) => ({
          name: `${v.host}:${port}`,
          domains: v.host === '*' ? ['*'] : [v.host, `${v.host}:*`],
          routes: v.routes,
          ...(v.requireTls ? { require_tls: 'ALL' } : {}),
          ...(Object.keys(perFilter).length > 0 ? { typed_per_filter_config: perFilter } : {}),
        })),
      validate_clusters: false,
    });
  }
  return configs;
}

export function buildGatewayResources(view: GatewayView, cache: ResourceCache = new ResourceCache()): ProxyResources {
  const warnings = [...view.warnings];
  const outbound = outboundResources(view.outbound, 'EXPLICIT', cache);
  const access = cache.get('authz', view.authz.key, () => authzFilters(view.authz));
  appendAll(warnings, access.warnings.http);
  const routes = buildRouteConfigs(view, access.httpPerRoute, warnings);
  const filtersByRoute = new Map(
    routes.map((r) => [String(r.name), requiredHttpFilters((r.virtual_hosts ?? []).flatMap((v) => v.routes ?? []))]),
  );
  const built = buildGatewayListeners(view, {
    httpFiltersFor: (name) => filtersByRoute.get(name) ?? [],
    access,
    warn: (m) => warnings.push(m),
  });
  const listeners = withAccessLog(built.listeners, view.accessLog).sort(byName);
  const tcpChains = listeners.some((l) =>
    (l.filter_chains ?? []).some((c) => (c.filters ?? []).some((f) => f.name === 'envoy.filters.network.tcp_proxy')),
  );
  if (tcpChains) appendAll(warnings, access.warnings.tcp);
  return {
    proxyId: view.proxy.id,
    clusters: outbound.clusters,
    endpoints: outbound.endpoints,
    listeners,
    routes,
    // The clusters' mesh mTLS as well as the servers' certificates.
    secrets: uniqueSecretRefs([...view.outbound.secrets, ...built.secrets]),
    warnings,
  };
}
