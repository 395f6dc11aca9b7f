// The Envoy bootstrap a user passes to `envoy -c`: who the proxy is, where its
// admin listens, and how it reaches meshlite (ADS over TLS, pinned to the
// meshlite CA root, with the proxy's token as call metadata). With several
// replicas, the ADS cluster lists them all and keeps to the live ones.
import { ADS_CONFIG_SOURCE, socketAddress, typed } from './common.js';
import type { Bootstrap, Cluster, GrpcService } from './envoy-types/index.js';
import { TYPE } from './type-urls.js';

export const XDS_CLUSTER = 'meshlite-xds';
/** The DNS name on meshlite's ADS serving certificate. */
export const ADS_SERVER_NAME = 'meshlite';

export interface BootstrapOptions {
  proxyId: string;
  /** What meshlite serves this Envoy as (node metadata `MESHLITE`, for operators). */
  kind?: 'sidecar' | 'gateway';
  namespace: string;
  adsHost: string;
  adsPort: number;
  /** Every replica's ADS address; when given, replaces adsHost/adsPort. */
  adsEndpoints?: readonly { host: string; port: number }[];
  adminAddress: string;
  adminPort: number;
  /** PEM trust bundle for the ADS connection; plaintext ADS when undefined (insecure mode). */
  caRootPem?: string;
  token?: string;
}

/**
 * When the stream breaks Envoy opens a new one after a short backoff, through
 * the cluster's load balancer: a TCP health check keeps a dead replica out of
 * the pick, and with no panic threshold an unhealthy replica is never picked
 * while any other is healthy.
 */
function replicaFailover(): Pick<Cluster, 'health_checks' | 'common_lb_config'> {
  return {
    health_checks: [
      {
        timeout: '1s',
        interval: '2s',
        no_traffic_interval: '2s',
        unhealthy_threshold: 1,
        healthy_threshold: 1,
        tcp_health_check: {},
      },
    ],
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
  };
}

export function buildBootstrap(options: BootstrapOptions): Bootstrap {
  const grpcService: GrpcService = { envoy_grpc: { cluster_name: XDS_CLUSTER } };
  if (options.token) grpcService.initial_metadata = [{ key: 'authorization', value: `Bearer ${options.token}` }];
  const endpoints = options.adsEndpoints?.length ? options.adsEndpoints : [{ host: options.adsHost, port: options.adsPort }];
  const replicated = endpoints.length > 1;
  const xdsCluster: Cluster = {
    name: XDS_CLUSTER,
    type: endpoints.every((e) => /^[\d.]+$/.test(e.host)) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: XDS_CLUSTER,
      endpoints: [{ lb_endpoints: endpoints.map((e) => ({ endpoint: { address: socketAddress(e.host, e.port) } })) }],
    },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed(TYPE.httpProtocolOptions, {
        // HTTP/2 pings notice a replica that went silent (a partition), not only one whose connection closed.
        explicit_http_config: { http2_protocol_options: replicated ? { connection_keepalive: { interval: '5s', timeout: '3s' } } : {} },
      }),
    },
    ...(replicated ? replicaFailover() : {}),
  };
  if (options.caRootPem) {
    xdsCluster.transport_socket = {
      name: 'envoy.transport_sockets.tls',
      typed_config: typed(TYPE.upstreamTlsContext, {
        common_tls_context: {
          validation_context: {
            trusted_ca: { inline_string: options.caRootPem },
            match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: ADS_SERVER_NAME } }],
          },
        },
        sni: ADS_SERVER_NAME,
      }),
    };
  }
  return {
    node: {
      id: options.proxyId,
      cluster: options.proxyId,
      metadata: { NAMESPACE: options.namespace, MESHLITE: options.kind ?? 'sidecar' },
    },
    static_resources: { clusters: [xdsCluster] },
    dynamic_resources: {
      lds_config: ADS_CONFIG_SOURCE,
      cds_config: ADS_CONFIG_SOURCE,
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [grpcService], set_node_on_first_message_only: true },
    },
    admin: { address: socketAddress(options.adminAddress, options.adminPort) },
  };
}
