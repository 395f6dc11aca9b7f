// Inbound listeners: filter chains per workload target port, shaped by the
// effective peer mTLS mode. TRANSPARENT mode gathers every port in one
// `virtualInbound` listener on 15006 (traffic redirected by iptables); EXPLICIT
// mode binds one listener per target port on the workload's own address.
import { type InboundPort, type SidecarView, VIRTUAL_INBOUND_PORT } from '../model/view-types.js';
import { type AuthzFilters, NO_AUTHZ_FILTERS } from './authz-filters.js';
import { socketAddress, typed } from './common.js';
import type {
  envoy_config_listener_v3_Filter as Filter,
  FilterChain,
  FilterChainMatch,
  Listener,
  ListenerFilter,
} from './envoy-types/index.js';
import { inboundHttpConnectionManager, tcpProxyFilter } from './http-connection-manager.js';
import { ISTIO_ALPNS, istioMutualDownstreamSocket } from './tls-context.js';
import { TYPE } from './type-urls.js';

export const VIRTUAL_INBOUND = 'virtualInbound';

const TLS_INSPECTOR: ListenerFilter = { name: 'envoy.filters.listener.tls_inspector', typed_config: typed(TYPE.tlsInspector) };
export const ORIGINAL_DST_FILTER: ListenerFilter = { name: 'envoy.filters.listener.original_dst', typed_config: typed(TYPE.originalDst) };

export function inboundFilterChains(
  port: InboundPort,
  trustDomains: readonly string[],
  access: AuthzFilters = NO_AUTHZ_FILTERS,
): FilterChain[] {
  const cluster = port.cluster;
  const terminate = (mtls: boolean): Filter[] =>
    port.http
      ? [inboundHttpConnectionManager(cluster, port.targetPort, mtls, access.http)]
      : [...access.tcp, tcpProxyFilter(`inbound_${port.targetPort}`, cluster)];
  const mtlsSocket = istioMutualDownstreamSocket(trustDomains, port.http ? ['h2', 'http/1.1'] : []);
  const p = port.targetPort;
  const mtlsChain = (extraMatch: FilterChainMatch): FilterChain => ({
    name: `inbound|${p}|mtls`,
    filter_chain_match: { destination_port: p, transport_protocol: 'tls', ...extraMatch },
    transport_socket: mtlsSocket,
    filters: terminate(true),
  });
  const plaintextChain: FilterChain = {
    name: `inbound|${p}|plaintext`,
    filter_chain_match: { destination_port: p, transport_protocol: 'raw_buffer' },
    filters: terminate(false),
  };
  switch (port.mode) {
    case 'STRICT':
      return [mtlsChain({})];
    case 'DISABLE':
      return [plaintextChain];
    case 'PERMISSIVE':
      return [
        mtlsChain({ application_protocols: ISTIO_ALPNS }),
        plaintextChain,
        {
          // TLS that is not mesh mTLS (the app terminates it itself): pass it through untouched.
          name: `inbound|${p}|tls-passthrough`,
          filter_chain_match: { destination_port: p, transport_protocol: 'tls' },
          filters: [...access.tcp, tcpProxyFilter(`inbound_${p}_passthrough`, cluster)],
        },
      ];
  }
}

function listenerFilters(chains: readonly FilterChain[], transparent: boolean): ListenerFilter[] {
  const filters: ListenerFilter[] = transparent ? [ORIGINAL_DST_FILTER] : [];
  const needsTls = chains.some((c) => c.filter_chain_match?.transport_protocol === 'tls');
  if (needsTls) filters.push(TLS_INSPECTOR);
  return filters;
}

export function buildInboundListeners(view: SidecarView, access: AuthzFilters = NO_AUTHZ_FILTERS): Listener[] {
  if (view.inbound.length === 0) return [];
  if (view.settings.interceptionMode === 'TRANSPARENT') {
    const chains = view.inbound.flatMap((port) => inboundFilterChains(port, view.trustDomains, access));
    return [
      {
        name: VIRTUAL_INBOUND,
        address: socketAddress('0.0.0.0', VIRTUAL_INBOUND_PORT),
        listener_filters: listenerFilters(chains, true),
        filter_chains: chains,
        traffic_direction: 'INBOUND',
      },
    ];
  }
  return view.inbound.map((port) => {
    const chains = inboundFilterChains(port, view.trustDomains, access);
    const listener: Listener = {
      name: `${view.proxy.address}_${port.targetPort}`,
      address: socketAddress(view.proxy.address, port.targetPort),
      filter_chains: chains,
      traffic_direction: 'INBOUND',
    };
    const filters = listenerFilters(chains, false);
    if (filters.length > 0) listener.listener_filters = filters;
    return listener;
  });
}
