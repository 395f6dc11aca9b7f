// Outbound listeners. EXPLICIT mode (no traffic capture, the usual case off
// Kubernetes): an HTTP proxy listener the app uses as `http_proxy`, plus one
// listener per TCP service port, all on the proxy's outbound address.
// TRANSPARENT mode: Istio's layout, `virtualOutbound` on 15001 handing
// redirected connections to per-port listeners that do not bind.
import { type SidecarView, VIRTUAL_OUTBOUND_PORT } from '../model/view-types.js';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER } from './cluster.js';
import { socketAddress } from './common.js';
import type { Listener } from './envoy-types/index.js';
import { outboundHttpConnectionManager, tcpProxyFilter } from './http-connection-manager.js';
import { ORIGINAL_DST_FILTER } from './inbound-listener.js';
import { HTTP_PROXY_ROUTE } from './route-configuration.js';

export const VIRTUAL_OUTBOUND = 'virtualOutbound';

export function buildOutboundListeners(view: SidecarView, httpFilters: readonly string[] = []): Listener[] {
  return view.settings.interceptionMode === 'TRANSPARENT' ? transparentListeners(view, httpFilters) : explicitListeners(view, httpFilters);
}

function explicitListeners(view: SidecarView, httpFilters: readonly string[]): Listener[] {
  const { outboundAddress, outboundPort } = view.settings;
  const listeners: Listener[] = [];
  if (view.outbound.httpRoutes.length > 0) {
    const name = `${outboundAddress}_${outboundPort}`;
    listeners.push({
      name,
      address: socketAddress(outboundAddress, outboundPort),
      filter_chains: [{ filters: [outboundHttpConnectionManager(`outbound_${name}`, HTTP_PROXY_ROUTE, httpFilters)] }],
      traffic_direction: 'OUTBOUND',
    });
  }
  for (const tcp of view.outbound.tcpPorts) {
    if (tcp.port === outboundPort) continue;
    const name = `${outboundAddress}_${tcp.port}`;
    listeners.push({
      name,
      address: socketAddress(outboundAddress, tcp.port),
      filter_chains: [{ filters: [tcpProxyFilter(`outbound_${name}`, tcp.cluster, tcp.weighted)] }],
      traffic_direction: 'OUTBOUND',
    });
  }
  return listeners;
}

function transparentListeners(view: SidecarView, httpFilters: readonly string[]): Listener[] {
  const unknown = view.outbound.outboundTrafficPolicy === 'REGISTRY_ONLY' ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER;
  const listeners: Listener[] = [
    {
      name: VIRTUAL_OUTBOUND,
      address: socketAddress('0.0.0.0', VIRTUAL_OUTBOUND_PORT),
      listener_filters: [ORIGINAL_DST_FILTER],
      use_original_dst: true,
      filter_chains: [{ name: VIRTUAL_OUTBOUND, filters: [tcpProxyFilter(unknown, unknown)] }],
      traffic_direction: 'OUTBOUND',
    },
  ];
  const { httpRoutes, tcpPorts } = view.outbound;
  const httpPorts = new Set(httpRoutes.map((r) => r.port));
  const ports = new Set<number>([...httpPorts, ...tcpPorts.map((t) => t.port)]);
  for (const port of [...ports].sort((a, b) => a - b)) {
    const name = `0.0.0.0_${port}`;
    const tcp = tcpPorts.find((t) => t.port === port);
    const filter = httpPorts.has(port)
      ? outboundHttpConnectionManager(`outbound_${name}`, String(port), httpFilters)
      : tcpProxyFilter(`outbound_${name}`, tcp!.cluster, tcp!.weighted);
    listeners.push({
      name,
      address: socketAddress('0.0.0.0', port),
      bind_to_port: false,
      filter_chains: [{ filters: [filter] }],
      traffic_direction: 'OUTBOUND',
    });
  }
  return listeners;
}
