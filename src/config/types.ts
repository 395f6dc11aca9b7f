// Typed, validated config as meshlite understands it after loading. Field names
// follow the Istio APIs; legacy kinds are already converted to modern ones.
export type Labels = Readonly<Record<string, string>>;

export interface Source {
  file: string;
  line: number;
}

export interface Meta {
  name: string;
  namespace: string;
  labels: Labels;
  annotations: Labels;
  creationTimestamp?: string;
}

export interface Resource<Kind extends string, Spec> {
  kind: Kind;
  meta: Meta;
  spec: Spec;
  source: Source;
}

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
}

export const DEFAULT_MESH_CONFIG: MeshConfigSpec = {
  trustDomain: 'cluster.local',
  trustDomainAliases: [],
  rootNamespace: 'istio-system',
  enableAutoMtls: true,
  domainSuffix: 'cluster.local',
  defaultInterceptionMode: 'EXPLICIT',
};

export type PeerAuthentication = Resource<'PeerAuthentication', PeerAuthenticationSpec>;
export type DestinationRule = Resource<'DestinationRule', DestinationRuleSpec>;
export type ServiceEntry = Resource<'ServiceEntry', ServiceEntrySpec>;
export type WorkloadEntry = Resource<'WorkloadEntry', WorkloadEntrySpec>;
export type MeshConfig = Resource<'MeshConfig', MeshConfigSpec>;

/** Everything loaded from a config directory, validated and normalised. */
export interface ConfigSet {
  mesh: MeshConfigSpec;
  peerAuthentications: readonly PeerAuthentication[];
  destinationRules: readonly DestinationRule[];
  serviceEntries: readonly ServiceEntry[];
  workloadEntries: readonly WorkloadEntry[];
}
