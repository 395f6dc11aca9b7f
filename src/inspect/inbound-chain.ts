// Finding, in one proxy's config dump, what Envoy would run for an inbound
// connection: the listener, the filter chain it picks (by destination port,
// server name, transport protocol and ALPN, the most specific match winning
// at each step), that chain's HTTP connection manager, and the per-filter
// config of the route a request takes.
import { isObj, type Obj } from './string-matcher.js';

/** What the listener sees of a new connection before picking a filter chain. */
export interface InboundConnection {
  port: number;
  /** TLS (mTLS from a sidecar) rather than plaintext. */
  tls: boolean;
  /** ALPN the client offers (a meshlite or Istio sidecar offers `istio`). */
  alpn?: readonly string[];
  serverName?: string;
}

const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

const configOf = (dump: unknown, type: string): Obj | undefined => {
  const configs = isObj(dump) && Array.isArray(dump.configs) ? dump.configs : [];
  return configs.find((c): c is Obj => isObj(c) && c['@type'] === `type.googleapis.com/envoy.admin.v3.${type}`);
};

/** Every listener of the dump (static and active dynamic ones). */
export function listenersOf(dump: unknown): Obj[] {
  const c = configOf(dump, 'ListenersConfigDump');
  if (!c) return [];
  const statics = (Array.isArray(c.static_listeners) ? c.static_listeners : []).map((l) => (isObj(l) ? l.listener : undefined));
  const dynamics = (Array.isArray(c.dynamic_listeners) ? c.dynamic_listeners : []).map((l) =>
    isObj(l) && isObj(l.active_state) ? l.active_state.listener : undefined,
  );
  return [...statics, ...dynamics].filter(isObj);
}

export const inboundListeners = (dump: unknown): Obj[] => listenersOf(dump).filter((l) => l.traffic_direction === 'INBOUND');

const chainsOf = (listener: Obj): Obj[] => (Array.isArray(listener.filter_chains) ? listener.filter_chains.filter(isObj) : []);
const matchOf = (chain: Obj): Obj => (isObj(chain.filter_chain_match) ? chain.filter_chain_match : {});
const listenerPort = (l: Obj): number | undefined => {
  const s = isObj(l.address) && isObj(l.address.socket_address) ? l.address.socket_address : undefined;
  return s && typeof s.port_value === 'number' ? s.port_value : undefined;
};

/** The ports inbound listeners serve: their chains' destination ports, else the listener's own port. */
export function inboundPorts(dump: unknown): number[] {
  const ports = new Set<number>();
  for (const l of inboundListeners(dump)) {
    for (const c of chainsOf(l)) {
      const p = matchOf(c).destination_port ?? listenerPort(l);
      if (typeof p === 'number') ports.add(p);
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** The inbound listener that takes connections to `port` (a chain matching that destination port, or bound to it). */
export function inboundListenerFor(dump: unknown, port: number): Obj | undefined {
  const listeners = inboundListeners(dump);
  return (
    listeners.find((l) => chainsOf(l).some((c) => matchOf(c).destination_port === port)) ?? listeners.find((l) => listenerPort(l) === port)
  );
}

/** Narrows candidates by one criterion: those naming a matching value, else those not naming any. */
function narrow(chains: Obj[], specific: (m: Obj) => boolean | undefined): Obj[] {
  const named = chains.filter((c) => specific(matchOf(c)) === true);
  return named.length > 0 ? named : chains.filter((c) => specific(matchOf(c)) === undefined);
}

const list = (v: unknown): string[] | undefined => (Array.isArray(v) && v.length > 0 ? v.map(String) : undefined);

/** The filter chain Envoy picks for the connection; undefined when the listener would close it. */
export function selectFilterChain(listener: Obj, conn: InboundConnection): Obj | undefined {
  let chains = chainsOf(listener);
  const transport = conn.tls ? 'tls' : 'raw_buffer';
  chains = narrow(chains, (m) => (m.destination_port === undefined ? undefined : m.destination_port === conn.port));
  chains = narrow(chains, (m) => {
    const names = list(m.server_names);
    return names === undefined ? undefined : conn.serverName !== undefined && names.some((n) => serverNameMatches(n, conn.serverName!));
  });
  chains = narrow(chains, (m) => (m.transport_protocol === undefined ? undefined : m.transport_protocol === transport));
  chains = narrow(chains, (m) => {
    const protocols = list(m.application_protocols);
    return protocols === undefined ? undefined : (conn.alpn ?? []).some((p) => protocols.includes(p));
  });
  if (chains[0]) return chains[0];
  return isObj(listener.default_filter_chain) ? listener.default_filter_chain : undefined;
}

function serverNameMatches(pattern: string, name: string): boolean {
  return pattern.startsWith('*.') ? name.endsWith(pattern.slice(1)) : pattern === name;
}

/** The chain's network filters. */
export const networkFiltersOf = (chain: Obj): Obj[] => (Array.isArray(chain.filters) ? chain.filters.filter(isObj) : []);

/** The chain's HTTP connection manager config, if it is an HTTP chain. */
export function httpConnectionManager(chain: Obj): Obj | undefined {
  const hcm = networkFiltersOf(chain).find((f) => isObj(f.typed_config) && f.typed_config['@type'] === HCM_TYPE);
  return hcm ? (hcm.typed_config as Obj) : undefined;
}

/** The HCM's route configuration: inline, or the RDS one by name from the dump. */
export function routeConfigOf(dump: unknown, hcm: Obj): Obj | undefined {
  if (isObj(hcm.route_config)) return hcm.route_config;
  const name = isObj(hcm.rds) ? hcm.rds.route_config_name : undefined;
  const c = configOf(dump, 'RoutesConfigDump');
  const all = [
    ...(Array.isArray(c?.static_route_configs) ? c.static_route_configs : []),
    ...(Array.isArray(c?.dynamic_route_configs) ? c.dynamic_route_configs : []),
  ];
  return all.map((r) => (isObj(r) ? r.route_config : undefined)).find((r): r is Obj => isObj(r) && r.name === name);
}

function domainMatches(domain: string, host: string): boolean {
  if (domain === '*') return true;
  if (domain.startsWith('*')) return host.endsWith(domain.slice(1));
  if (domain.endsWith('*')) return host.startsWith(domain.slice(0, -1));
  return domain === host;
}

/**
 * The per-filter config a request to `host` and `path` gets: the virtual
 * host's entries overlaid by those of the first route whose prefix or path
 * matches (routes matching on more than a path are skipped: the route's own
 * entries are then left out, the virtual host's still apply).
 */
export function perFilterConfigFor(routeConfig: Obj, host: string, path: string): Record<string, unknown> {
  const hostOnly = host.replace(/:\d+$/, '').toLowerCase();
  const vhosts = Array.isArray(routeConfig.virtual_hosts) ? routeConfig.virtual_hosts.filter(isObj) : [];
  const domainsOf = (v: Obj) => (Array.isArray(v.domains) ? v.domains.map(String) : []);
  const vhost =
    vhosts.find((v) => domainsOf(v).some((d) => d !== '*' && domainMatches(d.toLowerCase(), hostOnly))) ??
    vhosts.find((v) => domainsOf(v).includes('*'));
  if (!vhost) return {};
  const own = (o: Obj) => (isObj(o.typed_per_filter_config) ? o.typed_per_filter_config : {});
  const bare = path.split('?')[0]!;
  const routes = Array.isArray(vhost.routes) ? vhost.routes.filter(isObj) : [];
  const route = routes.find((r) => {
    const m = isObj(r.match) ? r.match : {};
    const keys = Object.keys(m);
    if (keys.length !== 1) return false;
    if (typeof m.prefix === 'string') return bare.startsWith(m.prefix);
    if (typeof m.path === 'string') return bare === m.path;
    return false;
  });
  return { ...own(routeConfig), ...own(vhost), ...(route ? own(route) : {}) };
}
