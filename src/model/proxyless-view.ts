// What proxyless gRPC clients of one namespace can reach: every GRPC or HTTP2
// port of every visible service with resolution STATIC (WorkloadEntry or
// inline IP endpoints), the names an app may write after `xds:///`, its IP
// endpoints, the DestinationRule settings grpc can honour and the mTLS it uses.
import { isIP } from 'node:net';
import { authzView } from './authorization.js';
import { effectiveTrafficPolicy } from './destination-rules.js';
import type { MeshModel } from './mesh-model.js';
import { clusterName, hostDomains } from './names.js';
import { isProxylessWorkload, PROXYLESS_GRPC_ANNOTATION } from './proxy-kind.js';
import { proxyIdentity } from './proxy-view.js';
import { proxylessServers } from './proxyless-servers.js';
import { proxylessClientTls } from './proxyless-tls.js';
import { type Endpoint, endpointPort, isVisibleFrom, type Service, type ServicePort, type Workload } from './registry.js';
import type { OutboundView, ProxylessEndpoint, ProxylessTarget, ProxylessTargets, ProxylessView } from './view-types.js';

/** Service port protocols a gRPC channel can speak (HTTP/2 with gRPC framing). */
export const PROXYLESS_PROTOCOLS: readonly string[] = ['GRPC', 'HTTP2'];

/** Proxyless client workloads of a config (those with the annotation). */
export function proxylessClients(model: MeshModel): Workload[] {
  return model.registry.workloads.filter(isProxylessWorkload);
}

/**
 * `targets`: those of the proxy's namespace (MeshViews shares one per namespace).
 * `secure`: the app runs under `meshlite agent --grpc` (certificates exist), so STRICT ports get mTLS.
 */
export function buildProxylessView(model: MeshModel, proxy: Workload, targets: ProxylessTargets, secure: boolean): ProxylessView {
  const warnings: string[] = [];
  if (proxy.sidecar) warnings.push(`workload "${proxy.id}" also carries the sidecar label; meshlite serves it the proxyless config`);
  const servers = proxylessServers(model, proxy, secure, warnings);
  const authz = authzView(model, proxy);
  if (servers.length === 0 && (authz.authorizationPolicies.length > 0 || authz.requestAuthentications.length > 0)) {
    warnings.push(
      'AuthorizationPolicy/RequestAuthentication select this proxyless gRPC app, but it is the endpoint of no GRPC/HTTP2 service port, so it gets no server listener to enforce them on',
    );
  }
  return { kind: 'proxyless', proxy: proxyIdentity(proxy), proxyless: targets, servers, authz, warnings };
}

export { PROXYLESS_GRPC_ANNOTATION };

interface Candidate extends ProxylessTarget {
  aliases: string[];
}

/**
 * What a proxyless client in `namespace` can reach, with the listener names it
 * may use. `outbound`: the sidecar outbound view of the namespace, whose TLS
 * decisions mTLS follows; undefined when proxyless security is off (plaintext).
 */
export function proxylessTargets(model: MeshModel, namespace: string, outbound?: OutboundView): ProxylessTargets {
  const warnings: string[] = [];
  const candidates: Candidate[] = [];
  for (const service of model.registry.services) {
    if (!isVisibleFrom(service.exportTo, service.namespace, namespace)) continue;
    const grpcPorts = service.ports.filter((p) => PROXYLESS_PROTOCOLS.includes(p.protocol));
    for (const port of grpcPorts) {
      const target = `${service.host}:${port.number}`;
      if (candidates.some((c) => c.routeConfig === target)) {
        warnings.push(
          `${target}: also defined by ServiceEntry ${service.namespace}/${service.name}; proxyless clients get only the first definition`,
        );
        continue;
      }
      if (service.resolution !== 'STATIC') {
        warnings.push(
          `${target}: resolution ${service.resolution} is not served to proxyless clients (EDS only: use resolution STATIC with IP endpoints)`,
        );
        continue;
      }
      const cluster = clusterName('outbound', port.number, '', service.host);
      const endpoints = endpointsOf(service, port, warnings);
      const outboundCluster = outbound?.clusters.find((c) => c.name === cluster);
      const tls = proxylessClientTls(model, target, endpoints.kept, port, outboundCluster, warnings);
      candidates.push({
        host: service.host,
        port: port.number,
        cluster,
        routeConfig: target,
        names: [target],
        aliases: aliasesOf(model, service, port, namespace, grpcPorts.length === 1).filter((n) => n !== target),
        endpoints: endpoints.out,
        maxRequests: trafficPolicyOf(model, service, port, namespace, outbound !== undefined, warnings),
        ...(tls ? { tls } : {}),
      });
    }
  }
  // Canonical names first (a ServiceEntry host literally `greeter.bar` owns `greeter.bar:<port>`), then aliases in host order.
  const claimed = new Map<string, string>(candidates.map((c) => [c.routeConfig, c.routeConfig]));
  for (const c of candidates) {
    for (const alias of c.aliases) {
      const owner = claimed.get(alias);
      if (owner !== undefined) {
        if (owner !== c.routeConfig) warnings.push(`listener name "${alias}" of ${c.routeConfig} is already taken by ${owner}`);
        continue;
      }
      claimed.set(alias, c.routeConfig);
      c.names.push(alias);
    }
  }
  const targets = candidates.map(({ aliases: _aliases, ...t }) => t);
  return { namespace, targets, warnings };
}

/**
 * The names an app may write after `xds:///`: every name hostDomains gives
 * (FQDN, `name.ns.svc`, `name.ns`, and `name` from the same namespace) with
 * `:<port>`, and without a port when the service has a single gRPC port.
 */
function aliasesOf(model: MeshModel, service: Service, port: ServicePort, namespace: string, withoutPort: boolean): string[] {
  const domains = hostDomains(service.host, port.number, namespace, model.mesh.domainSuffix);
  return domains.filter((d) => withoutPort || d.endsWith(`:${port.number}`));
}

function endpointsOf(service: Service, port: ServicePort, warnings: string[]): { out: ProxylessEndpoint[]; kept: Endpoint[] } {
  const target = `${service.host}:${port.number}`;
  const seen = new Set<string>();
  const out: ProxylessEndpoint[] = [];
  const kept: Endpoint[] = [];
  for (const e of service.endpoints) {
    const p = endpointPort(e, port);
    const who = e.workload ? `workload ${e.workload.id}` : `endpoint ${e.address}`;
    if (isIP(e.address) === 0) {
      warnings.push(`${target}: ${who} has address "${e.address}", not an IP; proxyless clients need IP endpoints, it is left out`);
      continue;
    }
    const key = `${e.address}:${p}`;
    if (seen.has(key)) {
      warnings.push(`${target}: ${who} repeats endpoint ${key}; it is listed once`);
      continue;
    }
    seen.add(key);
    kept.push(e);
    out.push({ address: e.address, port: p, locality: e.locality, weight: e.weight });
  }
  return { out, kept };
}

/**
 * The DestinationRule settings grpc can honour (max concurrent requests; tls
 * is decided in proxyless-tls.ts when security is on); the others are reported, not applied.
 */
function trafficPolicyOf(
  model: MeshModel,
  service: Service,
  port: ServicePort,
  namespace: string,
  secure: boolean,
  warnings: string[],
): number | undefined {
  const rule = model.destinationRules.find(service.host, service.namespace, namespace);
  if (!rule) return undefined;
  const policy = effectiveTrafficPolicy(rule, port.number);
  const target = `${service.host}:${port.number}`;
  const ignored: string[] = [];
  if (!secure && policy.tls && policy.tls.mode !== 'DISABLE') ignored.push(`tls mode ${policy.tls.mode}`);
  const lb = policy.loadBalancer?.simple;
  if (lb && lb !== 'ROUND_ROBIN' && lb !== 'UNSPECIFIED') ignored.push(`loadBalancer ${lb}`);
  if (policy.outlierDetection) ignored.push('outlierDetection');
  if (ignored.length)
    warnings.push(
      `${target}: DestinationRule ${rule.meta.namespace}/${rule.meta.name} settings not applied to proxyless clients: ${ignored.join(', ')}`,
    );
  return policy.connectionPool?.http?.http2MaxRequests;
}
