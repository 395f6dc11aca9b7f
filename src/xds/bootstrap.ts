// The Envoy bootstrap a user passes to `envoy -c`: who the proxy is, where its
// admin listens, and how it reaches meshlite (ADS over TLS, pinned to the
// meshlite CA root, with the proxy's token as call metadata).
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
  adminAddress: string;
  adminPort: number;
  /** PEM trust bundle for the ADS connection; plaintext ADS when undefined (insecure mode). */
  caRootPem?: string;
  token?: string;
}

export function buildBootstrap(options: BootstrapOptions): Bootstrap {
  const grpcService: GrpcService = { envoy_grpc: { cluster_name: XDS_CLUSTER } };
  if (options.token) grpcService.initial_metadata = [{ key: 'authorization', value: `Bearer ${options.token}` }];
  const xdsCluster: Cluster = {
    name: XDS_CLUSTER,
    type: /^[\d.]+$/.test(options.adsHost) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: XDS_CLUSTER,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(options.adsHost, options.adsPort) } }] }],
    },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed(TYPE.httpProtocolOptions, {
        explicit_http_config: { http2_protocol_options: {} },
      }),
    },
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
