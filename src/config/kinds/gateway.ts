// Gateway (networking.istio.io): the ports, hosts and TLS settings a gateway
// workload serves. Port sharing follows how Envoy can tell servers apart:
// plain-text HTTP servers on one port are merged into one route table, HTTPS
// and TLS servers on one port are told apart by SNI, anything else needs a
// port of its own.
import type { GatewayServer } from '../types.js';
import { DNS_LABEL, hostProblem, isIpAddress, toLabels } from './common-fields.js';
import { familyOf, GATEWAY_PROTOCOLS, GATEWAY_SPEC, type GatewayProtocol, type PortFamily, toServerTls } from './gateway-fields.js';
import type { BuildContext, KindHandler } from './kind-handler.js';

export const gateway: KindHandler = {
  group: 'networking.istio.io',
  versions: ['v1', 'v1beta1', 'v1alpha3'],
  kind: 'Gateway',
  specSchema: GATEWAY_SPEC,
  build(spec, ctx) {
    if (!DNS_LABEL.test(ctx.meta.name)) {
      ctx.report(['metadata', 'name'], 'a Gateway name must be a DNS label (no dots): VirtualServices refer to it as <namespace>/<name>');
    }
    const selector = toLabels(spec.selector);
    if (spec.selector == null)
      ctx.report(['spec', 'selector'], 'a Gateway needs a selector: meshlite has no default ingress gateway workload');
    else if (Object.keys(selector).length === 0)
      ctx.report(['spec', 'selector'], 'must not be empty: it picks the gateway workloads by their labels');
    const rawServers = (spec.servers ?? []) as Record<string, unknown>[];
    if (rawServers.length === 0) ctx.report(['spec', 'servers'], 'at least one server is required');
    const servers = rawServers.map((raw, i) => toServer(raw, i, ctx));
    checkNames(servers, ctx);
    checkSharedPorts(servers, ctx);
    return { kind: 'Gateway', meta: ctx.meta, source: ctx.source, spec: { selector, servers } };
  },
};

function toServer(raw: Record<string, unknown>, i: number, ctx: BuildContext): GatewayServer {
  const path = ['spec', 'servers', i];
  const rawPort = raw.port as { number: number; name: string; protocol: string; targetPort?: number };
  const hosts = raw.hosts as string[];
  if (hosts.length === 0) ctx.report([...path, 'hosts'], 'at least one host is required');
  const seen = new Set<string>();
  hosts.forEach((host, h) => {
    const problem = serverHostProblem(host);
    if (problem) ctx.report([...path, 'hosts', h], problem);
    else if (seen.has(host)) ctx.report([...path, 'hosts', h], `host "${host}" is listed twice`);
    seen.add(host);
  });
  const protocol = rawPort.protocol.toUpperCase();
  const known = (GATEWAY_PROTOCOLS as readonly string[]).includes(protocol);
  if (!known)
    ctx.report([...path, 'port', 'protocol'], `unknown protocol "${rawPort.protocol}"; expected one of ${GATEWAY_PROTOCOLS.join(', ')}`);
  if (rawPort.targetPort != null)
    ctx.report([...path, 'port', 'targetPort'], 'targetPort has no effect on a Gateway server (Istio rejects it too)');
  const bind = raw.bind as string | undefined;
  if (bind?.startsWith('unix://')) ctx.report([...path, 'bind'], 'binding to a unix domain socket is not supported by meshlite');
  else if (bind !== undefined && !isIpAddress(bind)) ctx.report([...path, 'bind'], `expected an IP address to bind to, got "${bind}"`);
  if (raw.defaultEndpoint != null) ctx.report([...path, 'defaultEndpoint'], 'defaultEndpoint is not supported by meshlite');
  const rawTls = (raw.tls ?? undefined) as Record<string, unknown> | undefined;
  const tls = known ? toServerTls(protocol as GatewayProtocol, rawTls, [...path, 'tls'], ctx.report) : undefined;
  return {
    port: { number: rawPort.number, name: rawPort.name, protocol },
    hosts: [...hosts],
    tls,
    name: raw.name as string | undefined,
    bind,
  };
}

/** Hosts as Istio writes them on a server: `[namespace/]host`, namespace `*`, `.` or a name. */
function serverHostProblem(raw: string): string | undefined {
  const slash = raw.indexOf('/');
  const host = slash < 0 ? raw : raw.slice(slash + 1);
  if (slash >= 0) {
    const namespace = raw.slice(0, slash);
    if (namespace !== '*' && namespace !== '.' && !DNS_LABEL.test(namespace)) {
      return `invalid namespace "${namespace}" in host "${raw}": expected ".", "*" or a namespace name`;
    }
  }
  return hostProblem(host, { shortNames: false, star: true, ip: true });
}

/** Istio names a gateway's HTTPS routes after the port name, so port names must be unique. */
function checkNames(servers: GatewayServer[], ctx: BuildContext): void {
  const portNames = new Map<string, number>();
  const serverNames = new Map<string, number>();
  servers.forEach((server, i) => {
    const prior = portNames.get(server.port.name);
    if (prior !== undefined) {
      ctx.report(
        ['spec', 'servers', i, 'port', 'name'],
        `duplicate port name "${server.port.name}" (also used by servers[${prior}]); port names must be unique across the servers of a Gateway`,
      );
    } else {
      portNames.set(server.port.name, i);
    }
    if (server.name === undefined) return;
    const priorServer = serverNames.get(server.name);
    if (priorServer !== undefined)
      ctx.report(['spec', 'servers', i, 'name'], `duplicate server name "${server.name}" (also used by servers[${priorServer}])`);
    else serverNames.set(server.name, i);
  });
}

/**
 * Servers on one port (and bind address) must be separable by Envoy: HTTP,
 * HTTP2 and GRPC servers share one route table; HTTPS and TLS servers get one
 * filter chain each, chosen by SNI, so their hosts must differ; a TCP or MONGO
 * server has nothing to tell connections apart by and needs its own port.
 */
function checkSharedPorts(servers: GatewayServer[], ctx: BuildContext): void {
  const byPort = new Map<string, { index: number; family: PortFamily; protocol: string }[]>();
  servers.forEach((server, i) => {
    if (!(GATEWAY_PROTOCOLS as readonly string[]).includes(server.port.protocol)) return;
    const protocol = server.port.protocol as GatewayProtocol;
    const family = familyOf(protocol);
    const key = `${server.bind ?? ''}|${server.port.number}`;
    const others = byPort.get(key) ?? [];
    byPort.set(key, [...others, { index: i, family, protocol }]);
    const clash = others.find((o) => o.family !== family || family === 'tcp');
    if (clash) {
      const reason =
        family === 'tcp' || clash.family === 'tcp'
          ? 'a TCP or MONGO server needs a port of its own'
          : 'plain-text and TLS servers cannot share a port (HTTP, HTTP2 and GRPC servers can share one, and so can HTTPS and TLS servers, told apart by SNI)';
      ctx.report(
        ['spec', 'servers', i, 'port', 'number'],
        `port ${server.port.number} is already used by servers[${clash.index}] with protocol ${clash.protocol}: ${reason}`,
      );
      return;
    }
    if (family !== 'tls') return;
    server.hosts.forEach((raw, h) => {
      const host = raw.slice(raw.indexOf('/') + 1);
      const owner = others.find((o) => servers[o.index]!.hosts.some((r) => r.slice(r.indexOf('/') + 1) === host));
      if (owner) {
        ctx.report(
          ['spec', 'servers', i, 'hosts', h],
          `host "${host}" is already served on port ${server.port.number} by servers[${owner.index}]; TLS servers sharing a port are told apart by SNI, so their hosts must differ`,
        );
      }
    });
  });
}
