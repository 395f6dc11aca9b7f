// Gateway listeners: one per bound port, one filter chain per server (by SNI
// for TLS servers), terminating HTTP(S) into RDS route configurations or
// passing TLS/TCP through to clusters chosen by VirtualService tls/tcp routes.
import type { GatewayPortView, GatewayServerView, GatewayView, L4RouteView, ResolvedDestination, SecretRef } from '../model/view-types.js';
import { ADS_CONFIG_SOURCE, socketAddress, typed } from './common.js';
import type {
  envoy_config_listener_v3_Filter as Filter,
  FilterChain,
  HttpFilter,
  Listener,
  ListenerFilter,
  TcpProxy,
} from './envoy-types/index.js';
import { gatewayServerSocket } from './gateway-tls-context.js';
import type { AuthzFilters } from './authz-filters.js';
import { ENFORCING_PATH_HYGIENE, httpFilters } from './http-connection-manager.js';
import { TYPE } from './type-urls.js';

export interface GatewayListenerContext {
  /** HTTP filters the route configuration of a server needs before the router. */
  httpFiltersFor(routeConfigName: string): string[];
  /** AuthorizationPolicy/RequestAuthentication filters selecting this gateway workload. */
  access: AuthzFilters;
  warn(message: string): void;
}

const TLS_INSPECTOR: ListenerFilter = { name: 'envoy.filters.listener.tls_inspector', typed_config: typed(TYPE.tlsInspector) };

function gatewayHcm(statPrefix: string, routeConfigName: string, filters: readonly string[], access: readonly HttpFilter[]): Filter {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: typed(TYPE.httpConnectionManager, {
      stat_prefix: statPrefix,
      rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: routeConfigName },
      http_filters: [...access, ...httpFilters(filters)],
      use_remote_address: true,
      ...ENFORCING_PATH_HYGIENE,
      forward_client_cert_details: 'SANITIZE_SET',
      set_current_client_cert_details: { subject: true, uri: true, dns: true },
    }),
  };
}

function tcpProxyTo(statPrefix: string, clusters: readonly { name: string; weight: number }[]): Filter {
  const config: TcpProxy = { stat_prefix: statPrefix };
  if (clusters.length === 1) config.cluster = clusters[0]!.name;
  else config.weighted_clusters = { clusters: clusters.map((c) => ({ name: c.name, weight: c.weight })) };
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: typed(TYPE.tcpProxy, config) };
}

/** tcp_proxy to a route's destinations; undefined when none of them is a known cluster. */
function tcpProxy(statPrefix: string, route: readonly ResolvedDestination[]): Filter | undefined {
  const clusters: { name: string; weight: number }[] = [];
  for (const r of route) if (r.cluster) clusters.push({ name: r.cluster, weight: r.weight ?? 1 });
  return clusters.length > 0 ? tcpProxyTo(statPrefix, clusters) : undefined;
}

/** SNI names for a server: its hosts without namespace, none at all for `*` (any SNI). */
function serverNames(server: GatewayServerView): string[] | undefined {
  const hosts = server.hosts.map((h) => h.host);
  return hosts.includes('*') ? undefined : [...new Set(hosts)].sort();
}

function chainsFor(server: GatewayServerView, port: GatewayPortView, view: GatewayView, ctx: GatewayListenerContext): FilterChain[] {
  const trustDomains = view.trustDomains;
  const prefix = `gateway_${port.port}`;
  switch (server.kind) {
    case 'http':
      return [];
    case 'https': {
      const names = serverNames(server);
      return [
        {
          ...(names ? { filter_chain_match: { server_names: names } } : {}),
          transport_socket: gatewayServerSocket(server.tls!, server.secrets!, true, trustDomains),
          filters: [
            gatewayHcm(
              `${prefix}_${server.server.port.name}`,
              server.routeConfigName!,
              ctx.httpFiltersFor(server.routeConfigName!),
              ctx.access.http,
            ),
          ],
          name: `${server.gateway}|${server.server.port.name}`,
        },
      ];
    }
    case 'tls-terminate':
    case 'tcp': {
      const route = firstTcpRoute(server, port.port);
      const filter = route && tcpProxy(`${prefix}_${server.server.port.name}`, route.route);
      if (!filter) return [];
      const chain: FilterChain = { filters: [...ctx.access.tcp, filter], name: `${server.gateway}|${server.server.port.name}` };
      if (server.kind === 'tls-terminate') {
        const names = serverNames(server);
        if (names) chain.filter_chain_match = { server_names: names };
        chain.transport_socket = gatewayServerSocket(server.tls!, server.secrets!, false, trustDomains);
      }
      return [chain];
    }
    case 'passthrough':
      return passthroughChains(server, port, ctx);
    case 'auto-passthrough':
      return view.outbound.clusters.map((c) => ({
        filter_chain_match: { server_names: [c.sni] },
        filters: [...ctx.access.tcp, tcpProxyTo(`${prefix}_${c.name}`, [{ name: c.name, weight: 1 }])],
        name: `${server.gateway}|auto|${c.name}`,
      }));
  }
}

function firstTcpRoute(server: GatewayServerView, port: number): L4RouteView | undefined {
  for (const { routes } of server.virtualServices) {
    for (const route of routes.tcp) {
      const applies =
        route.match.length === 0 ||
        route.match.some(
          (m) => (m.port === undefined || m.port === port) && (m.gateways.length === 0 || m.gateways.includes(server.gateway)),
        );
      if (applies) return route;
    }
  }
  return undefined;
}

/** PASSTHROUGH: one chain per VirtualService tls route, matched by the SNI hosts the server admits (the view kept only those). */
function passthroughChains(server: GatewayServerView, port: GatewayPortView, ctx: GatewayListenerContext): FilterChain[] {
  const chains: FilterChain[] = [];
  server.virtualServices.forEach(({ routes }) => {
    routes.tls.forEach((route, i) => {
      for (const match of route.match) {
        if (match.port !== undefined && match.port !== port.port) continue;
        if (match.gateways.length > 0 && !match.gateways.includes(server.gateway)) continue;
        const sni = match.sniHosts;
        if (sni.length === 0) continue;
        const filter = tcpProxy(`gateway_${port.port}_passthrough`, route.route);
        if (!filter) {
          ctx.warn(`${routes.source} tls route ${i}: no known destination`);
          continue;
        }
        chains.push({
          filter_chain_match: { server_names: [...sni] },
          filters: [...ctx.access.tcp, filter],
          name: `${server.gateway}|${routes.source}|tls-${i}`,
        });
      }
    });
  });
  return chains;
}

export interface GatewayListeners {
  listeners: Listener[];
  /** The certificates (and client CAs) of the servers that got a TLS-terminating chain. */
  secrets: SecretRef[];
}

export function buildGatewayListeners(view: GatewayView, ctx: GatewayListenerContext): GatewayListeners {
  const listeners: Listener[] = [];
  const secrets: SecretRef[] = [];
  for (const port of view.ports) {
    const name = `${port.bind}_${port.port}`;
    const http = port.servers.filter((s) => s.kind === 'http');
    let chains: FilterChain[];
    if (http.length > 0) {
      chains = [
        {
          filters: [gatewayHcm(`gateway_${port.port}_http`, `http.${port.port}`, ctx.httpFiltersFor(`http.${port.port}`), ctx.access.http)],
          name: `http.${port.port}`,
        },
      ];
    } else {
      const kept = dedupeChains(
        port.servers.flatMap((server) => chainsFor(server, port, view, ctx).map((chain) => ({ chain, server }))),
        name,
        ctx,
      );
      for (const { chain, server } of kept) {
        if (chain.transport_socket && server.secrets)
          secrets.push(server.secrets.certificate, ...(server.secrets.validation ? [server.secrets.validation] : []));
      }
      chains = kept.map((k) => k.chain);
    }
    if (chains.length === 0) {
      ctx.warn(`listener ${name}: no server on this port has anything to serve`);
      continue;
    }
    const listener: Listener = {
      name,
      address: socketAddress(port.bind, port.port),
      filter_chains: chains,
      traffic_direction: 'INBOUND',
    };
    if (http.length === 0) listener.listener_filters = [TLS_INSPECTOR];
    listeners.push(listener);
  }
  return { listeners, secrets };
}

/** Envoy rejects two chains with the same match: the first server (oldest Gateway) keeps it. */
function dedupeChains<T extends { chain: FilterChain }>(chains: T[], listener: string, ctx: GatewayListenerContext): T[] {
  const seen = new Set<string>();
  return chains.filter(({ chain: c }) => {
    const key = JSON.stringify(c.filter_chain_match ?? {});
    if (seen.has(key)) {
      ctx.warn(`listener ${listener}: chain ${String(c.name)} matches the same SNI as an earlier server; skipped`);
      return false;
    }
    seen.add(key);
    return true;
  });
}
