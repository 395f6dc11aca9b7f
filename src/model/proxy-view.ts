// A sidecar's view: its settings, inbound ports with their peer mTLS modes,
// the outbound side its namespace shares, its access control and the secrets
// all of that references.
import { parseHealthProbes } from '../config/kinds/health-probes-annotation.js';
import { SIDECAR_ANNOTATIONS } from '../config/kinds/workload-entry.js';
import type { InterceptionMode, MeshConfigSpec } from '../config/types.js';
import { authzView, trustDomains } from './authorization.js';
import type { MeshModel } from './mesh-model.js';
import { clusterName } from './names.js';
import { endpointPort, isHttp2Protocol, isHttpProtocol, type Workload } from './registry.js';
import { ROOT_CA, uniqueSecretRefs, WORKLOAD_CERT } from './secret-refs.js';
import type { HealthProbeListener, InboundPort, OutboundView, ProxyIdentity, ProxySettings, SidecarView } from './view-types.js';

export function proxySettings(proxy: Workload, mesh: MeshConfigSpec): ProxySettings {
  const a = proxy.annotations;
  return {
    interceptionMode: (a[SIDECAR_ANNOTATIONS.interceptionMode] as InterceptionMode | undefined) ?? mesh.defaultInterceptionMode,
    applicationAddress: a[SIDECAR_ANNOTATIONS.applicationAddress] ?? '127.0.0.1',
    outboundAddress: a[SIDECAR_ANNOTATIONS.outboundAddress] ?? '127.0.0.1',
    outboundPort: Number(a[SIDECAR_ANNOTATIONS.outboundPort] ?? 15001),
  };
}

export function proxyIdentity(proxy: Workload): ProxyIdentity {
  return { id: proxy.id, namespace: proxy.namespace, address: proxy.address, identity: proxy.identity };
}

/** `outbound`: the view of the proxy's namespace (MeshViews shares one per namespace). */
export function buildSidecarView(model: MeshModel, proxy: Workload, outbound: OutboundView): SidecarView {
  const inbound = inboundPorts(model, proxy);
  const mtls = inbound.some((p) => p.mode !== 'DISABLE') ? [WORKLOAD_CERT, ROOT_CA] : [];
  const view: SidecarView = {
    kind: 'sidecar',
    proxy: proxyIdentity(proxy),
    settings: proxySettings(proxy, model.mesh),
    trustDomains: trustDomains(model.mesh),
    inbound,
    outbound,
    authz: authzView(model, proxy),
    secrets: uniqueSecretRefs([...outbound.secrets, ...mtls]),
  };
  const probes = healthProbeListener(proxy);
  if (probes) view.healthProbes = probes;
  if (model.mesh.accessLog) view.accessLog = model.mesh.accessLog;
  return view;
}

/** The workload's declared probe listener (the config layer rejects a malformed annotation, so one that does not parse is none). */
export function healthProbeListener(proxy: Workload): HealthProbeListener | undefined {
  const value = proxy.annotations[SIDECAR_ANNOTATIONS.healthProbes];
  if (value === undefined) return undefined;
  const parsed = parseHealthProbes(value);
  if (!parsed.ok) return undefined;
  const routes = Object.entries(parsed.probes.paths)
    .map(([path, target]) => ({ path, cluster: `probe|${target.port}`, targetPort: target.port, targetPath: target.path }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { address: proxy.address, port: parsed.probes.port, routes };
}

function inboundPorts(model: MeshModel, proxy: Workload): InboundPort[] {
  const byPort = new Map<number, InboundPort>();
  for (const service of model.registry.servicesOfWorkload(proxy)) {
    for (const port of service.ports) {
      const targetPort = endpointPort(proxy, port);
      const existing = byPort.get(targetPort);
      const http = isHttpProtocol(port.protocol);
      const http2 = isHttp2Protocol(port.protocol);
      if (existing) {
        existing.services.push(`${service.host}:${port.number}`);
        existing.http = existing.http && http;
        existing.http2 = existing.http2 && http2;
        continue;
      }
      const mode = model.peerAuthn.effectiveMode({ namespace: proxy.namespace, labels: proxy.labels, ports: proxy.ports }, targetPort);
      byPort.set(targetPort, {
        targetPort,
        cluster: clusterName('inbound', targetPort, '', ''),
        http,
        http2,
        mode,
        services: [`${service.host}:${port.number}`],
      });
    }
  }
  return [...byPort.values()].sort((a, b) => a.targetPort - b.targetPort);
}
