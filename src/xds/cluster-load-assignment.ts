// ClusterLoadAssignment (EDS) resources: endpoints grouped by locality, with the
// metadata auto mTLS uses to pick a transport socket per endpoint.
import type { EndpointView } from '../model/view-types.js';
import { socketAddress } from './common.js';
import type { ClusterLoadAssignment, LbEndpoint, Locality } from './envoy-types/index.js';

export const TRANSPORT_SOCKET_MATCH_KEY = 'envoy.transport_socket_match';

export function buildClusterLoadAssignment(clusterName: string, endpoints: readonly EndpointView[]): ClusterLoadAssignment {
  const byLocality = new Map<string, EndpointView[]>();
  for (const e of endpoints) {
    const key = e.locality ?? '';
    byLocality.set(key, [...(byLocality.get(key) ?? []), e]);
  }
  const groups = [...byLocality.entries()].sort(([a], [b]) => a.localeCompare(b));
  return {
    cluster_name: clusterName,
    endpoints: groups.map(([locality, members]) => ({
      locality: toLocality(locality),
      lb_endpoints: [...members].sort(compareEndpoints).map(lbEndpoint),
    })),
  };
}

function lbEndpoint(e: EndpointView): LbEndpoint {
  const out: LbEndpoint = { endpoint: { address: socketAddress(e.address, e.port) } };
  if (e.istioMtls) out.metadata = { filter_metadata: { [TRANSPORT_SOCKET_MATCH_KEY]: { tlsMode: 'istio' } } };
  if (e.weight) out.load_balancing_weight = e.weight;
  if (e.unhealthy) out.health_status = 'UNHEALTHY';
  return out;
}

function toLocality(locality: string): Locality {
  const [region, zone, subZone] = locality.split('/');
  const out: Locality = {};
  if (region) out.region = region;
  if (zone) out.zone = zone;
  if (subZone) out.sub_zone = subZone;
  return out;
}

function compareEndpoints(a: EndpointView, b: EndpointView): number {
  return a.address.localeCompare(b.address) || a.port - b.port;
}
