// HttpConnectionManager network filters for inbound (terminating) and
// outbound (routing) HTTP traffic.
import { ADS_CONFIG_SOURCE, typed } from './common.js';
import type {
  AnyTypeUrl,
  Any,
  envoy_config_listener_v3_Filter as Filter,
  HttpConnectionManager,
  HttpFilter,
  RouteAction,
  RouteConfiguration,
  TcpProxy,
} from './envoy-types/index.js';
import { inboundRetryPolicy } from './retry-policy.js';
import { TYPE } from './type-urls.js';

const ROUTER_FILTER: HttpFilter = { name: 'envoy.filters.http.router', typed_config: typed(TYPE.router) };

/** Config types of the HTTP filters routes may need (their per-route config lives on the routes). */
const HTTP_FILTER_TYPES: Readonly<Record<string, AnyTypeUrl>> = {
  'envoy.filters.http.fault': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
};

/** The HCM's filter chain: the named filters (with empty configs) and the router last. */
export function httpFilters(names: readonly string[] = []): HttpFilter[] {
  return [
    ...names.map((name) => {
      const type = HTTP_FILTER_TYPES[name];
      if (!type) throw new Error(`no config type known for HTTP filter ${name}`);
      return { name, typed_config: typed(type) };
    }),
    ROUTER_FILTER,
  ];
}

function hcmFilter(config: HttpConnectionManager): Filter {
  return { name: 'envoy.filters.network.http_connection_manager', typed_config: typed(TYPE.httpConnectionManager, config) };
}

/** Request hygiene every HCM gets, so path-based policy cannot be dodged with `//` or `/./`. */
const PATH_HYGIENE: HttpConnectionManager = { normalize_path: true, merge_slashes: true };

/**
 * Where policy is enforced (inbound and gateways), `%2F`/`%5C` are decoded
 * too, before normalisation: RBAC then sees the path the app will act on, so
 * `/admin%2Fx` cannot slip past a DENY on `/admin/*`; and `secret.com.` loses
 * its trailing dot, so it cannot slip past a rule on host `secret.com`.
 * (Outbound HCMs leave both alone: an app may mean them, and no policy runs there.)
 */
export const ENFORCING_PATH_HYGIENE: HttpConnectionManager = {
  ...PATH_HYGIENE,
  path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD',
  strip_trailing_host_dot: true,
};

/**
 * The inbound route configuration of a target port (served over RDS, named
 * like its cluster): everything to the local app, with the access policies of
 * the workload as per-filter config of its one virtual host. As in Istio, a
 * gRPC (HTTP/2) port gets no inbound retry policy.
 */
export function inboundRouteConfiguration(
  clusterName: string,
  targetPort: number,
  perFilter: { [name: string]: Any },
  http2 = false,
): RouteConfiguration {
  const route: RouteAction = { cluster: clusterName, timeout: '0s' };
  if (!http2) route.retry_policy = inboundRetryPolicy();
  return {
    name: clusterName,
    virtual_hosts: [
      {
        name: `inbound|http|${targetPort}`,
        domains: ['*'],
        routes: [{ name: 'default', match: { prefix: '/' }, route }],
        ...(Object.keys(perFilter).length > 0 ? { typed_per_filter_config: perFilter } : {}),
      },
    ],
    validate_clusters: false,
  };
}

/**
 * Inbound HCM: routes everything to the local app (route configuration
 * `clusterName` over RDS). On mTLS chains the peer's identity is appended to
 * X-Forwarded-Client-Cert; on plaintext chains any client-supplied XFCC is
 * stripped so nobody can claim an identity unverified.
 */
export function inboundHttpConnectionManager(
  clusterName: string,
  targetPort: number,
  mutualTls: boolean,
  accessFilters: readonly HttpFilter[],
): Filter {
  const config: HttpConnectionManager = {
    stat_prefix: `inbound_${targetPort}`,
    rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: clusterName },
    http_filters: [...accessFilters, ROUTER_FILTER],
    ...ENFORCING_PATH_HYGIENE,
    forward_client_cert_details: mutualTls ? 'APPEND_FORWARD' : 'SANITIZE',
  };
  if (mutualTls) config.set_current_client_cert_details = { subject: true, uri: true, dns: true };
  return hcmFilter(config);
}

/** Outbound HCM: routes by Host through a route configuration served over RDS. */
export function outboundHttpConnectionManager(statPrefix: string, routeConfigName: string, filters: readonly string[] = []): Filter {
  return hcmFilter({
    stat_prefix: statPrefix,
    rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: routeConfigName },
    http_filters: httpFilters(filters),
    ...PATH_HYGIENE,
  });
}

export function tcpProxyFilter(statPrefix: string, cluster: string, weighted?: readonly { cluster: string; weight: number }[]): Filter {
  const config: TcpProxy =
    weighted && weighted.length > 1
      ? { stat_prefix: statPrefix, weighted_clusters: { clusters: weighted.map((w) => ({ name: w.cluster, weight: w.weight })) } }
      : { stat_prefix: statPrefix, cluster: weighted?.[0]?.cluster ?? cluster };
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: typed(TYPE.tcpProxy, config) };
}
