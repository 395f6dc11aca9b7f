// RouteConfiguration resources for outbound HTTP: one virtual host per service
// port, matched by every name an app may use for it.
import type { VirtualHostView } from '../model/view-types.js';
import type { Route, RouteConfiguration, VirtualHost } from './envoy-types/index.js';
import { defaultRetryPolicy } from './retry-policy.js';

/** Route config name of the EXPLICIT-mode HTTP proxy listener, whose Host always carries the port. */
export const HTTP_PROXY_ROUTE = 'http_proxy';

export interface RouteBuildResult {
  routeConfiguration: RouteConfiguration;
  /** Domains dropped because an earlier virtual host already claimed them. */
  conflicts: string[];
}

/**
 * `withPortOnly`: the HTTP proxy case, where clients send `host:port` (and a
 * bare host only for port 80). Envoy rejects a route config in which two
 * virtual hosts share a domain, so later claims are dropped and reported.
 */
export function buildRouteConfiguration(
  name: string,
  vhosts: readonly VirtualHostView[],
  withPortOnly: boolean,
  /** Routes for a virtual host that a VirtualService governs; undefined keeps the default route. */
  routesFor: (vhost: VirtualHostView) => Route[] | undefined = () => undefined,
): RouteBuildResult {
  const claimed = new Set<string>();
  const conflicts: string[] = [];
  const virtualHosts: VirtualHost[] = [];
  for (const vhost of [...vhosts].sort((a, b) => a.name.localeCompare(b.name))) {
    const port = vhost.name.slice(vhost.name.lastIndexOf(':') + 1);
    const wanted = withPortOnly
      ? vhost.domains.filter((d) => d.endsWith(`:${port}`) || (port === '80' && !d.includes(':')))
      : vhost.domains;
    const domains = wanted.filter((d) => {
      if (claimed.has(d)) {
        conflicts.push(`${name}: domain "${d}" of ${vhost.name} is already routed by another service`);
        return false;
      }
      claimed.add(d);
      return true;
    });
    if (domains.length === 0) continue;
    virtualHosts.push({
      name: vhost.name,
      domains,
      routes: routesFor(vhost) ?? [
        { name: 'default', match: { prefix: '/' }, route: { cluster: vhost.cluster, timeout: '0s', retry_policy: defaultRetryPolicy() } },
      ],
    });
  }
  return { routeConfiguration: { name, virtual_hosts: virtualHosts, validate_clusters: false }, conflicts };
}
