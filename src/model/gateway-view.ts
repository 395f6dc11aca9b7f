// A gateway proxy's view: its listening ports with the Gateway servers on
// each, and the VirtualService routes bound to them, resolved per server.
import type { GatewayServer, ServerTlsSettings, VirtualService } from '../config/types.js';
import { gatewayId, hostsOverlap, narrowerHost, parseServerHost, type ServerHost } from './gateways.js';
import type { MeshModel } from './mesh-model.js';
import { outboundView, type OutboundView } from './proxy-view.js';
import type { Workload } from './registry.js';

export type ServerKind = 'http' | 'https' | 'tls-terminate' | 'passthrough' | 'auto-passthrough' | 'tcp';

export interface BoundVirtualService {
  vs: VirtualService;
  /** The VirtualService hosts this server serves, narrowed to the server's host patterns. */
  hosts: string[];
}

export interface GatewayServerView {
  gateway: string;
  gatewayNamespace: string;
  server: GatewayServer;
  kind: ServerKind;
  hosts: ServerHost[];
  tls?: ServerTlsSettings;
  /** RDS name for HTTP(S) servers: `http.<port>` or `https.<port>.<portName>.<gateway>.<namespace>`. */
  routeConfigName?: string;
  virtualServices: BoundVirtualService[];
}

export interface GatewayPortView {
  port: number;
  bind: string;
  servers: GatewayServerView[];
}

export interface GatewayView {
  proxy: Workload;
  gateways: string[];
  ports: GatewayPortView[];
  outbound: OutboundView;
  warnings: string[];
}

function serverKind(server: GatewayServer): ServerKind {
  const protocol = server.port.protocol;
  const mode = server.tls?.mode;
  if (protocol === 'HTTP' || protocol === 'HTTP2' || protocol === 'GRPC') return 'http';
  if (protocol === 'HTTPS') return mode === 'PASSTHROUGH' ? 'passthrough' : 'https';
  if (protocol === 'TLS') {
    if (mode === 'PASSTHROUGH') return 'passthrough';
    if (mode === 'AUTO_PASSTHROUGH') return 'auto-passthrough';
    return 'tls-terminate';
  }
  return 'tcp';
}

/** VirtualService hosts (in the VS namespace) that a server's host patterns admit. */
function admittedHosts(vs: VirtualService, hosts: readonly ServerHost[]): string[] {
  const out = new Set<string>();
  for (const vsHost of vs.spec.hosts) {
    for (const sh of hosts) {
      if (sh.namespace !== '*' && sh.namespace !== vs.meta.namespace) continue;
      if (hostsOverlap(sh.host, vsHost)) out.add(narrowerHost(sh.host, vsHost));
    }
  }
  return [...out].sort();
}

export function buildGatewayView(model: MeshModel, proxy: Workload): GatewayView {
  const warnings: string[] = [];
  const ports = new Map<string, GatewayPortView>();
  const gateways = model.gateways.gatewaysOf(proxy);
  for (const gw of gateways) {
    const id = gatewayId(gw);
    const bound = model.gateways.boundTo(id);
    for (const server of gw.spec.servers) {
      const bind = server.bind ?? proxy.address;
      const key = `${bind}:${server.port.number}`;
      const port = ports.get(key) ?? { port: server.port.number, bind, servers: [] };
      ports.set(key, port);
      const kind = serverKind(server);
      const hosts = server.hosts.map((h) => parseServerHost(h, gw.meta.namespace));
      const virtualServices = bound
        .map((vs) => ({ vs, hosts: admittedHosts(vs, hosts) }))
        .filter((b) => b.hosts.length > 0 && hasRoutesFor(kind, b.vs));
      const routeConfigName =
        kind === 'http'
          ? `http.${server.port.number}`
          : kind === 'https'
            ? `https.${server.port.number}.${server.port.name}.${gw.meta.name}.${gw.meta.namespace}`
            : undefined;
      port.servers.push({
        gateway: id,
        gatewayNamespace: gw.meta.namespace,
        server,
        kind,
        hosts,
        tls: server.tls,
        routeConfigName,
        virtualServices,
      });
    }
  }
  const sorted = [...ports.values()].sort((a, b) => a.port - b.port || a.bind.localeCompare(b.bind));
  for (const p of sorted) {
    const kinds = new Set(p.servers.map((s) => (s.kind === 'http' ? 'http' : 'tls')));
    if (kinds.size > 1) warnings.push(`port ${p.port}: plain HTTP and TLS servers cannot share a port; the TLS servers are skipped`);
  }
  return { proxy, gateways: gateways.map(gatewayId), ports: sorted, outbound: outboundView(model, proxy.namespace), warnings };
}

function hasRoutesFor(kind: ServerKind, vs: VirtualService): boolean {
  if (kind === 'http' || kind === 'https') return vs.spec.http.length > 0;
  if (kind === 'passthrough') return vs.spec.tls.length > 0;
  if (kind === 'tcp' || kind === 'tls-terminate') return vs.spec.tcp.length > 0;
  return false;
}
