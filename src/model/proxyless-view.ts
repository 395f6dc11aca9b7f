// What proxyless gRPC clients of one namespace can reach: every GRPC or HTTP2
// port of every visible service with resolution STATIC (WorkloadEntry or
// inline IP endpoints), the names an app may write after `xds:///`, its IP
// endpoints and the DestinationRule settings grpc can honour.
import { isIP } from 'node:net';
import { effectiveTrafficPolicy } from './destination-rules.js';
import type { MeshModel } from './mesh-model.js';
import { clusterName, hostDomains } from './names.js';
import { isProxylessWorkload, PROXYLESS_GRPC_ANNOTATION } from './proxy-kind.js';
import { proxyIdentity } from './proxy-view.js';
import { endpointPort, isVisibleFrom, type Service, type ServicePort, type Workload } from './registry.js';
import type { ProxylessEndpoint, ProxylessTarget, ProxylessTargets, ProxylessView } from './view-types.js';

/** Service port protocols a gRPC channel can speak (HTTP/2 with gRPC framing). */
export const PROXYLESS_PROTOCOLS: readonly string[] = ['GRPC', 'HTTP2'];

/** Proxyless client workloads of a config (those with the annotation). */
export function proxylessClients(model: MeshModel): Workload[] {
  return model.registry.workloads.filter(isProxylessWorkload);
}

/** `targets`: those of the proxy's namespace (MeshViews shares one per namespace). */
export function buildProxylessView(model: MeshModel, proxy: Workload, targets: ProxylessTargets): ProxylessView {
  const warnings: string[] = [];
  if (proxy.sidecar) warnings.push(`workload "${proxy.id}" also carries the sidecar label; meshlite serves it the proxyless config`);
  const authz = model.authz.for(proxy);
  if (authz.authorizationPolicies.length > 0 || authz.requestAuthentications.length > 0) {
    // meshlite serves proxyless apps client config only: nothing would enforce these, so say it loudly.
    warnings.push(
      'AuthorizationPolicy/RequestAuthentication select this proxyless gRPC app but are NOT enforced (meshlite serves proxyless apps client config only)',
    );
  }
  return { kind: 'proxyless', proxy: proxyIdentity(proxy), proxyless: targets, warnings };
}

export { PROXYLESS_GRPC_ANNOTATION };

interface Candidate extends ProxylessTarget {
  aliases: string[];
}

/** What a proxyless client in `namespace` can reach, with the listener names it may use. */
export function proxylessTargets(model: MeshModel, namespace: string): ProxylessTargets {
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
      candidates.push({
        host: service.host,
        port: port.number,
        cluster: clusterName('outbound', port.number, '', service.host),
        routeConfig: target,
        names: [target],
        aliases: aliasesOf(model, service, port, namespace, grpcPorts.length === 1).filter((n) => n !== target),
        endpoints: endpointsOf(model, service, port, warnings),
        maxRequests: trafficPolicyOf(model, service, port, namespace, warnings),
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

function endpointsOf(model: MeshModel, service: Service, port: ServicePort, warnings: string[]): ProxylessEndpoint[] {
  const target = `${service.host}:${port.number}`;
  const seen = new Set<string>();
  const out: ProxylessEndpoint[] = [];
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
    if (e.sidecar && model.peerAuthn.effectiveMode(e, p) === 'STRICT') {
      warnings.push(`${target}: ${who} requires mTLS (STRICT) on port ${p}; proxyless clients connect in plaintext and will be refused`);
    }
    out.push({ address: e.address, port: p, locality: e.locality, weight: e.weight });
  }
  return out;
}

/** The DestinationRule settings grpc can honour (max concurrent requests); the others are reported, not applied. */
function trafficPolicyOf(model: MeshModel, service: Service, port: ServicePort, namespace: string, warnings: string[]): number | undefined {
  const rule = model.destinationRules.find(service.host, service.namespace, namespace);
  if (!rule) return undefined;
  const policy = effectiveTrafficPolicy(rule, port.number);
  const target = `${service.host}:${port.number}`;
  const ignored: string[] = [];
  if (policy.tls && policy.tls.mode !== 'DISABLE') ignored.push(`tls mode ${policy.tls.mode}`);
  const lb = policy.loadBalancer?.simple;
  if (lb && lb !== 'ROUND_ROBIN' && lb !== 'UNSPECIFIED') ignored.push(`loadBalancer ${lb}`);
  if (policy.outlierDetection) ignored.push('outlierDetection');
  if (ignored.length)
    warnings.push(
      `${target}: DestinationRule ${rule.meta.namespace}/${rule.meta.name} settings not applied to proxyless clients: ${ignored.join(', ')}`,
    );
  return policy.connectionPool?.http?.http2MaxRequests;
}
