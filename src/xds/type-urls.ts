// Envoy type URLs meshlite produces, in one place.
import type { Cluster, ClusterLoadAssignment, Listener, RouteConfiguration, Secret } from './envoy-types/index.js';

const typeUrl = <N extends string>(name: N) => `type.googleapis.com/${name}` as const;

export const TYPE = {
  cluster: typeUrl('envoy.config.cluster.v3.Cluster'),
  clusterLoadAssignment: typeUrl('envoy.config.endpoint.v3.ClusterLoadAssignment'),
  listener: typeUrl('envoy.config.listener.v3.Listener'),
  routeConfiguration: typeUrl('envoy.config.route.v3.RouteConfiguration'),
  secret: typeUrl('envoy.extensions.transport_sockets.tls.v3.Secret'),
  upstreamTlsContext: typeUrl('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext'),
  downstreamTlsContext: typeUrl('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext'),
  rawBuffer: typeUrl('envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer'),
  httpConnectionManager: typeUrl('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'),
  tcpProxy: typeUrl('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy'),
  router: typeUrl('envoy.extensions.filters.http.router.v3.Router'),
  tlsInspector: typeUrl('envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector'),
  originalDst: typeUrl('envoy.extensions.filters.listener.original_dst.v3.OriginalDst'),
  httpProtocolOptions: typeUrl('envoy.extensions.upstreams.http.v3.HttpProtocolOptions'),
  previousHosts: typeUrl('envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate'),
  uriTemplateMatch: typeUrl('envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig'),
  fileAccessLog: typeUrl('envoy.extensions.access_loggers.file.v3.FileAccessLog'),
  stdoutAccessLog: typeUrl('envoy.extensions.access_loggers.stream.v3.StdoutAccessLog'),
  stderrAccessLog: typeUrl('envoy.extensions.access_loggers.stream.v3.StderrAccessLog'),
} as const;

/** The xDS resource types a proxy receives, in the order they are pushed. */
export const RESOURCE_TYPES = ['clusters', 'endpoints', 'listeners', 'routes', 'secrets'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export const TYPE_URL_OF: Readonly<Record<ResourceType, string>> = {
  clusters: TYPE.cluster,
  endpoints: TYPE.clusterLoadAssignment,
  listeners: TYPE.listener,
  routes: TYPE.routeConfiguration,
  secrets: TYPE.secret,
};

/** The message each resource type holds, as the builders write it. */
export interface ResourceOf {
  clusters: Cluster;
  endpoints: ClusterLoadAssignment;
  listeners: Listener;
  routes: RouteConfiguration;
  secrets: Secret;
}
export type EnvoyResource = ResourceOf[ResourceType];
