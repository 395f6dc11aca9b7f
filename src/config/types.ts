// Typed, validated config as meshlite understands it after loading. Field names
// follow the Istio APIs; legacy kinds are already converted to modern ones.
import type { AuthorizationPolicy, RequestAuthentication } from './authz-types.js';
import type { Labels, Resource } from './resource.js';
import type { Sidecar } from './sidecar-types.js';
export type { Labels, Meta, Resource, Source } from './resource.js';

export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

/**
 * PeerAuthentication, also produced from legacy Policy/MeshPolicy. Legacy
 * policies target services rather than labels, so `targetService` holds the
 * service host and `portLevelMtls` is keyed by service port for those.
 */
export interface PeerAuthenticationSpec {
  selector?: Labels;
  mtlsMode: MtlsMode;
  portLevelMtls: ReadonlyMap<number, MtlsMode>;
  legacy?: { targetService?: string; portsAreServicePorts: boolean };
}

export type TlsMode = 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

export interface ClientTlsSettings {
  mode: TlsMode;
  clientCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  caCrl?: string;
  credentialName?: string;
  subjectAltNames: readonly string[];
  sni?: string;
  insecureSkipVerify: boolean;
}

export interface LoadBalancerSettings {
  simple?: 'UNSPECIFIED' | 'RANDOM' | 'PASSTHROUGH' | 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'LEAST_CONN';
}

export interface ConnectionPoolSettings {
  tcp?: { maxConnections?: number; connectTimeout?: string };
  http?: { http1MaxPendingRequests?: number; http2MaxRequests?: number; maxRequestsPerConnection?: number; maxRetries?: number };
}

export interface OutlierDetection {
  consecutive5xxErrors?: number;
  consecutiveGatewayErrors?: number;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
}

export interface TrafficPolicyCore {
  tls?: ClientTlsSettings;
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
}

export interface TrafficPolicy extends TrafficPolicyCore {
  portLevelSettings: ReadonlyMap<number, TrafficPolicyCore>;
}

export interface Subset {
  name: string;
  labels: Labels;
  trafficPolicy?: TrafficPolicy;
}

export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets: readonly Subset[];
  exportTo: readonly string[];
}

export type Resolution = 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
export type Location = 'MESH_EXTERNAL' | 'MESH_INTERNAL';

export interface ServicePortSpec {
  number: number;
  protocol: string;
  name: string;
  targetPort?: number;
}

export interface WorkloadEntrySpec {
  address: string;
  ports: Readonly<Record<string, number>>;
  labels: Labels;
  network?: string;
  locality?: string;
  weight?: number;
  serviceAccount?: string;
  /** False for an auto-registered entry whose agent's probe fails; never read from YAML. */
  healthy?: boolean;
}

/** How an auto-registering agent checks its workload: exactly one of httpGet, tcpSocket, exec. */
export interface WorkloadProbe {
  httpGet?: {
    path: string;
    port: number;
    host?: string;
    scheme: 'HTTP' | 'HTTPS';
    httpHeaders: readonly { name: string; value: string }[];
  };
  tcpSocket?: { port: number; host?: string };
  exec?: { command: readonly string[] };
  /** Seconds; the Kubernetes defaults apply when unset. */
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
  initialDelaySeconds: number;
}

export interface WorkloadGroupSpec {
  /** Labels and annotations every registered WorkloadEntry gets. */
  metadata: { labels: Labels; annotations: Labels };
  /** The WorkloadEntry template; each registration adds its address. */
  template: Omit<WorkloadEntrySpec, 'address'>;
  probe?: WorkloadProbe;
}

export interface ServiceEntrySpec {
  hosts: readonly string[];
  addresses: readonly string[];
  ports: readonly ServicePortSpec[];
  location: Location;
  resolution: Resolution;
  endpoints: readonly WorkloadEntrySpec[];
  workloadSelector?: Labels;
  exportTo: readonly string[];
  subjectAltNames: readonly string[];
}

export type InterceptionMode = 'EXPLICIT' | 'TRANSPARENT';

export interface MeshConfigSpec {
  trustDomain: string;
  trustDomainAliases: readonly string[];
  rootNamespace: string;
  enableAutoMtls: boolean;
  domainSuffix: string;
  defaultInterceptionMode: InterceptionMode;
  /** Authorization services AuthorizationPolicy CUSTOM names as its provider (Istio's meshConfig.extensionProviders). */
  extensionProviders: readonly ExtensionProvider[];
  /** Envoy access logs of every sidecar and gateway (Istio's accessLogFile/Encoding/Format); absent: off. */
  accessLog?: AccessLogSettings;
}

/** Where and how proxies write access logs; `text`/`json` replace meshlite's default format of that encoding. */
export interface AccessLogSettings {
  /** An absolute path on the proxy's host, such as `/dev/stdout`. */
  path: string;
  encoding: 'TEXT' | 'JSON';
  /** A custom TEXT format, ending with a newline. */
  text?: string;
  /** A custom JSON template: field name to format string. */
  json?: Readonly<Record<string, string>>;
}

/** An external authorization service, reached through the proxy's outbound cluster for `service:port`. */
export interface ExtAuthzProvider {
  /** A host of the registry (`ext-authz.foo.svc.cluster.local`, or a short `ext-authz.foo`). */
  service: string;
  port: number;
  /** Istio duration for each check; Istio's default 10m when absent. */
  timeout?: string;
  /** Let requests through when the service cannot be reached (default: deny). */
  failOpen: boolean;
  /** HTTP status when the service errs and failOpen is off (Envoy default 403); one of Envoy's `envoy.type.v3.StatusCode` values. */
  statusOnError?: number;
}

export interface ExtAuthzHttpProvider extends ExtAuthzProvider {
  /** Prepended to the original request path in the check request (starts with `/`). */
  pathPrefix?: string;
  /** Header names, or `prefix*` / `*suffix` patterns (matched ignoring case), in every list below. */
  includeRequestHeadersInCheck: readonly string[];
  includeAdditionalHeadersInCheck: Readonly<Record<string, string>>;
  headersToUpstreamOnAllow: readonly string[];
  headersToDownstreamOnDeny: readonly string[];
  headersToDownstreamOnAllow: readonly string[];
  /** Send the request body (up to this many bytes) to the service. */
  includeRequestBodyInCheck?: { maxRequestBytes: number; allowPartialMessage: boolean };
}

export type ExtensionProvider =
  | { name: string; kind: 'envoyExtAuthzHttp'; http: ExtAuthzHttpProvider }
  | { name: string; kind: 'envoyExtAuthzGrpc'; grpc: ExtAuthzProvider };

export const DEFAULT_MESH_CONFIG: MeshConfigSpec = {
  trustDomain: 'cluster.local',
  trustDomainAliases: [],
  rootNamespace: 'istio-system',
  enableAutoMtls: true,
  domainSuffix: 'cluster.local',
  defaultInterceptionMode: 'EXPLICIT',
  extensionProviders: [],
};

export type PeerAuthentication = Resource<'PeerAuthentication', PeerAuthenticationSpec>;
export type DestinationRule = Resource<'DestinationRule', DestinationRuleSpec>;
export type ServiceEntry = Resource<'ServiceEntry', ServiceEntrySpec>;
export type WorkloadEntry = Resource<'WorkloadEntry', WorkloadEntrySpec>;
export type MeshConfig = Resource<'MeshConfig', MeshConfigSpec>;
export type WorkloadGroup = Resource<'WorkloadGroup', WorkloadGroupSpec>;

/** Everything loaded from a config directory, validated and normalised. */
export interface ConfigSet {
  mesh: MeshConfigSpec;
  peerAuthentications: readonly PeerAuthentication[];
  destinationRules: readonly DestinationRule[];
  serviceEntries: readonly ServiceEntry[];
  workloadEntries: readonly WorkloadEntry[];
  /** Templates agents register WorkloadEntries from (absent in sets built by hand). */
  workloadGroups?: readonly WorkloadGroup[];
  gateways: readonly Gateway[];
  virtualServices: readonly VirtualService[];
  authorizationPolicies: readonly AuthorizationPolicy[];
  requestAuthentications: readonly RequestAuthentication[];
  sidecars: readonly Sidecar[];
}

// ---- networking.istio.io Gateway and VirtualService ----

export type ServerTlsMode = 'PASSTHROUGH' | 'SIMPLE' | 'MUTUAL' | 'AUTO_PASSTHROUGH' | 'ISTIO_MUTUAL' | 'OPTIONAL_MUTUAL';
export type TlsProtocolVersion = 'TLS_AUTO' | 'TLSV1_0' | 'TLSV1_1' | 'TLSV1_2' | 'TLSV1_3';

export interface ServerTlsSettings {
  mode: ServerTlsMode;
  httpsRedirect: boolean;
  credentialName?: string;
  serverCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  subjectAltNames: readonly string[];
  minProtocolVersion?: TlsProtocolVersion;
  maxProtocolVersion?: TlsProtocolVersion;
  cipherSuites: readonly string[];
}

export interface GatewayServer {
  port: { number: number; name: string; protocol: string; targetPort?: number };
  /** Hosts as written: `host`, `*.example.com`, `ns/host`, `./host`, `*`. */
  hosts: readonly string[];
  /** Only `tls.httpsRedirect` for a plain HTTP server. */
  tls?: ServerTlsSettings;
  name?: string;
  bind?: string;
}

export interface GatewaySpec {
  selector: Labels;
  servers: readonly GatewayServer[];
}

export type StringMatch = { exact: string } | { prefix: string } | { regex: string };

export interface HttpMatchRequest {
  name?: string;
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  headers: Readonly<Record<string, StringMatch>>;
  withoutHeaders: Readonly<Record<string, StringMatch>>;
  queryParams: Readonly<Record<string, StringMatch>>;
  port?: number;
  sourceLabels?: Labels;
  sourceNamespace?: string;
  /** Gateway names this match is limited to (already qualified `ns/name` or `mesh`). */
  gateways: readonly string[];
  ignoreUriCase: boolean;
}

export interface Destination {
  /** As written; resolved against the VirtualService's namespace by the model. */
  host: string;
  subset?: string;
  port?: number;
}

export interface HeaderOperations {
  set: Readonly<Record<string, string>>;
  add: Readonly<Record<string, string>>;
  remove: readonly string[];
}

export interface Headers {
  request?: HeaderOperations;
  response?: HeaderOperations;
}

export interface HttpRouteDestination {
  destination: Destination;
  weight?: number;
  headers?: Headers;
}

export interface HttpRoute {
  name?: string;
  match: readonly HttpMatchRequest[];
  route: readonly HttpRouteDestination[];
  redirect?: { uri?: string; authority?: string; port?: number; scheme?: string; redirectCode?: number };
  directResponse?: { status: number; body?: string };
  rewrite?: { uri?: string; authority?: string };
  timeout?: string;
  retries?: { attempts: number; perTryTimeout?: string; retryOn?: string };
  fault?: {
    delay?: { fixedDelay: string; percentage?: number };
    abort?: { httpStatus: number; percentage?: number };
  };
  mirror?: Destination;
  /** 0-100; default 100 when a mirror is set. */
  mirrorPercentage?: number;
  headers?: Headers;
}

export interface L4MatchAttributes {
  port?: number;
  sniHosts: readonly string[];
  destinationSubnets: readonly string[];
  gateways: readonly string[];
  sourceLabels?: Labels;
}

export interface RouteDestination {
  destination: Destination;
  weight?: number;
}

export interface TlsRoute {
  match: readonly L4MatchAttributes[];
  route: readonly RouteDestination[];
}

export interface TcpRoute {
  match: readonly L4MatchAttributes[];
  route: readonly RouteDestination[];
}

export interface VirtualServiceSpec {
  hosts: readonly string[];
  /** Qualified `ns/name` or `mesh`; defaults to [`mesh`]. */
  gateways: readonly string[];
  http: readonly HttpRoute[];
  tls: readonly TlsRoute[];
  tcp: readonly TcpRoute[];
  exportTo: readonly string[];
}

export type Gateway = Resource<'Gateway', GatewaySpec>;
export type VirtualService = Resource<'VirtualService', VirtualServiceSpec>;
