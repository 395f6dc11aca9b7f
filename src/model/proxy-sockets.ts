// The sockets a workload's processes listen on, as the config puts them there:
// the listeners its Envoy binds (sidecar or gateway), and where applications
// listen (a sidecar forwards inbound traffic there; a workload without an
// Envoy is reached there directly). It follows the listener builders of
// src/xds exactly; a test holds the two together on every example.
import type { PathSegment } from '../config/diagnostics.js';
import type { Sidecar } from '../config/sidecar-types.js';
import { SIDECAR_ANNOTATIONS } from '../config/kinds/workload-entry.js';
import { gatewayId } from './gateways.js';
import type { MeshModel } from './mesh-model.js';
import { type ProxyKind, proxyKind } from './proxy-kind.js';
import { healthProbeListener, proxySettings } from './proxy-view.js';
import { endpointPort, isHttpProtocol, isVisibleFrom, type Workload } from './registry.js';
import { type OutboundScope, outboundScope, scopedServices, sidecarsByNamespace } from './sidecar-scope.js';
import { VIRTUAL_INBOUND_PORT, VIRTUAL_OUTBOUND_PORT } from './view-types.js';

export const WILDCARD_ADDRESS = '0.0.0.0';

export interface WorkloadSocket {
  ip: string;
  port: number;
  /** `envoy`: a listener of the workload's Envoy; `app`: where an application listens. */
  role: 'envoy' | 'app';
  /** What listens there, in words (`outbound HTTP proxy listener`). */
  what: string;
  /** The settings that put it there, in words. */
  from: string;
  /** The WorkloadEntry field an error about this socket points at. */
  path: PathSegment[];
}

export interface WorkloadSockets {
  workload: Workload;
  /** How meshlite serves the workload; `app` when it serves it nothing (no Envoy, no proxyless client). */
  kind: ProxyKind | 'app';
  /** The workload's own sockets (a few), inbound side first. */
  sockets: readonly WorkloadSocket[];
  /** A sidecar's outbound TCP listeners, after the sockets above. */
  outboundTcp?: SocketGroup;
}

/**
 * Listeners on one address, one per port: a sidecar's outbound TCP listeners,
 * one per TCP service port its namespace reaches (hundreds in a large mesh).
 * Shared, read-only, by the namespace's proxies with the same settings.
 */
export interface SocketGroup {
  ip: string;
  byPort: ReadonlyMap<number, WorkloadSocket>;
}

/** Every socket of one workload, in a fixed order (inbound side first). */
export function workloadSockets(
  model: MeshModel,
  workload: Workload,
  outbound: OutboundPortIndex = new OutboundPortIndex(model),
): WorkloadSockets {
  const kind = proxyKind(model, workload) ?? 'app';
  if (kind === 'sidecar') return { workload, kind, ...sidecarSockets(model, workload, outbound) };
  return { workload, kind, sockets: kind === 'gateway' ? gatewaySockets(model, workload) : appSockets(model, workload) };
}

/** The sockets and the group together, in order. */
export function allSockets(sockets: WorkloadSockets): WorkloadSocket[] {
  return sockets.outboundTcp ? [...sockets.sockets, ...sockets.outboundTcp.byPort.values()] : [...sockets.sockets];
}

interface InboundTarget {
  targetPort: number;
  /** The first service port that reaches the workload there (`host:port`). */
  service: string;
  /** `spec.ports.<name>` when the WorkloadEntry sets the port, else undefined (the ServiceEntry's targetPort or number). */
  portField?: string;
}

/** The workload's target ports, as the inbound side of proxy-view.ts collects them. */
function inboundTargets(model: MeshModel, workload: Workload): InboundTarget[] {
  const byPort = new Map<number, InboundTarget>();
  for (const service of model.registry.servicesOfWorkload(workload)) {
    for (const port of service.ports) {
      const targetPort = endpointPort(workload, port);
      if (byPort.has(targetPort)) continue;
      const portField = workload.ports[port.name] !== undefined ? `spec.ports.${port.name}` : undefined;
      byPort.set(targetPort, { targetPort, service: `${service.host}:${port.number}`, portField });
    }
  }
  return [...byPort.values()].sort((a, b) => a.targetPort - b.targetPort);
}

/** An annotation's value in words, and where it is (nowhere when the default applies). */
function setting(workload: Workload, key: string, value: string | number): { text: string; path: PathSegment[] } {
  return workload.annotations[key] !== undefined
    ? { text: `${key}: ${value}`, path: ['metadata', 'annotations', key] }
    : { text: `${key} not set, default ${value}`, path: [] };
}

function sidecarSockets(
  model: MeshModel,
  workload: Workload,
  outboundIndex: OutboundPortIndex,
): { sockets: WorkloadSocket[]; outboundTcp?: SocketGroup } {
  const settings = proxySettings(workload, model.mesh);
  const targets = inboundTargets(model, workload);
  const app = setting(workload, SIDECAR_ANNOTATIONS.applicationAddress, settings.applicationAddress);
  const apps: WorkloadSocket[] = targets.map((t) => ({
    ip: settings.applicationAddress,
    port: t.targetPort,
    role: 'app',
    what: `application (the sidecar forwards ${t.service} to it)`,
    from: app.text,
    path: app.path,
  }));
  const probes = probeSockets(workload, settings.applicationAddress, app.text, targets);
  if (settings.interceptionMode === 'TRANSPARENT') {
    const mode =
      workload.annotations[SIDECAR_ANNOTATIONS.interceptionMode] !== undefined
        ? `${SIDECAR_ANNOTATIONS.interceptionMode}: TRANSPARENT`
        : 'MeshConfig defaultInterceptionMode: TRANSPARENT';
    const path =
      workload.annotations[SIDECAR_ANNOTATIONS.interceptionMode] !== undefined
        ? ['metadata', 'annotations', SIDECAR_ANNOTATIONS.interceptionMode]
        : [];
    const envoy: WorkloadSocket[] = [];
    if (targets.length > 0)
      envoy.push({ ip: WILDCARD_ADDRESS, port: VIRTUAL_INBOUND_PORT, role: 'envoy', what: 'virtualInbound listener', from: mode, path });
    envoy.push({ ip: WILDCARD_ADDRESS, port: VIRTUAL_OUTBOUND_PORT, role: 'envoy', what: 'virtualOutbound listener', from: mode, path });
    return { sockets: [...envoy, ...probes.envoy, ...apps, ...probes.apps] };
  }
  const inbound: WorkloadSocket[] = targets.map((t) => ({
    ip: workload.address,
    port: t.targetPort,
    role: 'envoy',
    what: `inbound listener for ${t.service}`,
    from: t.portField ? `spec.address, ${t.portField}` : 'spec.address',
    path: ['spec', 'address'],
  }));
  const outbound = outboundIndex.of(workload);
  const address = setting(workload, SIDECAR_ANNOTATIONS.outboundAddress, settings.outboundAddress);
  const out: WorkloadSocket[] = [];
  if (outbound.http !== undefined) {
    const port = setting(workload, SIDECAR_ANNOTATIONS.outboundPort, settings.outboundPort);
    out.push({
      ip: settings.outboundAddress,
      port: settings.outboundPort,
      role: 'envoy',
      what: 'outbound HTTP proxy listener',
      from: `${address.text}; ${port.text}`,
      path: address.path.length > 0 ? address.path : port.path,
    });
  }
  return {
    sockets: [...inbound, ...probes.envoy, ...apps, ...probes.apps, ...out],
    outboundTcp: outboundTcpGroup(outbound, settings.outboundAddress, settings.outboundPort, address),
  };
}

/** The plaintext probe listener, and the application ports it forwards to that no service port names already. */
function probeSockets(
  workload: Workload,
  applicationAddress: string,
  appFrom: string,
  targets: readonly InboundTarget[],
): { envoy: WorkloadSocket[]; apps: WorkloadSocket[] } {
  const probes = healthProbeListener(workload);
  if (!probes) return { envoy: [], apps: [] };
  const path = ['metadata', 'annotations', SIDECAR_ANNOTATIONS.healthProbes];
  const from = `${SIDECAR_ANNOTATIONS.healthProbes} port ${probes.port}`;
  const envoy: WorkloadSocket = {
    ip: probes.address,
    port: probes.port,
    role: 'envoy',
    what: 'plaintext health probe listener',
    from,
    path,
  };
  const ports = [...new Set(probes.routes.map((r) => r.targetPort))].filter((p) => !targets.some((t) => t.targetPort === p));
  const apps = ports.map(
    (port): WorkloadSocket => ({
      ip: applicationAddress,
      port,
      role: 'app',
      what: 'application (the sidecar forwards health probes to it)',
      from: appFrom,
      path,
    }),
  );
  return { envoy: [envoy], apps };
}

/** The namespace's TCP ports on the outbound address, but the HTTP proxy port (which takes precedence). */
function outboundTcpGroup(
  outbound: OutboundPorts,
  ip: string,
  outboundPort: number,
  address: { text: string; path: PathSegment[] },
): SocketGroup {
  const key = `${ip} ${outboundPort} ${address.path.length > 0}`;
  const known = outbound.tcpGroups.get(key);
  if (known) return known;
  const byPort = new Map<number, WorkloadSocket>();
  for (const [port, service] of outbound.tcp) {
    if (port !== outboundPort)
      byPort.set(port, { ip, port, role: 'envoy', what: `outbound TCP listener for ${service}`, from: address.text, path: address.path });
  }
  const group = { ip, byPort };
  outbound.tcpGroups.set(key, group);
  return group;
}

interface OutboundPorts {
  /** A service port that gives the namespace HTTP routes, if any does. */
  http?: string;
  /** TCP port -> the service that gets its listener (the first by host). */
  tcp: Map<number, string>;
  tcpGroups: Map<string, SocketGroup>;
}

/** The outbound ports of each namespace, computed once for as long as the caller keeps the index (one conflict check). */
export class OutboundPortIndex {
  private readonly byScope = new Map<string, OutboundPorts>();
  private readonly sidecars: ReadonlyMap<string, readonly Sidecar[]>;

  constructor(private readonly model: MeshModel) {
    this.sidecars = sidecarsByNamespace(model.config.sidecars);
  }

  /** The ports of the workload's outbound side: its namespace's, narrowed by the Sidecar resource that applies. */
  of(workload: Workload): OutboundPorts {
    const scope = outboundScope(this.sidecars, workload, this.model.mesh.rootNamespace);
    const key = scope?.key ?? workload.namespace;
    let ports = this.byScope.get(key);
    if (!ports) this.byScope.set(key, (ports = outboundPorts(this.model, workload.namespace, scope)));
    return ports;
  }
}

/** What the outbound side of outbound-view.ts gives a namespace: any HTTP port at all, and the TCP ports (first service wins). */
function outboundPorts(model: MeshModel, namespace: string, scope: OutboundScope | undefined): OutboundPorts {
  let http: string | undefined;
  const tcp = new Map<number, string>();
  const visible = model.registry.services.filter((s) => isVisibleFrom(s.exportTo, s.namespace, namespace));
  for (const service of scope ? scopedServices(model, namespace, visible, scope) : visible) {
    for (const port of service.ports) {
      if (isHttpProtocol(port.protocol)) http ??= `${service.host}:${port.number}`;
      else if (!tcp.has(port.number)) tcp.set(port.number, `${service.host}:${port.number}`);
    }
  }
  return { http, tcp, tcpGroups: new Map() };
}

/** Every server port of every Gateway that selects the workload (bound once a route uses it); servers on one port share a listener. */
function gatewaySockets(model: MeshModel, workload: Workload): WorkloadSocket[] {
  const byAddress = new Map<string, WorkloadSocket>();
  for (const gw of model.gateways.gatewaysOf(workload)) {
    gw.spec.servers.forEach((server, i) => {
      const ip = server.bind ?? workload.address;
      const port = server.port.number;
      if (byAddress.has(`${ip}:${port}`)) return;
      byAddress.set(`${ip}:${port}`, {
        ip,
        port,
        role: 'envoy',
        what: `gateway listener for Gateway ${gatewayId(gw)} (${gw.source.file}:${gw.source.line}) servers[${i}] (${server.port.name})`,
        from: server.bind !== undefined ? `servers[${i}].bind of that Gateway` : 'spec.address',
        path: server.bind !== undefined ? [] : ['spec', 'address'],
      });
    });
  }
  return [...byAddress.values()];
}

/** A workload without an Envoy (or a proxyless gRPC app): its application listens on its own address. */
function appSockets(model: MeshModel, workload: Workload): WorkloadSocket[] {
  return inboundTargets(model, workload).map((t) => ({
    ip: workload.address,
    port: t.targetPort,
    role: 'app',
    what: `application serving ${t.service}`,
    from: t.portField ? `spec.address, ${t.portField}` : 'spec.address',
    path: ['spec', 'address'],
  }));
}
