// Realistic Envoy resources in canonical proto3 JSON: snake_case names in .proto
// declaration order, defaults omitted, map and Struct keys sorted.
import type { Json } from '../../src/proto/proto-json.js';

const TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

export const cluster: Json = {
  transport_socket_matches: [
    {
      name: 'tls-mode',
      match: { tlsMode: 'istio' },
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': TLS,
          common_tls_context: {
            tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: { ads: {}, resource_api_version: 'V3' } }],
            validation_context_sds_secret_config: {
              name: 'ROOTCA',
              sds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
            },
            alpn_protocols: ['istio-peer-exchange', 'istio'],
          },
          sni: 'outbound_.8080_._.reviews.default.svc.cluster.local',
        },
      },
    },
    {
      name: 'tlsMode-disabled',
      match: {},
      transport_socket: {
        name: 'envoy.transport_sockets.raw_buffer',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' },
      },
    },
  ],
  name: 'outbound|8080||reviews.default.svc.cluster.local',
  type: 'EDS',
  eds_cluster_config: {
    eds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
    service_name: 'outbound|8080||reviews.default.svc.cluster.local',
  },
  connect_timeout: '10s',
  per_connection_buffer_limit_bytes: 32768,
  lb_policy: 'LEAST_REQUEST',
  circuit_breakers: {
    thresholds: [
      {
        max_connections: 4294967295,
        max_pending_requests: 4294967295,
        max_requests: 4294967295,
        max_retries: 0,
        track_remaining: true,
      },
      { priority: 'HIGH', max_connections: 1024 },
    ],
  },
  typed_extension_protocol_options: {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      common_http_protocol_options: { idle_timeout: '3600s', max_requests_per_connection: 100 },
      use_downstream_protocol_config: {
        http_protocol_options: {},
        http2_protocol_options: { max_concurrent_streams: 1073741824 },
      },
    },
  },
  dns_refresh_rate: '0.100s',
  common_lb_config: { healthy_panic_threshold: {}, update_merge_window: '1.000500s' },
  transport_socket: {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': TLS,
      common_tls_context: {
        tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
        alpn_protocols: ['h2'],
      },
      sni: 'reviews.default.svc.cluster.local',
    },
  },
  metadata: {
    filter_metadata: {
      istio: {
        alpn_override: 'false',
        default_original_port: 8080,
        services: [{ host: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default' }],
        weights: null,
      },
      meshlite: { generation: 3, managed: true },
    },
  },
  ignore_health_on_host_removal: true,
};

export const listener: Json = {
  name: '0.0.0.0_8080',
  address: { socket_address: { address: '0.0.0.0', port_value: 8080 } },
  stat_prefix: 'ingress_http',
  filter_chains: [
    {
      filter_chain_match: { destination_port: 8080, transport_protocol: 'tls', application_protocols: ['istio-http/1.1', 'h2c'] },
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            stat_prefix: 'inbound_0.0.0.0_8080',
            rds: {
              config_source: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
              route_config_name: 'inbound|8080||',
            },
            http_filters: [
              {
                name: 'envoy.filters.http.fault',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
                  delay: { fixed_delay: '2s', percentage: { numerator: 10, denominator: 'TEN_THOUSAND' } },
                },
              },
              {
                name: 'envoy.filters.http.router',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                  dynamic_stats: false,
                  suppress_envoy_headers: true,
                },
              },
            ],
            stream_idle_timeout: '0s',
            use_remote_address: false,
            forward_client_cert_details: 'APPEND_FORWARD',
            set_current_client_cert_details: { subject: true, dns: true, uri: true },
            upgrade_configs: [{ upgrade_type: 'websocket' }],
            normalize_path: true,
            path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
          },
        },
      ],
      name: '0.0.0.0_8080',
    },
  ],
  listener_filters: [
    {
      name: 'envoy.filters.listener.tls_inspector',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' },
    },
    {
      name: 'envoy.filters.listener.http_inspector',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' },
    },
  ],
  listener_filters_timeout: '0s',
  continue_on_listener_filters_timeout: true,
  traffic_direction: 'INBOUND',
};

export const loadAssignment: Json = {
  cluster_name: 'outbound|8080||reviews.default.svc.cluster.local',
  endpoints: [
    {
      locality: { region: 'eu-west1', zone: 'eu-west1-b' },
      lb_endpoints: [
        {
          endpoint: { address: { socket_address: { address: '10.0.3.17', port_value: 8080 } } },
          health_status: 'HEALTHY',
          metadata: {
            filter_metadata: {
              'envoy.lb': { canary: false, version: 'v2' },
              'envoy.transport_socket_match': { tlsMode: 'istio' },
              istio: { workload: 'reviews-v2;default;reviews;v2;Kubernetes' },
            },
          },
          load_balancing_weight: 1,
        },
        {
          endpoint: { address: { socket_address: { address: '10.0.4.2', port_value: 8080 } }, hostname: 'reviews-v3' },
          health_status: 'DRAINING',
          load_balancing_weight: 3,
        },
      ],
      load_balancing_weight: 4,
      priority: 1,
    },
  ],
  policy: { overprovisioning_factor: 140 },
};

export const configDump: Json = {
  configs: [
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
      version_info: '2024-05-01T10:00:00Z/17',
      dynamic_active_clusters: [
        {
          version_info: '2024-05-01T10:00:00Z/17',
          cluster: {
            '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
            name: 'reviews',
            type: 'EDS',
            eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
            connect_timeout: '1s',
          },
          last_updated: '2024-05-01T10:00:01.250Z',
        },
        {
          version_info: '2024-05-01T10:00:00Z/17',
          cluster: {
            '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
            name: 'ratings',
            type: 'STRICT_DNS',
            connect_timeout: '0.250s',
          },
          last_updated: '2024-05-01T10:00:01.000123456Z',
          client_status: 'ACKED',
        },
      ],
    },
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump',
      dynamic_active_secrets: [
        {
          name: 'default',
          version_info: '7',
          last_updated: '2024-05-01T10:00:02Z',
          secret: {
            '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
            name: 'default',
            tls_certificate: {
              certificate_chain: { inline_bytes: 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==' },
              private_key: { inline_string: '[redacted]' },
            },
          },
        },
        {
          name: 'ROOTCA',
          version_info: '7',
          last_updated: '2024-05-01T10:00:02Z',
          secret: {
            '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
            name: 'ROOTCA',
            validation_context: { trusted_ca: { filename: '/etc/certs/root-cert.pem' } },
          },
        },
      ],
    },
  ],
};
