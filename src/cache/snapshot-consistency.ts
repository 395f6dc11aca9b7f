// Whether one proxy's resources hold everything they name (go-control-plane's
// Snapshot.Consistent): the route configuration of every HCM on RDS, the
// ClusterLoadAssignment of every EDS cluster, the SDS secrets of every TLS
// context, and the clusters that routes, tcp_proxy and ext_authz send to.
// Envoy does not refuse a dangling name: the listener or cluster stays warming
// or the route answers 503, quietly. So a snapshot with one is not served.
import type {
  Any,
  Cluster,
  CommonTlsContext,
  GrpcService,
  Listener,
  RouteAction,
  RouteConfiguration,
  TransportSocket,
} from '../xds/envoy-types/index.js';
import { classListenerOf } from '../xds/class-listener.js';
import { EXT_AUTHZ_TYPE } from '../xds/ext-authz.js';
import { type ResourceOf, type ResourceType, TYPE } from '../xds/type-urls.js';

/** One proxy's resources, per xDS type (ProxyResources plus its Secrets fits). */
export type SnapshotResources = { readonly [T in ResourceType]: readonly ResourceOf[T][] };

/** Resources with, optionally, clusters and listeners split as served: a part many proxies share (one array) and the proxy's own. */
export type LayeredResources = SnapshotResources & { readonly layers?: Layers };

type ReferencedType = Exclude<ResourceType, 'listeners'>;

export interface DanglingReference {
  /** The type that lacks the resource. */
  type: ReferencedType;
  name: string;
  /** The resource that names it, as `<type>/<name>`. */
  from: string;
}

interface Reference {
  type: ReferencedType;
  name: string;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * Checks snapshots for dangling references. Resources are immutable once built
 * and many proxies share them, so what each resource names (and the names a
 * shared list holds) is worked out once per object, weakly, for as long as the
 * owner keeps the checker (the control plane keeps one).
 */
export class ConsistencyChecker {
  private readonly references = new WeakMap<object, readonly Reference[]>();
  private readonly names = new WeakMap<readonly object[], { size: number; names: ReadonlySet<string> }>();
  /** Per shared list (a namespace's outbound clusters or listeners): what its members name, each name once. */
  private readonly listReferences = new WeakMap<readonly object[], readonly NamedBy[]>();
  /**
   * Per list of references (a resource's, or a shared layer's): those not held
   * by the namespace-wide sets last checked against (endpoints, shared
   * clusters). Proxies of a namespace hold those very sets and share most
   * resources, so each proxy checks only the rest: mostly its routes and secrets.
   */
  private readonly unresolved = new WeakMap<
    readonly Reference[],
    { endpoints: ReadonlySet<string>; clusters: ReadonlySet<string>; refs: readonly Reference[] }
  >();

  /**
   * Every reference in `resources` to a resource they do not hold, sorted.
   * `unservedSecrets`: secret names left out on purpose (their material is not
   * available): Envoy then keeps what needs them warming, which is intended.
   */
  dangling(resources: LayeredResources, unservedSecrets: ReadonlySet<string> = NONE): DanglingReference[] {
    const layers = resources.layers;
    const sharedClusters = layers && this.namesOf(layers.clusters.shared, nameOf);
    const endpoints = this.namesOf(resources.endpoints, (e) => e.cluster_name);
    const held: Record<ReferencedType, { has(name: string): boolean }> = {
      clusters: sharedClusters
        ? either(sharedClusters, this.namesOf(layers.clusters.own, nameOf))
        : this.namesOf(resources.clusters, nameOf),
      endpoints,
      routes: this.namesOf(resources.routes, nameOf),
      secrets: this.namesOf(resources.secrets, nameOf),
    };
    const found = new Map<string, DanglingReference>();
    const missing = (type: ReferencedType, name: string) => !held[type].has(name) && !(type === 'secrets' && unservedSecrets.has(name));
    const add = (type: ReferencedType, name: string, from: string) => found.set(`${type}\u0000${name}\u0000${from}`, { type, name, from });
    // Called for every resource of every proxy on each change: the `from` text is only made for a miss.
    const check = (kind: string, owner: { name?: string }, refs: readonly Reference[]) => {
      for (const { type, name } of this.unresolvedOf(refs, endpoints, sharedClusters ?? NONE))
        if (missing(type, name)) add(type, name, `${kind}/${owner.name}`);
    };
    // A shared layer is checked name by name, not member by member: its hundreds of clusters name a few secrets.
    const checkShared = (kind: string, refs: readonly NamedBy[]) => {
      for (const { type, name, owners } of this.unresolvedOf(refs, endpoints, sharedClusters ?? NONE))
        if (missing(type, name)) for (const owner of owners) add(type, name, `${kind}/${owner}`);
    };
    // What a listener names does not depend on its name or address: listeners of one class share the work.
    const listenerRefs = (l: Listener) => this.referencesOf(classListenerOf(l) ?? l, listenerReferences);
    const clusterRefs = (c: Cluster) => this.referencesOf(c, clusterReferences);
    if (layers) {
      checkShared('listeners', this.sharedReferences(layers.listeners.shared, listenerRefs));
      for (const l of layers.listeners.own) check('listeners', l, listenerRefs(l));
      checkShared('clusters', this.sharedReferences(layers.clusters.shared, clusterRefs));
      for (const c of layers.clusters.own) check('clusters', c, clusterRefs(c));
    } else {
      for (const l of resources.listeners) check('listeners', l, listenerRefs(l));
      for (const c of resources.clusters) check('clusters', c, clusterRefs(c));
    }
    for (const r of resources.routes) check('routes', r, this.referencesOf(r, routeConfigurationReferences));
    return [...found.keys()].sort().map((key) => found.get(key)!);
  }

  private unresolvedOf<R extends Reference>(
    refs: readonly R[],
    endpoints: ReadonlySet<string>,
    clusters: ReadonlySet<string>,
  ): readonly R[] {
    const known = this.unresolved.get(refs);
    if (known?.endpoints === endpoints && known.clusters === clusters) return known.refs as readonly R[];
    const rest = refs.filter((r) => !(r.type === 'endpoints' ? endpoints : r.type === 'clusters' ? clusters : NONE).has(r.name));
    this.unresolved.set(refs, { endpoints, clusters, refs: rest });
    return rest;
  }

  private referencesOf<T extends object>(resource: T, collect: (resource: T, out: Reference[]) => void): readonly Reference[] {
    let refs = this.references.get(resource);
    if (!refs) {
      const out: Reference[] = [];
      collect(resource, out);
      this.references.set(resource, (refs = out));
    }
    return refs;
  }

  private sharedReferences<T extends { name?: string }>(
    list: readonly T[],
    refsOf: (member: T) => readonly Reference[],
  ): readonly NamedBy[] {
    let shared = this.listReferences.get(list);
    if (!shared) {
      const byKey = new Map<string, NamedBy>();
      for (const member of list) {
        for (const { type, name } of refsOf(member)) {
          const key = `${type}\u0000${name}`;
          const entry = byKey.get(key) ?? { type, name, owners: [] };
          entry.owners.push(String(member.name));
          byKey.set(key, entry);
        }
      }
      this.listReferences.set(list, (shared = [...byKey.values()]));
    }
    return shared;
  }

  private namesOf<T extends object>(list: readonly T[], name: (resource: T) => string | undefined): ReadonlySet<string> {
    const known = this.names.get(list);
    if (known?.size === list.length) return known.names;
    const names = new Set(list.map((r) => name(r) ?? ''));
    this.names.set(list, { size: list.length, names });
    return names;
  }
}

interface Layers {
  clusters: { shared: readonly Cluster[]; own: readonly Cluster[] };
  listeners: { shared: readonly Listener[]; own: readonly Listener[] };
}

/** A name a shared list's members refer to, and the members that do. */
interface NamedBy extends Reference {
  owners: string[];
}

const nameOf = (resource: { name?: string }) => resource.name;

function either(a: ReadonlySet<string>, b: ReadonlySet<string>): { has(name: string): boolean } {
  return { has: (name) => a.has(name) || b.has(name) };
}

/** The dangling references of one set of resources, with a checker of its own (tests, one-off checks). */
export function danglingReferences(resources: LayeredResources, unservedSecrets: ReadonlySet<string> = NONE): DanglingReference[] {
  return new ConsistencyChecker().dangling(resources, unservedSecrets);
}

/** `routes "8080" (named by listeners/0.0.0.0_8080)`. */
export function describeDangling(d: DanglingReference): string {
  return `${d.type} ${JSON.stringify(d.name)} (named by ${d.from})`;
}

function listenerReferences(listener: Listener, out: Reference[]): void {
  const chains = [...(listener.filter_chains ?? []), ...(listener.default_filter_chain ? [listener.default_filter_chain] : [])];
  for (const chain of chains) {
    tlsReferences(chain.transport_socket, out);
    for (const filter of chain.filters ?? []) networkFilterReferences(filter.typed_config, out);
  }
  networkFilterReferences(listener.api_listener?.api_listener, out);
}

function networkFilterReferences(config: Any | undefined, out: Reference[]): void {
  if (!config) return;
  switch (config['@type']) {
    case TYPE.httpConnectionManager: {
      const routeConfig = config.rds?.route_config_name;
      if (routeConfig !== undefined) out.push({ type: 'routes', name: routeConfig });
      if (config.route_config) routeConfigurationReferences(config.route_config, out);
      for (const filter of config.http_filters ?? []) {
        const http = filter.typed_config;
        if (http?.['@type'] !== EXT_AUTHZ_TYPE.http) continue;
        grpcServiceReferences(http.grpc_service, out);
        const cluster = http.http_service?.server_uri?.cluster;
        if (cluster !== undefined) out.push({ type: 'clusters', name: cluster });
      }
      return;
    }
    case TYPE.tcpProxy:
      if (config.cluster !== undefined) out.push({ type: 'clusters', name: config.cluster });
      for (const c of config.weighted_clusters?.clusters ?? []) if (c.name !== undefined) out.push({ type: 'clusters', name: c.name });
      return;
    case EXT_AUTHZ_TYPE.tcp:
      grpcServiceReferences(config.grpc_service, out);
      return;
    default:
      return;
  }
}

function grpcServiceReferences(service: GrpcService | undefined, out: Reference[]): void {
  const cluster = service?.envoy_grpc?.cluster_name;
  if (cluster !== undefined) out.push({ type: 'clusters', name: cluster });
}

function clusterReferences(cluster: Cluster, out: Reference[]): void {
  // An empty service_name means the cluster's own name, as in Envoy.
  if (cluster.type === 'EDS') out.push({ type: 'endpoints', name: cluster.eds_cluster_config?.service_name || (cluster.name ?? '') });
  tlsReferences(cluster.transport_socket, out);
  for (const m of cluster.transport_socket_matches ?? []) tlsReferences(m.transport_socket, out);
}

function tlsReferences(socket: TransportSocket | undefined, out: Reference[]): void {
  const config = socket?.typed_config;
  if (config?.['@type'] === TYPE.upstreamTlsContext || config?.['@type'] === TYPE.downstreamTlsContext) {
    commonTlsReferences(config.common_tls_context, out);
  }
}

function commonTlsReferences(context: CommonTlsContext | undefined, out: Reference[]): void {
  const sds = [
    ...(context?.tls_certificate_sds_secret_configs ?? []),
    context?.validation_context_sds_secret_config,
    context?.combined_validation_context?.validation_context_sds_secret_config,
  ];
  for (const config of sds) if (config?.name !== undefined) out.push({ type: 'secrets', name: config.name });
}

function routeConfigurationReferences(routeConfig: RouteConfiguration, out: Reference[]): void {
  for (const vhost of routeConfig.virtual_hosts ?? []) {
    for (const route of vhost.routes ?? []) if (route.route) routeActionReferences(route.route, out);
  }
}

function routeActionReferences(action: RouteAction, out: Reference[]): void {
  const clusters = [
    action.cluster,
    ...(action.weighted_clusters?.clusters ?? []).map((c) => c.name),
    ...(action.request_mirror_policies ?? []).map((m) => m.cluster),
  ];
  for (const name of clusters) if (name !== undefined) out.push({ type: 'clusters', name });
}
