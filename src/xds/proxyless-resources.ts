// xDS resources shaped for proxyless gRPC clients (as grpc-js-xds
// implements them), not for Envoy: client listeners are `api_listener`s that
// carry an HttpConnectionManager, every cluster is EDS, and every locality of
// a ClusterLoadAssignment has a weight (grpc drops localities without one).
import { ADS_CONFIG_SOURCE, DEFAULT_CONNECT_TIMEOUT, socketAddress, typed } from './common.js';
import type {
  Cluster,
  ClusterLoadAssignment,
  HttpFilter,
  LbEndpoint,
  Listener,
  Locality,
  RouteConfiguration,
} from './envoy-types/index.js';
import { TYPE } from './type-urls.js';
import type { ProxylessEndpoint, ProxylessMtls } from '../model/view-types.js';
import { proxylessUpstreamTls } from './proxyless-tls.js';

/** The vhost domain that matches any authority, so a later update can never leave the client without a vhost. */
export const ANY_DOMAIN = '*';

const ROUTER_FILTER: HttpFilter = { name: 'envoy.filters.http.router', typed_config: typed(TYPE.router) };

/**
 * A client listener: grpc resolves `xds:///<name>` by asking for the Listener
 * `<name>` and reads only its api_listener; the route table comes over RDS.
 * The router must be the last (here: only) HTTP filter.
 */
export function proxylessListener(name: string, routeConfigName: string): Listener {
  return {
    name,
    api_listener: {
      api_listener: typed(TYPE.httpConnectionManager, {
        stat_prefix: name,
        rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: routeConfigName },
        http_filters: [ROUTER_FILTER],
      }),
    },
  };
}

/**
 * One route configuration per service port, with a single virtual host that
 * answers to every published name and to `*` (a route config in which no vhost
 * matches the channel's authority crashes grpc-js-xds on the next update).
 */
export function proxylessRouteConfiguration(name: string, domains: readonly string[], cluster: string): RouteConfiguration {
  return {
    name,
    virtual_hosts: [
      {
        name,
        domains: [...domains.filter((d) => d !== ANY_DOMAIN), ANY_DOMAIN],
        routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster } }],
      },
    ],
  };
}

/**
 * An EDS cluster over ADS with round robin (grpc's `xds_wrr_locality` over
 * `round_robin`), with mTLS from the bootstrap's certificate provider when
 * `tls` is set (proxyless-tls.ts).
 */
export function proxylessCluster(name: string, maxRequests?: number, tls?: ProxylessMtls): Cluster {
  const cluster: Cluster = {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_CONFIG_SOURCE, service_name: name },
    connect_timeout: DEFAULT_CONNECT_TIMEOUT,
    lb_policy: 'ROUND_ROBIN',
  };
  if (maxRequests !== undefined) cluster.circuit_breakers = { thresholds: [{ priority: 'DEFAULT', max_requests: maxRequests }] };
  if (tls) cluster.transport_socket = proxylessUpstreamTls(tls.subjectAltNames);
  return cluster;
}

/**
 * Endpoints grouped by locality (always set, `{}` when the workload has none),
 * each locality weighted by the sum of its endpoints' weights so traffic
 * spreads over endpoints, not over localities.
 */
export function proxylessLoadAssignment(clusterName: string, endpoints: readonly ProxylessEndpoint[]): ClusterLoadAssignment {
  const groups = new Map<string, { locality: Locality; members: ProxylessEndpoint[] }>();
  for (const e of endpoints) {
    const locality = toLocality(e.locality);
    const key = JSON.stringify(locality);
    const group = groups.get(key) ?? { locality, members: [] };
    group.members.push(e);
    groups.set(key, group);
  }
  return {
    cluster_name: clusterName,
    endpoints: [...groups.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, { locality, members }]) => ({
        locality,
        lb_endpoints: [...members].sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port).map(lbEndpoint),
        load_balancing_weight: members.reduce((sum, e) => sum + endpointWeight(e), 0),
      })),
  };
}

function endpointWeight(e: ProxylessEndpoint): number {
  return e.weight && e.weight > 0 ? e.weight : 1;
}

function lbEndpoint(e: ProxylessEndpoint): LbEndpoint {
  const out: LbEndpoint = { endpoint: { address: socketAddress(e.address, e.port) } };
  if (e.weight && e.weight > 0) out.load_balancing_weight = e.weight;
  return out;
}

function toLocality(locality: string | undefined): Locality {
  const [region, zone, subZone] = (locality ?? '').split('/');
  const out: Locality = {};
  if (region) out.region = region;
  if (zone) out.zone = zone;
  if (subZone) out.sub_zone = subZone;
  return out;
}
