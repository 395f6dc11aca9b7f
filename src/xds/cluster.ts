// Cluster resources: outbound clusters per service port (and subset), and the
// inbound cluster that forwards to the local application.
import type { EndpointView, InboundPort, OutboundCluster, TrafficPolicyCore, UpstreamTls } from '../model/view-types.js';
import { ADS_CONFIG_SOURCE, DEFAULT_CONNECT_TIMEOUT, protoDuration, RAW_BUFFER_SOCKET, typed } from './common.js';
import type {
  CircuitBreakers_Thresholds,
  Cluster,
  envoy_extensions_upstreams_http_v3_HttpProtocolOptions as HttpProtocolOptions,
  OutlierDetection,
} from './envoy-types/index.js';
import { buildClusterLoadAssignment } from './cluster-load-assignment.js';
import { istioMutualUpstreamSocket, userUpstreamSocket } from './tls-context.js';
import { TYPE } from './type-urls.js';

export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
/** Where REGISTRY_ONLY sends connections to unknown destinations: a cluster without endpoints. */
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';

export function buildOutboundCluster(view: OutboundCluster): Cluster {
  const cluster: Cluster = {
    name: view.name,
    connect_timeout: view.policy.connectionPool?.tcp?.connectTimeout
      ? protoDuration(view.policy.connectionPool.tcp.connectTimeout)
      : DEFAULT_CONNECT_TIMEOUT,
  };
  switch (view.discovery) {
    case 'EDS':
      cluster.type = 'EDS';
      cluster.eds_cluster_config = { eds_config: ADS_CONFIG_SOURCE, service_name: view.name };
      break;
    case 'STRICT_DNS':
    case 'LOGICAL_DNS':
      cluster.type = view.discovery;
      cluster.dns_lookup_family = 'V4_ONLY';
      cluster.load_assignment = buildClusterLoadAssignment(view.name, view.endpoints);
      break;
    case 'ORIGINAL_DST':
      cluster.type = 'ORIGINAL_DST';
      cluster.lb_policy = 'CLUSTER_PROVIDED';
      break;
  }
  if (view.discovery !== 'ORIGINAL_DST') applyLoadBalancer(cluster, view.policy);
  applyConnectionPool(cluster, view.policy);
  applyOutlierDetection(cluster, view.policy);
  applyTransportSocket(cluster, view.tls);
  applyProtocolOptions(cluster, view);
  if (view.destinationRule) cluster.metadata = destinationRuleMetadata(view.destinationRule);
  return cluster;
}

/**
 * Names the DestinationRule behind a cluster in the cluster's metadata, under
 * `istio.config` as the resource path Istio's tools read, so `meshlite
 * proxy-config clusters` (and istioctl) show it from any config_dump.
 */
function destinationRuleMetadata(rule: string): Cluster['metadata'] {
  const [namespace, name] = rule.split('/');
  return { filter_metadata: { istio: { config: `/apis/networking.istio.io/v1/namespaces/${namespace}/destination-rule/${name}` } } };
}

function applyTransportSocket(cluster: Cluster, tls: UpstreamTls): void {
  switch (tls.kind) {
    case 'plaintext':
      return;
    case 'istio-mutual':
      cluster.transport_socket = istioMutualUpstreamSocket(tls.istio);
      return;
    case 'auto':
      // Endpoints that run a sidecar carry tlsMode=istio metadata; the rest get plaintext.
      cluster.transport_socket_matches = [
        { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioMutualUpstreamSocket(tls.istio) },
        { name: 'tlsMode-disabled', match: {}, transport_socket: RAW_BUFFER_SOCKET },
      ];
      return;
    case 'simple':
    case 'mutual':
      cluster.transport_socket = userUpstreamSocket(tls.settings, tls.certificate, tls.validation);
  }
}

function applyLoadBalancer(cluster: Cluster, policy: TrafficPolicyCore): void {
  switch (policy.loadBalancer?.simple) {
    case 'LEAST_REQUEST':
    case 'LEAST_CONN':
      cluster.lb_policy = 'LEAST_REQUEST';
      break;
    case 'RANDOM':
      cluster.lb_policy = 'RANDOM';
      break;
    case 'PASSTHROUGH':
      cluster.type = 'ORIGINAL_DST';
      cluster.lb_policy = 'CLUSTER_PROVIDED';
      delete cluster.eds_cluster_config;
      delete cluster.load_assignment;
      delete cluster.dns_lookup_family;
      break;
    default:
      break;
  }
}

function applyConnectionPool(cluster: Cluster, policy: TrafficPolicyCore): void {
  const pool = policy.connectionPool;
  if (!pool) return;
  const thresholds: CircuitBreakers_Thresholds = {};
  if (pool.tcp?.maxConnections !== undefined) thresholds.max_connections = pool.tcp.maxConnections;
  if (pool.http?.http1MaxPendingRequests !== undefined) thresholds.max_pending_requests = pool.http.http1MaxPendingRequests;
  if (pool.http?.http2MaxRequests !== undefined) thresholds.max_requests = pool.http.http2MaxRequests;
  if (pool.http?.maxRetries !== undefined) thresholds.max_retries = pool.http.maxRetries;
  if (Object.keys(thresholds).length > 0) cluster.circuit_breakers = { thresholds: [thresholds] };
}

function applyOutlierDetection(cluster: Cluster, policy: TrafficPolicyCore): void {
  const od = policy.outlierDetection;
  if (!od) return;
  const out: OutlierDetection = {};
  if (od.consecutive5xxErrors !== undefined) {
    out.consecutive_5xx = od.consecutive5xxErrors;
    out.enforcing_consecutive_5xx = od.consecutive5xxErrors > 0 ? 100 : 0;
  }
  if (od.consecutiveGatewayErrors !== undefined) {
    out.consecutive_gateway_failure = od.consecutiveGatewayErrors;
    out.enforcing_consecutive_gateway_failure = od.consecutiveGatewayErrors > 0 ? 100 : 0;
  }
  if (od.interval) out.interval = protoDuration(od.interval);
  if (od.baseEjectionTime) out.base_ejection_time = protoDuration(od.baseEjectionTime);
  if (od.maxEjectionPercent !== undefined) out.max_ejection_percent = od.maxEjectionPercent;
  cluster.outlier_detection = out;
}

function applyProtocolOptions(cluster: Cluster, view: OutboundCluster): void {
  const options: HttpProtocolOptions = {};
  const maxRequests = view.policy.connectionPool?.http?.maxRequestsPerConnection;
  if (maxRequests) options.common_http_protocol_options = { max_requests_per_connection: maxRequests };
  const tls = view.tls;
  if (view.http && (tls.kind === 'simple' || tls.kind === 'mutual') && !tls.settings.sni) {
    // No SNI configured: take it from the request's Host and, unless the rule names the SANs to check
    // (Envoy would require both) or skips verification, verify the server certificate against it (as Istio).
    const autoSanValidation = !tls.settings.insecureSkipVerify && tls.settings.subjectAltNames.length === 0;
    options.upstream_http_protocol_options = { auto_sni: true, auto_san_validation: autoSanValidation };
  }
  if (view.http2) options.explicit_http_config = { http2_protocol_options: {} };
  else if (Object.keys(options).length > 0 && view.http) options.explicit_http_config = { http_protocol_options: {} };
  if (Object.keys(options).length === 0) return;
  cluster.typed_extension_protocol_options = {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed(TYPE.httpProtocolOptions, options),
  };
}

/** The cluster that hands inbound traffic to the application on its local address. */
export function buildInboundCluster(port: InboundPort, applicationAddress: string): Cluster {
  const { cluster: name, targetPort } = port;
  const endpoint: EndpointView = { address: applicationAddress, port: targetPort, istioMtls: false };
  const cluster: Cluster = {
    name,
    type: 'STATIC',
    connect_timeout: DEFAULT_CONNECT_TIMEOUT,
    load_assignment: buildClusterLoadAssignment(name, [endpoint]),
  };
  // A gRPC application speaks only HTTP/2: Envoy's default HTTP/1.1 upstream would be a protocol error.
  if (port.http2)
    cluster.typed_extension_protocol_options = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed(TYPE.httpProtocolOptions, {
        explicit_http_config: { http2_protocol_options: {} },
      }),
    };
  return cluster;
}

/** Original-destination forwarding for unknown destinations in TRANSPARENT mode. */
export function buildBlackHoleCluster(): Cluster {
  return { name: BLACKHOLE_CLUSTER, type: 'STATIC', connect_timeout: DEFAULT_CONNECT_TIMEOUT };
}

export function buildPassthroughCluster(): Cluster {
  return { name: PASSTHROUGH_CLUSTER, type: 'ORIGINAL_DST', connect_timeout: DEFAULT_CONNECT_TIMEOUT, lb_policy: 'CLUSTER_PROVIDED' };
}
