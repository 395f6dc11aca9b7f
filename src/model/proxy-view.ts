// The per-proxy view (meshlite's IR): everything one sidecar needs, resolved
// from the mesh model, with no Envoy types in it. xds builders turn it into
// Envoy resources.
import type {
  ClientTlsSettings,
  Destination,
  InterceptionMode,
  MeshConfigSpec,
  TrafficPolicyCore,
  VirtualService,
} from '../config/types.js';
import { type AuthzView, authzView } from './authorization.js';
import { destinationCluster } from './destinations.js';
import { SIDECAR_ANNOTATIONS } from '../config/kinds/workload-entry.js';
import { effectiveTrafficPolicy, hostMatches } from './destination-rules.js';
import { MESH_GATEWAY } from './gateways.js';
import { type MeshModel, trustDomains } from './mesh-model.js';
import type { EffectiveMtlsMode } from './peer-authentication.js';
import { endpointPort, isHttp2Protocol, isHttpProtocol, isVisibleFrom, type Service, type ServicePort, type Workload } from './registry.js';
import { clusterName, hostDomains, sniName } from './names.js';
import { appendAll } from '../util/append-all.js';

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
  http: boolean;
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
  | { kind: 'simple' | 'mutual'; settings: ClientTlsSettings };

export interface EndpointView {
  address: string;
  port: number;
  /** The endpoint runs a sidecar that accepts mTLS on this port. */
  istioMtls: boolean;
  locality?: string;
  weight?: number;
}

export type DiscoveryType = 'EDS' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'ORIGINAL_DST';

export interface OutboundCluster {
  name: string;
  host: string;
  port: ServicePort;
  subset?: string;
  http: boolean;
  http2: boolean;
  discovery: DiscoveryType;
  endpoints: EndpointView[];
  tls: UpstreamTls;
  policy: TrafficPolicyCore;
}

export interface VirtualHostView {
  name: string;
  domains: string[];
  cluster: string;
  /** A VirtualService bound to `mesh` that routes this host (its routes replace the default one). */
  virtualService?: VirtualService;
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
  httpRoutes: Map<number, VirtualHostView[]>;
  /** TCP service ports reachable through a per-port outbound listener. */
  tcpPorts: OutboundTcpPort[];
  warnings: string[];
  /** The cluster a VirtualService destination (host written in `namespace`) means, if it exists here. */
  clusterFor(destination: Destination, namespace: string): string | undefined;
}

export interface ProxyView extends Omit<OutboundView, 'namespace'> {
  proxy: Workload;
  mesh: MeshConfigSpec;
  settings: ProxySettings;
  trustDomains: string[];
  inbound: InboundPort[];
  outbound: OutboundView;
  /** AuthorizationPolicies and RequestAuthentications that apply to the proxy's inbound traffic. */
  authz: AuthzView;
}

export function proxySettings(proxy: Workload, mesh: MeshConfigSpec): ProxySettings {
  const a = proxy.annotations;
  return {
    interceptionMode: (a[SIDECAR_ANNOTATIONS.interceptionMode] as InterceptionMode | undefined) ?? mesh.defaultInterceptionMode,
    applicationAddress: a[SIDECAR_ANNOTATIONS.applicationAddress] ?? '127.0.0.1',
    outboundAddress: a[SIDECAR_ANNOTATIONS.outboundAddress] ?? '127.0.0.1',
    outboundPort: Number(a[SIDECAR_ANNOTATIONS.outboundPort] ?? 15001),
  };
}

export function buildProxyView(model: MeshModel, proxy: Workload): ProxyView {
  const outbound = outboundView(model, proxy.namespace);
  return {
    ...outbound,
    proxy,
    mesh: model.mesh,
    settings: proxySettings(proxy, model.mesh),
    trustDomains: trustDomains(model.mesh),
    inbound: inboundPorts(model, proxy),
    outbound,
    authz: authzView(model, proxy),
  };
}

const outboundMemo = new WeakMap<MeshModel, Map<string, OutboundView>>();

/** The outbound side for clients in `namespace`, computed once per model. */
export function outboundView(model: MeshModel, namespace: string): OutboundView {
  let byNamespace = outboundMemo.get(model);
  if (!byNamespace) outboundMemo.set(model, (byNamespace = new Map()));
  let view = byNamespace.get(namespace);
  if (!view) byNamespace.set(namespace, (view = computeOutbound(model, namespace)));
  return view;
}

function computeOutbound(model: MeshModel, namespace: string): OutboundView {
  const warnings: string[] = [];
  const visible = model.registry.services.filter((s) => isVisibleFrom(s.exportTo, s.namespace, namespace));
  const clusters: OutboundCluster[] = [];
  const httpRoutes = new Map<number, VirtualHostView[]>();
  const tcpPorts: OutboundTcpPort[] = [];
  for (const service of visible) {
    for (const port of service.ports) {
      appendAll(clusters, outboundClusters(model, namespace, service, port));
      const cluster = clusterName('outbound', port.number, '', service.host);
      if (isHttpProtocol(port.protocol)) {
        const vhosts = httpRoutes.get(port.number) ?? [];
        const virtualService = meshVirtualService(model, service.host, namespace);
        vhosts.push({
          name: `${service.host}:${port.number}`,
          domains: hostDomains(service.host, port.number, namespace, model.mesh.domainSuffix),
          cluster,
          ...(virtualService ? { virtualService } : {}),
        });
        httpRoutes.set(port.number, vhosts);
      } else {
        const taken = tcpPorts.find((t) => t.port === port.number);
        if (taken)
          warnings.push(`TCP port ${port.number} of ${service.host} is already taken by ${taken.cluster}; it gets no outbound listener`);
        else tcpPorts.push({ port: port.number, cluster, ...tcpRoute(model, service.host, port.number, namespace) });
      }
    }
  }
  const known = new Set(clusters.map((c) => c.name));
  for (const tcp of tcpPorts) {
    if (!tcp.weighted) continue;
    const resolved = tcp.weighted.filter((w) => known.has(w.cluster));
    if (resolved.length < tcp.weighted.length) warnings.push(`tcp route for port ${tcp.port}: unknown destinations dropped`);
    if (resolved.length > 0) tcp.weighted = resolved;
    else delete tcp.weighted;
  }
  return { namespace, clusters, httpRoutes, tcpPorts, warnings, clusterFor: (d, ns) => destinationCluster(model, known, d, ns) };
}

/** The first `mesh` VirtualService tcp route for this host and port, as cluster weights. */
function tcpRoute(
  model: MeshModel,
  host: string,
  port: number,
  namespace: string,
): { weighted: { cluster: string; weight: number }[] } | undefined {
  const vs = meshVirtualService(model, host, namespace);
  const route = vs?.spec.tcp.find(
    (r) =>
      r.match.length === 0 ||
      r.match.some((m) => (m.port === undefined || m.port === port) && (m.gateways.length === 0 || m.gateways.includes(MESH_GATEWAY))),
  );
  if (!vs || !route) return undefined;
  const weighted = route.route.map((r) => {
    const destHost = model.registry.resolveHost(r.destination.host, vs.meta.namespace);
    const destPort = r.destination.port ?? model.registry.service(destHost)?.ports[0]?.number ?? port;
    return { cluster: clusterName('outbound', destPort, r.destination.subset ?? '', destHost), weight: r.weight ?? 1 };
  });
  return { weighted };
}

/** The oldest VirtualService bound to `mesh`, visible from `namespace`, that names this host. */
function meshVirtualService(model: MeshModel, host: string, namespace: string): VirtualService | undefined {
  return model.gateways
    .boundTo(MESH_GATEWAY)
    .find(
      (vs) =>
        isVisibleFrom(vs.spec.exportTo, vs.meta.namespace, namespace) &&
        vs.spec.hosts.some((h) => hostMatches(model.registry.resolveHost(h, vs.meta.namespace), host)),
    );
}

function inboundPorts(model: MeshModel, proxy: Workload): InboundPort[] {
  const byPort = new Map<number, InboundPort>();
  for (const service of model.registry.servicesOfWorkload(proxy)) {
    for (const port of service.ports) {
      const targetPort = endpointPort(proxy, port);
      const existing = byPort.get(targetPort);
      const http = isHttpProtocol(port.protocol);
      if (existing) {
        existing.services.push(`${service.host}:${port.number}`);
        existing.http = existing.http && http;
        continue;
      }
      const mode = model.peerAuthn.effectiveMode({ namespace: proxy.namespace, labels: proxy.labels, ports: proxy.ports }, targetPort);
      byPort.set(targetPort, { targetPort, http, mode, services: [`${service.host}:${port.number}`] });
    }
  }
  return [...byPort.values()].sort((a, b) => a.targetPort - b.targetPort);
}

function outboundClusters(model: MeshModel, clientNamespace: string, service: Service, port: ServicePort): OutboundCluster[] {
  const rule = model.destinationRules.find(service.host, service.namespace, clientNamespace);
  const subsets = [undefined, ...(rule?.spec.subsets ?? [])];
  return subsets.map((subset) => {
    const policy = effectiveTrafficPolicy(rule, port.number, subset);
    const members = subset
      ? service.endpoints.filter((e) => Object.entries(subset.labels).every(([k, v]) => e.labels[k] === v))
      : service.endpoints;
    const endpoints: EndpointView[] = members.map((e) => ({
      address: e.address,
      port: endpointPort(e, port),
      istioMtls:
        e.sidecar &&
        model.peerAuthn.effectiveMode({ namespace: e.namespace, labels: e.labels, ports: e.ports }, endpointPort(e, port)) !== 'DISABLE',
      locality: e.locality,
      weight: e.weight,
    }));
    const http2 = isHttp2Protocol(port.protocol);
    const istio = (): IstioMutualTls => ({
      sni: sniName(port.number, subset?.name ?? '', service.host),
      subjectAltNames: policy.tls?.subjectAltNames.length
        ? [...policy.tls.subjectAltNames].sort()
        : [...new Set([...members.map((e) => e.identity), ...service.subjectAltNames])].sort(),
      alpn: http2 ? ['istio', 'h2'] : ['istio'],
    });
    let tls: UpstreamTls;
    if (policy.tls) {
      const mode = policy.tls.mode;
      if (mode === 'DISABLE') tls = { kind: 'plaintext' };
      else if (mode === 'ISTIO_MUTUAL') tls = { kind: 'istio-mutual', istio: istio() };
      else tls = { kind: mode === 'SIMPLE' ? 'simple' : 'mutual', settings: policy.tls };
    } else if (model.mesh.enableAutoMtls && service.location === 'MESH_INTERNAL') {
      tls = { kind: 'auto', istio: istio() };
    } else {
      tls = { kind: 'plaintext' };
    }
    const discovery: DiscoveryType =
      service.resolution === 'STATIC'
        ? 'EDS'
        : service.resolution === 'DNS'
          ? 'STRICT_DNS'
          : service.resolution === 'DNS_ROUND_ROBIN'
            ? 'LOGICAL_DNS'
            : 'ORIGINAL_DST';
    return {
      name: clusterName('outbound', port.number, subset?.name ?? '', service.host),
      host: service.host,
      port,
      subset: subset?.name,
      http: isHttpProtocol(port.protocol),
      http2,
      discovery,
      endpoints: discovery === 'ORIGINAL_DST' ? [] : dnsFallback(discovery, endpoints, service, port),
      tls,
      policy,
    };
  });
}

/** A DNS service without endpoints resolves its own host name. */
function dnsFallback(discovery: DiscoveryType, endpoints: EndpointView[], service: Service, port: ServicePort): EndpointView[] {
  if (endpoints.length > 0 || discovery === 'EDS') return endpoints;
  return [{ address: service.host, port: port.targetPort ?? port.number, istioMtls: false }];
}
