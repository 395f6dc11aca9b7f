// The outbound side of a proxy: the clusters, HTTP virtual hosts and TCP ports
// of every service visible from the client's namespace, with DestinationRule
// traffic policies and `mesh` VirtualService routes resolved.
import type { ClientTlsSettings, DestinationRule, VirtualService } from '../config/types.js';
import { appendAll } from '../util/append-all.js';
import { effectiveTrafficPolicy, hostMatches } from './destination-rules.js';
import { MESH_GATEWAY } from './gateways.js';
import type { MeshModel } from './mesh-model.js';
import { endpointAccepts } from './proxyless-tls.js';
import { clusterName, hostDomains, sniName } from './names.js';
import { endpointPort, isHttp2Protocol, isHttpProtocol, isVisibleFrom, type Service, type ServicePort } from './registry.js';
import { virtualServiceRoutes } from './route-resolution.js';
import { type OutboundScope, scopedServices } from './sidecar-scope.js';
import { credentialRef, fileCertRef, fileRootRef, ROOT_CA, type SecretRef, uniqueSecretRefs, WORKLOAD_CERT } from './secret-refs.js';
import type {
  DiscoveryType,
  EndpointView,
  IstioMutualTls,
  OutboundCluster,
  OutboundTcpPort,
  OutboundView,
  UpstreamTls,
  VirtualHostView,
} from './view-types.js';

/**
 * The outbound clusters of one service port under one DestinationRule (or
 * none) are the same for every client namespace that resolves that rule: a
 * memo (owned by whoever owns the model's views) computes them once and hands
 * every namespace the same objects, so what is built from them can be shared too.
 */
export class OutboundClusterMemo {
  private readonly byService = new Map<Service, Map<ServicePort, Map<DestinationRule | undefined, OutboundCluster[]>>>();

  clusters(service: Service, port: ServicePort, rule: DestinationRule | undefined, build: () => OutboundCluster[]): OutboundCluster[] {
    let byPort = this.byService.get(service);
    if (!byPort) this.byService.set(service, (byPort = new Map()));
    let byRule = byPort.get(port);
    if (!byRule) byPort.set(port, (byRule = new Map()));
    let clusters = byRule.get(rule);
    if (!clusters) byRule.set(rule, (clusters = build()));
    return clusters;
  }
}

/**
 * `proxylessMtls`: proxyless servers are run by agents and take mTLS under
 * STRICT (false under `serve --insecure`, where they have no certificates).
 * `memo`: shares clusters between namespaces (one memo per model and `proxylessMtls`).
 */
export function computeOutbound(
  model: MeshModel,
  namespace: string,
  proxylessMtls = true,
  scope?: OutboundScope,
  memo?: OutboundClusterMemo,
): OutboundView {
  const warnings: string[] = [...(scope?.warnings ?? [])];
  const exported = model.registry.services.filter((s) => isVisibleFrom(s.exportTo, s.namespace, namespace));
  const visible = scope ? scopedServices(model, namespace, exported, scope) : exported;
  const clusters: OutboundCluster[] = [];
  const httpRoutes = new Map<number, VirtualHostView[]>();
  const tcpPorts: OutboundTcpPort[] = [];
  const routed: { vhost: VirtualHostView; vs: VirtualService }[] = [];
  for (const service of visible) {
    for (const port of service.ports) {
      const rule = model.destinationRules.find(service.host, service.namespace, namespace);
      const build = () => outboundClusters(model, rule, service, port, proxylessMtls);
      appendAll(clusters, memo ? memo.clusters(service, port, rule, build) : build());
      const cluster = clusterName('outbound', port.number, '', service.host);
      if (isHttpProtocol(port.protocol)) {
        const vhosts = httpRoutes.get(port.number) ?? [];
        const vhost: VirtualHostView = {
          name: `${service.host}:${port.number}`,
          domains: hostDomains(service.host, port.number, namespace, model.mesh.domainSuffix),
          cluster,
        };
        const virtualService = meshVirtualService(model, service.host, namespace);
        if (virtualService) routed.push({ vhost, vs: virtualService });
        vhosts.push(vhost);
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
  const routesOf = virtualServiceRoutes(model, known);
  for (const { vhost, vs } of routed) vhost.virtualService = routesOf(vs);
  for (const tcp of tcpPorts) {
    if (!tcp.weighted) continue;
    const kept = tcp.weighted.filter((w) => known.has(w.cluster));
    if (kept.length < tcp.weighted.length) warnings.push(`tcp route for port ${tcp.port}: unknown destinations dropped`);
    if (kept.length > 0) tcp.weighted = kept;
    else delete tcp.weighted;
  }
  return {
    namespace,
    clusters,
    httpRoutes: [...httpRoutes].map(([port, virtualHosts]) => ({ port, virtualHosts })),
    tcpPorts,
    secrets: uniqueSecretRefs(clusters.flatMap((c) => upstreamSecrets(c.tls))),
    warnings,
    ...(scope ? sidecarFields(scope) : {}),
  };
}

function sidecarFields({ sidecar }: OutboundScope): Pick<OutboundView, 'sidecar' | 'outboundTrafficPolicy'> {
  const mode = sidecar.spec.outboundTrafficPolicy;
  return { sidecar: `${sidecar.meta.namespace}/${sidecar.meta.name}`, ...(mode ? { outboundTrafficPolicy: mode } : {}) };
}

function upstreamSecrets(tls: UpstreamTls): SecretRef[] {
  if (tls.kind === 'plaintext') return [];
  if (tls.kind === 'auto' || tls.kind === 'istio-mutual') return [WORKLOAD_CERT, ROOT_CA];
  return [tls.certificate, tls.validation].filter((r): r is SecretRef => r !== undefined);
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

/** `rule`: the DestinationRule the client namespace resolves for the service (the only thing the namespace decides here). */
function outboundClusters(
  model: MeshModel,
  rule: DestinationRule | undefined,
  service: Service,
  port: ServicePort,
  proxylessMtls: boolean,
): OutboundCluster[] {
  const subsets = [undefined, ...(rule?.spec.subsets ?? [])];
  return subsets.map((subset) => {
    const policy = effectiveTrafficPolicy(rule, port.number, subset);
    const members = subset
      ? service.endpoints.filter((e) => Object.entries(subset.labels).every(([k, v]) => e.labels[k] === v))
      : service.endpoints;
    const endpoints: EndpointView[] = members.map((e) => ({
      address: e.address,
      port: endpointPort(e, port),
      istioMtls: endpointAccepts(model, e, port, proxylessMtls) !== 'plaintext',
      locality: e.locality,
      weight: e.weight,
      ...(e.unhealthy ? { unhealthy: true } : {}),
    }));
    const http2 = isHttp2Protocol(port.protocol);
    const sni = sniName(port.number, subset?.name ?? '', service.host);
    const istio = (): IstioMutualTls => ({
      sni,
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
      else tls = userTls(mode === 'SIMPLE' ? 'simple' : 'mutual', policy.tls);
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
      sni,
      http: isHttpProtocol(port.protocol),
      http2,
      discovery,
      endpoints: discovery === 'ORIGINAL_DST' ? [] : dnsFallback(discovery, endpoints, service, port),
      tls,
      policy,
      ...(rule ? { destinationRule: `${rule.meta.namespace}/${rule.meta.name}` } : {}),
    };
  });
}

/** SIMPLE or MUTUAL origination: certificates from files or a credentialName (served by meshlite over SDS). */
function userTls(kind: 'simple' | 'mutual', settings: ClientTlsSettings): UpstreamTls {
  const tls: UpstreamTls = { kind, settings };
  if (kind === 'mutual') {
    tls.certificate = settings.credentialName
      ? credentialRef(settings.credentialName, false)
      : fileCertRef(settings.clientCertificate!, settings.privateKey!);
  }
  if (!settings.insecureSkipVerify) {
    tls.validation = settings.credentialName ? credentialRef(settings.credentialName, true) : fileRootRef(settings.caCertificates);
  }
  return tls;
}

/** A DNS service without endpoints resolves its own host name. */
function dnsFallback(discovery: DiscoveryType, endpoints: EndpointView[], service: Service, port: ServicePort): EndpointView[] {
  if (endpoints.length > 0 || discovery === 'EDS') return endpoints;
  return [{ address: service.host, port: port.targetPort ?? port.number, istioMtls: false }];
}
