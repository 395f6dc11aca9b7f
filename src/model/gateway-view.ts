// A gateway proxy's view: its listening ports with the Gateway servers on
// each, the VirtualService routes bound to them (resolved per server), the
// outbound side of its namespace, its access control and its secrets.
import type { GatewayServer, ServerTlsSettings, VirtualService } from '../config/types.js';
import { authzView, trustDomains } from './authorization.js';
import { gatewayId, hostsOverlap, narrowerHost, parseServerHost } from './gateways.js';
import type { MeshModel } from './mesh-model.js';
import { proxyIdentity } from './proxy-view.js';
import type { Workload } from './registry.js';
import { virtualServiceRoutes } from './route-resolution.js';
import { credentialRef, fileCertRef, fileRootRef, ROOT_CA, WORKLOAD_CERT } from './secret-refs.js';
import type {
  BoundVirtualService,
  GatewayPortView,
  GatewayView,
  OutboundView,
  ServerHost,
  ServerKind,
  ServerSecrets,
  VirtualServiceRoutes,
} from './view-types.js';

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

/** The certificate a terminating server presents and the CA that verifies its clients. */
function serverSecrets(kind: ServerKind, tls: ServerTlsSettings | undefined): ServerSecrets | undefined {
  if (!tls || (kind !== 'https' && kind !== 'tls-terminate')) return undefined;
  const istio = tls.mode === 'ISTIO_MUTUAL';
  const certificate = istio
    ? WORKLOAD_CERT
    : tls.credentialName
      ? credentialRef(tls.credentialName, false)
      : fileCertRef(tls.serverCertificate!, tls.privateKey!);
  const verifies = istio || tls.mode === 'MUTUAL' || tls.mode === 'OPTIONAL_MUTUAL';
  if (!verifies) return { certificate };
  const validation = istio ? ROOT_CA : tls.credentialName ? credentialRef(tls.credentialName, true) : fileRootRef(tls.caCertificates);
  return { certificate, validation };
}

/** `outbound`: the view of the gateway's namespace (MeshViews shares one per namespace). */
export function buildGatewayView(model: MeshModel, proxy: Workload, outbound: OutboundView): GatewayView {
  const warnings: string[] = [];
  const ports = new Map<string, GatewayPortView>();
  const gateways = model.gateways.gatewaysOf(proxy);
  const routesOf = virtualServiceRoutes(model, new Set(outbound.clusters.map((c) => c.name)));
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
        .filter((vs) => hasRoutesFor(kind, vs))
        .map((vs) => ({ vs, hosts: admittedHosts(vs, hosts) }))
        .filter((b) => b.hosts.length > 0)
        .map((b) => boundRoutes(kind, routesOf(b.vs), b.hosts, hosts));
      const routeConfigName =
        kind === 'http'
          ? `http.${server.port.number}`
          : kind === 'https'
            ? `https.${server.port.number}.${server.port.name}.${gw.meta.name}.${gw.meta.namespace}`
            : undefined;
      const secrets = serverSecrets(kind, server.tls);
      port.servers.push({
        gateway: id,
        gatewayNamespace: gw.meta.namespace,
        server,
        kind,
        hosts,
        tls: server.tls,
        ...(secrets ? { secrets } : {}),
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
  return {
    kind: 'gateway',
    proxy: proxyIdentity(proxy),
    gateways: gateways.map(gatewayId),
    trustDomains: trustDomains(model.mesh),
    ports: sorted,
    outbound,
    authz: authzView(model, proxy),
    warnings,
    ...(model.mesh.accessLog ? { accessLog: model.mesh.accessLog } : {}),
  };
}

/** PASSTHROUGH servers route tls by SNI: each match keeps only the SNI hosts this server admits. */
function boundRoutes(
  kind: ServerKind,
  routes: VirtualServiceRoutes,
  hosts: string[],
  serverHosts: readonly ServerHost[],
): BoundVirtualService {
  if (kind !== 'passthrough') return { routes, hosts };
  const tls = routes.tls.map((r) => ({
    ...r,
    match: r.match.map((m) => ({ ...m, sniHosts: m.sniHosts.filter((h) => serverHosts.some((sh) => hostsOverlap(sh.host, h))).sort() })),
  }));
  return { routes: { ...routes, tls }, hosts };
}

function hasRoutesFor(kind: ServerKind, vs: VirtualService): boolean {
  if (kind === 'http' || kind === 'https') return vs.spec.http.length > 0;
  if (kind === 'passthrough') return vs.spec.tls.length > 0;
  if (kind === 'tcp' || kind === 'tls-terminate') return vs.spec.tcp.length > 0;
  return false;
}
