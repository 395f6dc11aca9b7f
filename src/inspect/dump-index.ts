// One proxy's config_dump (Envoy's admin JSON shape) indexed by what a request
// looks up on its way through: listeners, routes by name, clusters by name and
// endpoints by EDS service name. Read-only views of plain JSON.

export type JsonObject = Record<string, unknown>;

export const obj = (value: unknown): JsonObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
export const arr = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export interface SocketAddress {
  address: string;
  port: number;
}

export interface DumpIndex {
  listeners: JsonObject[];
  routes: Map<string, JsonObject>;
  clusters: Map<string, JsonObject>;
  endpoints: Map<string, JsonObject>;
}

const TYPE_SUFFIX = (value: unknown): string => (str(obj(value)['@type']) ?? '').split('.').pop() ?? '';

export function indexDump(dump: unknown): DumpIndex {
  const index: DumpIndex = { listeners: [], routes: new Map(), clusters: new Map(), endpoints: new Map() };
  for (const config of arr(obj(dump).configs)) {
    switch (TYPE_SUFFIX(config)) {
      case 'ListenersConfigDump':
        for (const l of arr(obj(config).dynamic_listeners)) index.listeners.push(obj(obj(obj(l).active_state).listener));
        for (const l of arr(obj(config).static_listeners)) index.listeners.push(obj(obj(l).listener));
        break;
      case 'RoutesConfigDump':
        for (const r of [...arr(obj(config).dynamic_route_configs), ...arr(obj(config).static_route_configs)]) {
          const route = obj(obj(r).route_config);
          index.routes.set(str(route.name) ?? '', route);
        }
        break;
      case 'ClustersConfigDump':
        for (const c of [...arr(obj(config).dynamic_active_clusters), ...arr(obj(config).static_clusters)]) {
          const cluster = obj(obj(c).cluster);
          index.clusters.set(str(cluster.name) ?? '', cluster);
        }
        break;
      case 'EndpointsConfigDump':
        for (const e of [...arr(obj(config).dynamic_endpoint_configs), ...arr(obj(config).static_endpoint_configs)]) {
          const cla = obj(obj(e).endpoint_config);
          index.endpoints.set(str(cla.cluster_name) ?? '', cla);
        }
        break;
    }
  }
  return index;
}

export function socketAddress(address: unknown): SocketAddress | undefined {
  const s = obj(obj(address).socket_address);
  const host = str(s.address);
  const port = s.port_value;
  return host !== undefined && typeof port === 'number' ? { address: host, port } : undefined;
}

/** A filter's typed config (`typed_config` without its `@type`, fields as JSON). */
export function typedConfig(filter: unknown): JsonObject {
  return obj(obj(filter).typed_config);
}

export function filterType(filter: unknown): string {
  return TYPE_SUFFIX(obj(filter).typed_config);
}

/** The HTTP connection manager among a filter chain's filters. */
export function httpConnectionManager(filters: readonly unknown[]): JsonObject | undefined {
  const hcm = filters.find((f) => filterType(f) === 'HttpConnectionManager');
  return hcm ? typedConfig(hcm) : undefined;
}

/** The route configuration an HCM uses: RDS by name, or inline. */
export function hcmRouteConfig(hcm: JsonObject, index: DumpIndex): JsonObject | undefined {
  if (hcm.route_config) return obj(hcm.route_config);
  const name = str(obj(hcm.rds).route_config_name);
  return name === undefined ? undefined : index.routes.get(name);
}
