// Envoy type URLs meshlite produces, in one place.
const t = (name: string) => `type.googleapis.com/${name}`;

export const TYPE = {
  cluster: t('envoy.config.cluster.v3.Cluster'),
  clusterLoadAssignment: t('envoy.config.endpoint.v3.ClusterLoadAssignment'),
  listener: t('envoy.config.listener.v3.Listener'),
  routeConfiguration: t('envoy.config.route.v3.RouteConfiguration'),
  secret: t('envoy.extensions.transport_sockets.tls.v3.Secret'),
  upstreamTlsContext: t('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext'),
  downstreamTlsContext: t('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext'),
  rawBuffer: t('envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer'),
  httpConnectionManager: t('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'),
  tcpProxy: t('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy'),
  router: t('envoy.extensions.filters.http.router.v3.Router'),
  tlsInspector: t('envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector'),
  originalDst: t('envoy.extensions.filters.listener.original_dst.v3.OriginalDst'),
  httpProtocolOptions: t('envoy.extensions.upstreams.http.v3.HttpProtocolOptions'),
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
