// The per-proxy view (meshlite's IR): everything one proxy needs, resolved from
// the mesh model into plain, serialisable data (no closures, no indexes, no
// Envoy types). src/xds builders read nothing else: this file is the contract
// between the model and the builders, and `<proxy>.view.json` goldens print it.
import type {
  AccessLogSettings,
  ClientTlsSettings,
  Destination,
  ExtensionProvider,
  GatewayServer,
  HttpRoute,
  HttpRouteDestination,
  InterceptionMode,
  L4MatchAttributes,
  RouteDestination,
  ServerTlsSettings,
  TrafficPolicyCore,
} from '../config/types.js';
import type { AuthorizationPolicy, RequestAuthentication } from '../config/authz-types.js';
import type { OutboundTrafficMode } from '../config/sidecar-types.js';
import type { EffectiveMtlsMode } from './peer-authentication.js';
import type { SecretRef } from './secret-refs.js';

// Config shapes the view carries as written (plain data out of the YAML).
export type {
  AccessLogSettings,
  AuthorizationPolicy,
  ClientTlsSettings,
  Destination,
  ExtensionProvider,
  GatewayServer,
  HttpRoute,
  InterceptionMode,
  RequestAuthentication,
  ServerTlsSettings,
  TrafficPolicyCore,
};
export type { AuthorizationAction, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource, JwtRule } from '../config/authz-types.js';
export type {
  ExtAuthzHttpProvider,
  ExtAuthzProvider,
  HeaderOperations,
  Headers,
  HttpMatchRequest,
  Labels,
  StringMatch,
  TlsProtocolVersion,
} from '../config/types.js';
export type { EffectiveMtlsMode, SecretRef };

/** TRANSPARENT mode: where iptables sends captured outbound and inbound connections. */
export const VIRTUAL_OUTBOUND_PORT = 15001;
export const VIRTUAL_INBOUND_PORT = 15006;

export type ProxyKind = 'sidecar' | 'gateway' | 'proxyless';

/** Node metadata `MESHLITE` value of a proxyless client (written by `meshlite bootstrap --grpc`). */
export const PROXYLESS_NODE_KIND = 'proxyless-grpc';

/** grpc's XdsServer bound to `<ip>:<port>` asks for the Listener this template names with `%s` = `<ip>:<port>` (`[<ipv6>]:<port>`). */
export const PROXYLESS_SERVER_LISTENER_TEMPLATE = 'grpc/server?xds.resource.listening_address=%s';

/** The gateway name VirtualServices bind to for sidecar (east-west) traffic. */
export const MESH_GATEWAY = 'mesh';

/** Who the proxy is. */
export interface ProxyIdentity {
  /** `<name>.<namespace>`. */
  id: string;
  namespace: string;
  address: string;
  /** SPIFFE URI of the workload identity. */
  identity: string;
}

export interface ProxySettings {
  interceptionMode: InterceptionMode;
  /** Where the application itself listens (inbound traffic is forwarded there). */
  applicationAddress: string;
  /** Where outbound listeners bind in EXPLICIT mode. */
  outboundAddress: string;
  /** The HTTP proxy port of the outbound side in EXPLICIT mode. */
  outboundPort: number;
}

export interface InboundPort {
  targetPort: number;
  /** The cluster forwarding to the application on this port. */
  cluster: string;
  http: boolean;
  /** Every service port here is GRPC or HTTP2: the application speaks HTTP/2 (h2c). */
  http2: boolean;
  mode: EffectiveMtlsMode;
  /** `host:port` of the services reaching the workload on this port. */
  services: string[];
}

export interface IstioMutualTls {
  sni: string;
  subjectAltNames: string[];
  alpn: string[];
}

export type UpstreamTls =
  | { kind: 'plaintext' }
  | { kind: 'auto'; istio: IstioMutualTls }
  | { kind: 'istio-mutual'; istio: IstioMutualTls }
  | {
      kind: 'simple' | 'mutual';
      settings: ClientTlsSettings;
      /** The client certificate (MUTUAL only). */
      certificate?: SecretRef;
      /** The CA that verifies the server (absent with insecureSkipVerify). */
      validation?: SecretRef;
    };

export interface ServicePortView {
  number: number;
  name: string;
  protocol: string;
  targetPort?: number;
}

export interface EndpointView {
  address: string;
  port: number;
  /** The endpoint runs a sidecar that accepts mTLS on this port. */
  istioMtls: boolean;
  locality?: string;
  weight?: number;
  /** Reported unhealthy by its agent's probe: Envoy sends it no traffic. */
  unhealthy?: boolean;
}

export type DiscoveryType = 'EDS' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'ORIGINAL_DST';

export interface OutboundCluster {
  name: string;
  host: string;
  port: ServicePortView;
  subset?: string;
  /** The SNI that names this cluster in mesh mTLS (and for AUTO_PASSTHROUGH gateways). */
  sni: string;
  http: boolean;
  http2: boolean;
  discovery: DiscoveryType;
  endpoints: EndpointView[];
  tls: UpstreamTls;
  policy: TrafficPolicyCore;
  /** The DestinationRule that applies to the cluster's host, as `namespace/name`. */
  destinationRule?: string;
}

/** A VirtualService destination with the cluster it resolved to (none: unknown host, port or subset). */
export type ResolvedHttpDestination = HttpRouteDestination & { cluster?: string };
export type ResolvedDestination = RouteDestination & { cluster?: string };

/** An http route as written, its destinations and mirror resolved to clusters. */
export interface HttpRouteView extends Omit<HttpRoute, 'route' | 'mirror'> {
  route: ResolvedHttpDestination[];
  mirror?: Destination & { cluster?: string };
}

export interface L4RouteView {
  match: readonly L4MatchAttributes[];
  route: ResolvedDestination[];
}

/** A VirtualService's routes, resolved for the clients of one namespace. */
export interface VirtualServiceRoutes {
  /** `namespace/name`, for warnings. */
  source: string;
  namespace: string;
  name: string;
  http: HttpRouteView[];
  tcp: L4RouteView[];
  tls: L4RouteView[];
}

export interface VirtualHostView {
  name: string;
  domains: string[];
  cluster: string;
  /** A VirtualService bound to `mesh` that routes this host (its routes replace the default one). */
  virtualService?: VirtualServiceRoutes;
}

export interface OutboundTcpPort {
  port: number;
  cluster: string;
  /** A `mesh` VirtualService's tcp route for this port: clusters with relative weights. */
  weighted?: { cluster: string; weight: number }[];
}

/**
 * Everything about reaching other services. It depends only on the client's
 * namespace, so it is computed once per namespace and shared by every proxy
 * there (and so are the Envoy resources and encodings built from it).
 */
export interface OutboundView {
  namespace: string;
  clusters: OutboundCluster[];
  /** HTTP virtual hosts by service port (TRANSPARENT route configs are per port). */
  httpRoutes: { port: number; virtualHosts: VirtualHostView[] }[];
  /** TCP service ports reachable through a per-port outbound listener. */
  tcpPorts: OutboundTcpPort[];
  /** Secrets the clusters' TLS needs. */
  secrets: SecretRef[];
  warnings: string[];
  /** `namespace/name` of the Sidecar resource that scoped this view (none: every visible service). */
  sidecar?: string;
  /** The Sidecar's outboundTrafficPolicy, when it sets one. */
  outboundTrafficPolicy?: OutboundTrafficMode;
}

/** An extension provider with the outbound cluster of its `service:port` (none: the registry lacks it). */
export type ProviderView = ExtensionProvider & { cluster?: string };

/** What the builders need to enforce a workload's access control. */
export interface AuthzView {
  /** Identifies the policy set: proxies with equal keys (in one model) get the same filters. */
  key: string;
  /** Sorted by namespace, then name. */
  authorizationPolicies: readonly AuthorizationPolicy[];
  requestAuthentications: readonly RequestAuthentication[];
  trustDomains: readonly string[];
  /** The providers CUSTOM policies may name. */
  providers: readonly ProviderView[];
  /** Fetched JWKS documents of the `jwksUri`s the RequestAuthentications name (inline `jwks` need none). */
  jwks: Readonly<Record<string, string>>;
}

/** One path a health checker may GET on the probe listener, and where the application answers it. */
export interface HealthProbeRoute {
  path: string;
  /** The cluster to the application's port (`probe|<port>`). */
  cluster: string;
  targetPort: number;
  targetPath: string;
}

/** A plaintext listener on the workload address for health checkers without mesh certificates. */
export interface HealthProbeListener {
  address: string;
  port: number;
  /** Sorted by path. */
  routes: HealthProbeRoute[];
}

export interface SidecarView {
  kind: 'sidecar';
  proxy: ProxyIdentity;
  settings: ProxySettings;
  trustDomains: string[];
  inbound: InboundPort[];
  outbound: OutboundView;
  /** AuthorizationPolicies and RequestAuthentications that apply to the proxy's inbound traffic. */
  authz: AuthzView;
  /** Every secret the proxy's resources reference. */
  secrets: SecretRef[];
  /** Declared with the WorkloadEntry's health probe annotation; not subject to mTLS or AuthorizationPolicies. */
  healthProbes?: HealthProbeListener;
  /** The MeshConfig's access log, when it sets one. */
  accessLog?: AccessLogSettings;
}

export type ServerKind = 'http' | 'https' | 'tls-terminate' | 'passthrough' | 'auto-passthrough' | 'tcp';

/** A Gateway server host split into its namespace part (`*` = any) and host part. */
export interface ServerHost {
  namespace: string;
  host: string;
}

export interface BoundVirtualService {
  routes: VirtualServiceRoutes;
  /** The VirtualService hosts this server serves, narrowed to the server's host patterns. */
  hosts: string[];
}

/** The server's certificate and the CA verifying clients (absent when clients are not verified). */
export interface ServerSecrets {
  certificate: SecretRef;
  validation?: SecretRef;
}

export interface GatewayServerView {
  gateway: string;
  gatewayNamespace: string;
  server: GatewayServer;
  kind: ServerKind;
  hosts: ServerHost[];
  tls?: ServerTlsSettings;
  /** Set for servers that terminate TLS (the proxy needs them when the server gets a filter chain). */
  secrets?: ServerSecrets;
  /** RDS name for HTTP(S) servers: `http.<port>` or `https.<port>.<portName>.<gateway>.<namespace>`. */
  routeConfigName?: string;
  /** For PASSTHROUGH servers, tls route matches keep only the SNI hosts the server admits (sorted). */
  virtualServices: BoundVirtualService[];
}

export interface GatewayPortView {
  port: number;
  bind: string;
  servers: GatewayServerView[];
}

export interface GatewayView {
  kind: 'gateway';
  proxy: ProxyIdentity;
  gateways: string[];
  trustDomains: string[];
  ports: GatewayPortView[];
  outbound: OutboundView;
  authz: AuthzView;
  warnings: string[];
  /** The MeshConfig's access log, when it sets one. */
  accessLog?: AccessLogSettings;
}

export interface ProxylessEndpoint {
  /** An IP literal: grpc NACKs a ClusterLoadAssignment with a host name in it. */
  address: string;
  port: number;
  locality?: string;
  weight?: number;
}

export interface ProxylessTarget {
  host: string;
  port: number;
  cluster: string;
  routeConfig: string;
  /** Listener names published for this service port, the canonical `<host>:<port>` first. */
  names: string[];
  endpoints: ProxylessEndpoint[];
  /** DestinationRule connectionPool.http.http2MaxRequests, as a circuit breaker. */
  maxRequests?: number;
  /** Set when the client must call with mTLS (certificates from its bootstrap provider `default`). */
  tls?: ProxylessMtls;
}

/** mTLS from a proxyless client: the SPIFFE ids a server may present. */
export interface ProxylessMtls {
  subjectAltNames: string[];
}

/** One port a proxyless app serves as an xDS-configured gRPC server. */
export interface ProxylessServerPort {
  /** `grpc/server?xds.resource.listening_address=<ip>:<port>`: what grpc's XdsServer asks for when it binds `<ip>:<port>`. */
  listener: string;
  address: string;
  port: number;
  /** The effective PeerAuthentication mode of the port. */
  mode: EffectiveMtlsMode;
  /** The server requires client certificates (STRICT, with proxyless security on). */
  mtls: boolean;
  /** `host:port` of the services reaching the app on this port. */
  services: string[];
}

/** What proxyless clients of one namespace can reach (shared by all of them). */
export interface ProxylessTargets {
  namespace: string;
  targets: ProxylessTarget[];
  warnings: string[];
}

export interface ProxylessView {
  kind: 'proxyless';
  proxy: ProxyIdentity;
  proxyless: ProxylessTargets;
  /** The ports the app serves, each a server Listener. */
  servers: ProxylessServerPort[];
  /** Policies enforced on its server ports (by gRPC's RBAC filter). */
  authz: AuthzView;
  /** The proxy's own warnings (those of its namespace's targets are in `proxyless`). */
  warnings: string[];
}

export type ProxyView = SidecarView | GatewayView | ProxylessView;
