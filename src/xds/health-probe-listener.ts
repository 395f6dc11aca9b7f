// The plaintext health probe listener of a sidecar: a health checker without
// a mesh certificate GETs the declared paths on the workload address, and
// each is forwarded to the application's own port and path. Nothing else gets
// through: another path is 404, another method on a declared path 405. It has
// no TLS and no access filters (the declared paths are public by design);
// every other listener of the workload keeps its mTLS mode.
import type { HealthProbeListener } from '../model/view-types.js';
import { DEFAULT_CONNECT_TIMEOUT, socketAddress, typed } from './common.js';
import { buildClusterLoadAssignment } from './cluster-load-assignment.js';
import type { Cluster, HttpConnectionManager, Listener, Route, RouteConfiguration } from './envoy-types/index.js';
import { ENFORCING_PATH_HYGIENE, httpFilters } from './http-connection-manager.js';
import { TYPE } from './type-urls.js';

/** A probe that hangs longer than this is failed by Envoy rather than left to the checker's own timeout. */
const PROBE_TIMEOUT = '10s';

export function healthProbeListenerName(probes: HealthProbeListener): string {
  return `health-probes_${probes.address}_${probes.port}`;
}

function probeRoutes(probes: HealthProbeListener): Route[] {
  const forward: Route[] = probes.routes.map((r) => ({
    name: r.path,
    match: { path: r.path, headers: [{ name: ':method', string_match: { exact: 'GET' } }] },
    route: { cluster: r.cluster, prefix_rewrite: r.targetPath, timeout: PROBE_TIMEOUT },
  }));
  const wrongMethod: Route[] = probes.routes.map((r) => ({
    name: `${r.path} (not GET)`,
    match: { path: r.path },
    direct_response: { status: 405 },
    response_headers_to_add: [{ header: { key: 'allow', value: 'GET' } }],
  }));
  return [...forward, ...wrongMethod, { name: 'not a probe path', match: { prefix: '/' }, direct_response: { status: 404 } }];
}

function probeRouteConfiguration(probes: HealthProbeListener): RouteConfiguration {
  return {
    name: healthProbeListenerName(probes),
    virtual_hosts: [{ name: 'health-probes', domains: ['*'], routes: probeRoutes(probes) }],
  };
}

export function buildHealthProbeListener(probes: HealthProbeListener): Listener {
  const hcm: HttpConnectionManager = {
    stat_prefix: `health_probes_${probes.port}`,
    route_config: probeRouteConfiguration(probes),
    http_filters: httpFilters(),
    ...ENFORCING_PATH_HYGIENE,
    // Nobody on a plaintext port can claim a mesh identity.
    forward_client_cert_details: 'SANITIZE',
  };
  return {
    name: healthProbeListenerName(probes),
    address: socketAddress(probes.address, probes.port),
    filter_chains: [
      {
        name: 'health-probes',
        filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: typed(TYPE.httpConnectionManager, hcm) }],
      },
    ],
    traffic_direction: 'INBOUND',
  };
}

/** One cluster per application port the probes reach, like the inbound cluster of a target port. */
export function buildHealthProbeClusters(probes: HealthProbeListener, applicationAddress: string): Cluster[] {
  const ports = [...new Set(probes.routes.map((r) => r.targetPort))].sort((a, b) => a - b);
  return ports.map((port) => {
    const name = `probe|${port}`;
    return {
      name,
      type: 'STATIC',
      connect_timeout: DEFAULT_CONNECT_TIMEOUT,
      load_assignment: buildClusterLoadAssignment(name, [{ address: applicationAddress, port, istioMtls: false }]),
    };
  });
}
