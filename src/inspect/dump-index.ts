// One proxy's config_dump (Envoy's admin JSON shape) indexed by what a request
// looks up on its way through: listeners, routes by name, clusters by name and
// endpoints by EDS service name; and the accessors every reading of a dump
// shares (a chain's filters, its HTTP connection manager, that HCM's routes).
// Read-only views of plain JSON.
import { isObj, type Obj } from './string-matcher.js';

export type JsonObject = Obj;

export const obj = (value: unknown): JsonObject => (isObj(value) ? value : {});
export const arr = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export interface SocketAddress {
  address: string;
  port: number;
}

export interface DumpIndex {
  /** Active dynamic listeners, then static ones. */
  listeners: JsonObject[];
  routes: Map<string, JsonObject>;
  clusters: Map<string, JsonObject>;
  endpoints: Map<string, JsonObject>;
}

const TYPE_SUFFIX = (value: unknown): string => (str(obj(value)['@type']) ?? '').split('.').pop() ?? '';

/** The `inner` object of each entry of the dynamic and static lists of one config section, by `key`. */
function byName(into: Map<string, JsonObject>, lists: unknown[][], inner: string, key: string): void {
  for (const entry of lists.flat()) {
    const value = obj(obj(entry)[inner]);
    into.set(str(value[key]) ?? '', value);
  }
}

export function indexDump(dump: unknown): DumpIndex {
  const index: DumpIndex = { listeners: [], routes: new Map(), clusters: new Map(), endpoints: new Map() };
  for (const config of arr(obj(dump).configs).map(obj)) {
    switch (TYPE_SUFFIX(config)) {
      case 'ListenersConfigDump':
        for (const l of arr(config.dynamic_listeners)) index.listeners.push(obj(obj(obj(l).active_state).listener));
        for (const l of arr(config.static_listeners)) index.listeners.push(obj(obj(l).listener));
        break;
      case 'RoutesConfigDump':
        byName(index.routes, [arr(config.dynamic_route_configs), arr(config.static_route_configs)], 'route_config', 'name');
        break;
      case 'ClustersConfigDump':
        byName(index.clusters, [arr(config.dynamic_active_clusters), arr(config.static_clusters)], 'cluster', 'name');
        break;
      case 'EndpointsConfigDump':
        byName(
          index.endpoints,
          [arr(config.dynamic_endpoint_configs), arr(config.static_endpoint_configs)],
          'endpoint_config',
          'cluster_name',
        );
        break;
    }
  }
  index.listeners = index.listeners.filter((l) => Object.keys(l).length > 0);
  return index;
}

/** Every listener of the dump (active dynamic and static ones). */
export const listenersOf = (dump: unknown): JsonObject[] => indexDump(dump).listeners;

export function socketAddress(address: unknown): SocketAddress | undefined {
  const s = obj(obj(address).socket_address);
  const host = str(s.address);
  const port = s.port_value;
  return host !== undefined && typeof port === 'number' ? { address: host, port } : undefined;
}

/** A filter's typed config (`typed_config` with its `@type`, fields as JSON). */
export function typedConfig(filter: unknown): JsonObject {
  return obj(obj(filter).typed_config);
}

export function filterType(filter: unknown): string {
  return TYPE_SUFFIX(obj(filter).typed_config);
}

/** A filter chain's network filters. */
export const networkFiltersOf = (chain: JsonObject): JsonObject[] => arr(chain.filters).filter(isObj);

/** The HTTP connection manager among a filter chain's network filters, if it is an HTTP chain. */
export function httpConnectionManager(chain: JsonObject): JsonObject | undefined {
  const hcm = networkFiltersOf(chain).find((f) => filterType(f) === 'HttpConnectionManager');
  return hcm ? typedConfig(hcm) : undefined;
}

/** The TCP proxy among a filter chain's network filters, if it is a TCP chain. */
export function tcpProxy(chain: JsonObject): JsonObject | undefined {
  const tcp = networkFiltersOf(chain).find((f) => filterType(f) === 'TcpProxy');
  return tcp ? typedConfig(tcp) : undefined;
}

/** The route configuration an HCM uses: inline, or the RDS one by name. */
export function hcmRouteConfig(hcm: JsonObject, index: DumpIndex): JsonObject | undefined {
  if (isObj(hcm.route_config)) return hcm.route_config;
  const name = str(obj(hcm.rds).route_config_name);
  return name === undefined ? undefined : index.routes.get(name);
}

/** `hcmRouteConfig` straight from a dump. */
export const routeConfigOf = (dump: unknown, hcm: JsonObject): JsonObject | undefined => hcmRouteConfig(hcm, indexDump(dump));
