// The tables of `meshlite proxy-config` for clusters, listeners and routes,
// read from config_dump resources alone, so that every source (an Envoy,
// meshlite's admin, an offline translation) prints the same rows for the same config.
import type { Resource } from './config-dump-sections.js';

export type Table = { header: string[]; rows: string[][] };

export interface ClusterFilter {
  fqdn?: string;
  port?: number;
  direction?: 'inbound' | 'outbound';
}

/** `outbound|8000|v1|httpbin.foo.svc.cluster.local`: direction, port, subset, host; other names stand as they are. */
export function clusterNameParts(name: string): { direction: string; port: string; subset: string; fqdn: string } {
  const parts = name.split('|');
  if (parts.length === 4 && (parts[0] === 'inbound' || parts[0] === 'outbound') && /^\d+$/.test(parts[1]!))
    return { direction: parts[0]!, port: parts[1]!, subset: parts[2] || '-', fqdn: parts[3] || '-' };
  return { direction: '-', port: '-', subset: '-', fqdn: name };
}

const byText = (a: string[], b: string[]) => a.join('\u0000').localeCompare(b.join('\u0000'));

export function clusterMatches(cluster: Resource, filter: ClusterFilter): boolean {
  const parts = clusterNameParts(String(cluster.name ?? ''));
  return (
    (filter.fqdn === undefined || parts.fqdn === filter.fqdn) &&
    (filter.port === undefined || parts.port === String(filter.port)) &&
    (filter.direction === undefined || parts.direction === filter.direction)
  );
}

export function clusterTable(clusters: readonly Resource[]): Table {
  const rows = clusters
    .map((c) => {
      const parts = clusterNameParts(String(c.name ?? ''));
      const type = c.type ?? (c.cluster_type?.name ? String(c.cluster_type.name) : 'STATIC');
      return [parts.fqdn, parts.port, parts.subset, parts.direction, String(type), destinationRule(c)];
    })
    .sort(byText);
  return { header: ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE'], rows };
}

/** The DestinationRule the cluster's metadata names (Istio's `istio.config` convention), when it names one. */
function destinationRule(cluster: Resource): string {
  const config = cluster.metadata?.filter_metadata?.istio?.config;
  if (typeof config !== 'string') return '-';
  const m = /namespaces\/([^/]+)\/destination-rule\/([^/]+)/.exec(config);
  return m ? `${m[2]}.${m[1]}` : config;
}

export function listenerTable(listeners: readonly Resource[]): Table {
  const rows: string[][] = [];
  for (const l of listeners) {
    const socket = l.address?.socket_address;
    const address = socket ? String(socket.address ?? '-') : l.address?.pipe ? String(l.address.pipe.path) : '-';
    const port = socket?.port_value !== undefined ? String(socket.port_value) : '-';
    if (l.api_listener) {
      rows.push([address, port, `API ${l.name}`, hcmDestination(l.api_listener.api_listener)]);
      continue;
    }
    const chains: Resource[] = [...(Array.isArray(l.filter_chains) ? l.filter_chains : [])];
    for (const chain of chains) rows.push([address, port, chainMatch(chain.filter_chain_match), chainDestination(chain)]);
    if (l.default_filter_chain) rows.push([address, port, 'no other chain matches', chainDestination(l.default_filter_chain)]);
    if (chains.length === 0 && !l.default_filter_chain) rows.push([address, port, 'ALL', '-']);
  }
  // Sorted by address and port; a listener's chains stay in their own order (stable sort).
  const byAddressAndPort = (a: string[], b: string[]) => a[0]!.localeCompare(b[0]!) || (Number(a[1]) || 0) - (Number(b[1]) || 0);
  return { header: ['ADDRESS', 'PORT', 'MATCH', 'DESTINATION'], rows: rows.sort(byAddressAndPort) };
}

function chainMatch(match: Resource | undefined): string {
  if (!match) return 'ALL';
  const parts: string[] = [];
  if (match.destination_port !== undefined) parts.push(`port=${match.destination_port}`);
  if (match.transport_protocol) parts.push(`transport=${match.transport_protocol}`);
  if (Array.isArray(match.application_protocols)) parts.push(`alpn=${match.application_protocols.join(',')}`);
  if (Array.isArray(match.server_names)) parts.push(`sni=${match.server_names.join(',')}`);
  if (Array.isArray(match.prefix_ranges))
    parts.push(`addr=${match.prefix_ranges.map((r: Resource) => `${r.address_prefix}/${r.prefix_len ?? 32}`).join(',')}`);
  if (Array.isArray(match.source_prefix_ranges)) parts.push('source ranges');
  return parts.length > 0 ? parts.join('; ') : 'ALL';
}

function chainDestination(chain: Resource): string {
  const filters: Resource[] = Array.isArray(chain.filters) ? chain.filters : [];
  const last = filters[filters.length - 1];
  if (!last) return '-';
  const config = last.typed_config ?? {};
  const type = String(config['@type'] ?? '');
  if (type.endsWith('.HttpConnectionManager')) return hcmDestination(config);
  if (type.endsWith('.TcpProxy')) {
    if (config.cluster) return `Cluster: ${config.cluster}`;
    const weighted: Resource[] = config.weighted_clusters?.clusters ?? [];
    return `Clusters: ${weighted.map((w) => `${w.name} (${w.weight})`).join(', ')}`;
  }
  return String(last.name ?? type);
}

function hcmDestination(hcm: Resource | undefined): string {
  if (!hcm) return '-';
  if (hcm.rds?.route_config_name) return `Route: ${hcm.rds.route_config_name}`;
  if (hcm.route_config) return `Inline Route: ${hcm.route_config.name ?? '-'}`;
  return 'HTTP';
}

const DOMAINS_SHOWN = 2;

export function routeTable(routes: readonly Resource[]): Table {
  const rows: string[][] = [];
  for (const config of routes) {
    const routeName = String(config.name ?? '');
    for (const vhost of (config.virtual_hosts ?? []) as Resource[]) {
      const domains: string[] = vhost.domains ?? [];
      const shown =
        domains.slice(0, DOMAINS_SHOWN).join(',') + (domains.length > DOMAINS_SHOWN ? ` +${domains.length - DOMAINS_SHOWN} more` : '');
      const entries: Resource[] = vhost.routes ?? [];
      if (entries.length === 0) rows.push([routeName, String(vhost.name ?? '-'), shown, '-', '-']);
      for (const route of entries)
        rows.push([routeName, String(vhost.name ?? '-'), shown, routeMatch(route.match), virtualService(route.name)]);
    }
  }
  // Route order inside a virtual host is Envoy's match order: keep it, sort only by config and host.
  return { header: ['NAME', 'VHOST', 'DOMAINS', 'MATCH', 'VIRTUAL SERVICE'], rows: stableByColumns(rows, 2) };
}

function routeMatch(match: Resource | undefined): string {
  if (!match) return '-';
  const path =
    match.prefix !== undefined
      ? `${match.prefix}*`
      : match.path !== undefined
        ? String(match.path)
        : match.path_separated_prefix !== undefined
          ? `${match.path_separated_prefix}/*`
          : match.safe_regex?.regex !== undefined
            ? `regex ${match.safe_regex.regex}`
            : '-';
  const headers: Resource[] = match.headers ?? [];
  return headers.length > 0 ? `${path} (+${headers.length} header${headers.length > 1 ? 's' : ''})` : path;
}

/** meshlite names a VirtualService's routes `<namespace>.<name>.<index or http name>...`. */
function virtualService(routeName: unknown): string {
  if (typeof routeName !== 'string') return '-';
  const parts = routeName.split('.');
  return parts.length >= 3 ? `${parts[1]}.${parts[0]}` : '-';
}

function stableByColumns(rows: string[][], columns: number): string[][] {
  const key = (r: string[]) => r.slice(0, columns).join('\u0000');
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => key(a.r).localeCompare(key(b.r)) || a.i - b.i)
    .map((x) => x.r);
}
