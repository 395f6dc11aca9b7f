// The proxyless translator: what a gRPC client that resolves `xds:///name`
// itself needs from meshlite. Pure like translateProxy: same model, same bytes.
//
// For every GRPC or HTTP2 port of every service visible from the client's
// namespace (ServiceEntry with resolution STATIC, i.e. WorkloadEntry or inline
// IP endpoints) it publishes:
//   Listener            `<host>:<port>` and one per other name an app may write
//                       (see proxylessNames), each an api_listener -> RDS
//   RouteConfiguration  `<host>:<port>`: one vhost, every name plus `*`
//   Cluster             `outbound|<port>||<host>` (EDS over ADS, plaintext)
//   ClusterLoadAssignment for it, IP endpoints grouped by locality.
// Everything depends only on the client's namespace, so it is built once per
// namespace and shared (same arrays) by every proxyless client there.
import { isIP } from 'node:net';
import { effectiveTrafficPolicy } from '../model/destination-rules.js';
import type { MeshModel } from '../model/mesh-model.js';
import { clusterName, hostDomains } from '../model/names.js';
import { endpointPort, isVisibleFrom, type Service, type ServicePort, type Workload } from '../model/registry.js';
import { byName, type JsonObject } from './common.js';
import type { ProxyResources } from './proxy-resources.js';
import {
  type ProxylessEndpoint,
  proxylessCluster,
  proxylessListener,
  proxylessLoadAssignment,
  proxylessRouteConfiguration,
} from './proxyless-resources.js';
import { isProxylessWorkload, PROXYLESS_GRPC_ANNOTATION } from './proxyless-workload.js';

/** Service port protocols a gRPC channel can speak (HTTP/2 with gRPC framing). */
export const PROXYLESS_PROTOCOLS: readonly string[] = ['GRPC', 'HTTP2'];

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
}

export interface ProxylessView {
  namespace: string;
  targets: ProxylessTarget[];
  warnings: string[];
}

export type ProxylessTranslateResult =
  | { ok: true; resources: ProxyResources; view: { proxy: Workload; proxyless: ProxylessView } }
  | { ok: false; error: string };

interface Shared {
  view: ProxylessView;
  clusters: JsonObject[];
  endpoints: JsonObject[];
  listeners: JsonObject[];
  routes: JsonObject[];
}

const memo = new WeakMap<MeshModel, Map<string, Shared>>();

export function translateProxyless(model: MeshModel, proxyId: string): ProxylessTranslateResult {
  const proxy = model.registry.workload(proxyId);
  if (!proxy) return { ok: false, error: `no workload "${proxyId}" (expected <name>.<namespace> of a WorkloadEntry)` };
  if (!isProxylessWorkload(proxy))
    return {
      ok: false,
      error: `workload "${proxyId}" is not a proxyless gRPC workload (annotation ${PROXYLESS_GRPC_ANNOTATION}: "true" is missing)`,
    };
  const shared = sharedFor(model, proxy.namespace);
  const own: string[] = [];
  if (proxy.sidecar) own.push(`workload "${proxy.id}" also carries the sidecar label; meshlite serves it the proxyless config`);
  return {
    ok: true,
    view: { proxy, proxyless: shared.view },
    resources: {
      proxyId: proxy.id,
      clusters: shared.clusters,
      endpoints: shared.endpoints,
      listeners: shared.listeners,
      routes: shared.routes,
      secretNames: [],
      warnings: own.length ? [...shared.view.warnings, ...own] : shared.view.warnings,
    },
  };
}

/** Proxyless client workloads of a config (those with the annotation). */
export function proxylessClients(model: MeshModel): Workload[] {
  return model.registry.workloads.filter(isProxylessWorkload);
}

function sharedFor(model: MeshModel, namespace: string): Shared {
  let byNamespace = memo.get(model);
  if (!byNamespace) memo.set(model, (byNamespace = new Map()));
  let shared = byNamespace.get(namespace);
  if (!shared) byNamespace.set(namespace, (shared = build(proxylessView(model, namespace))));
  return shared;
}

function build(view: ProxylessView): Shared {
  const clusters: JsonObject[] = [];
  const endpoints: JsonObject[] = [];
  const listeners: JsonObject[] = [];
  const routes: JsonObject[] = [];
  for (const t of view.targets) {
    clusters.push(proxylessCluster(t.cluster, t.maxRequests));
    endpoints.push(proxylessLoadAssignment(t.cluster, t.endpoints));
    routes.push(proxylessRouteConfiguration(t.routeConfig, t.names, t.cluster));
    for (const name of t.names) listeners.push(proxylessListener(name, t.routeConfig));
  }
  endpoints.sort((a, b) => String(a.cluster_name).localeCompare(String(b.cluster_name)));
  return { view, clusters: clusters.sort(byName), endpoints, listeners: listeners.sort(byName), routes: routes.sort(byName) };
}

interface Candidate extends ProxylessTarget {
  aliases: string[];
}

/** What a proxyless client in `namespace` can reach, with the listener names it may use. */
export function proxylessView(model: MeshModel, namespace: string): ProxylessView {
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
