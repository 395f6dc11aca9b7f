// ML01xx: mutual TLS and the port numbers policies are keyed by.
import type { PathSegment } from '../config/diagnostics.js';
import type { DestinationRule, PeerAuthentication, TlsMode, TrafficPolicy } from '../config/types.js';
import { matchesSelector } from '../model/labels.js';
import { type Endpoint, endpointPort, type Service, type ServicePort } from '../model/registry.js';
import { type AnalysisContext, type SelectableWorkload, selectedWorkloads, servicesOfHost } from './analysis-context.js';

/** ML0101, ML0102: a DestinationRule makes clients send plaintext or one-way TLS to a workload port that requires mTLS. */
export function checkStrictVersusClientTls(ctx: AnalysisContext): void {
  for (const dr of ctx.config.destinationRules) {
    const reported = new Set<string>();
    for (const service of servicesOfHost(ctx, dr.spec.host, dr.meta.namespace)) {
      for (const port of service.ports) {
        for (const subset of [undefined, ...dr.spec.subsets.map((s, i) => ({ s, i }))]) {
          const layer = winningTls(dr, port.number, subset);
          if (!layer || (layer.mode !== 'DISABLE' && layer.mode !== 'SIMPLE')) continue;
          const key = layer.path.join('.');
          if (reported.has(key)) continue;
          const endpoints = subset ? service.endpoints.filter((e) => matchesSelector(subset.s.labels, e.labels)) : service.endpoints;
          const strict = endpoints.find((e) => e.sidecar && ctx.model.peerAuthn.effectiveMode(e, endpointPort(e, port)) === 'STRICT');
          if (!strict) continue;
          reported.add(key);
          report(ctx, dr, layer, service, port, strict);
        }
      }
    }
  }
}

function report(ctx: AnalysisContext, dr: DestinationRule, layer: TlsLayer, service: Service, port: ServicePort, e: Endpoint): void {
  const target = endpointPort(e, port);
  const who = e.workload ? `workload ${e.workload.id}` : `endpoint ${e.address}`;
  const sends = layer.mode === 'DISABLE' ? 'plaintext' : 'TLS without a client certificate (SIMPLE)';
  ctx.report({
    code: layer.mode === 'DISABLE' ? 'ML0101' : 'ML0102',
    severity: 'Error',
    resource: dr,
    path: layer.path,
    message:
      `clients using this rule send ${sends} to ${service.host}:${port.number}, but ${who} requires mutual TLS on port ${target} ` +
      `(${strictBy(ctx, e)}): its proxy refuses those connections and clients get 503. ` +
      'Set tls mode ISTIO_MUTUAL (or drop the tls setting so auto mTLS decides), or relax the PeerAuthentication for that port.',
  });
}

interface TlsLayer {
  mode: TlsMode;
  path: PathSegment[];
}

/** The tls setting that decides a port (and subset): subset port level, subset, rule port level, rule. */
function winningTls(
  dr: DestinationRule,
  port: number,
  subset: { s: { trafficPolicy?: TrafficPolicy }; i: number } | undefined,
): TlsLayer | undefined {
  const layers: { policy?: TrafficPolicy; base: PathSegment[] }[] = [
    ...(subset ? [{ policy: subset.s.trafficPolicy, base: ['spec', 'subsets', subset.i, 'trafficPolicy'] }] : []),
    { policy: dr.spec.trafficPolicy, base: ['spec', 'trafficPolicy'] },
  ];
  for (const { policy, base } of layers) {
    if (!policy) continue;
    const index = [...policy.portLevelSettings.keys()].indexOf(port);
    const atPort = policy.portLevelSettings.get(port);
    if (atPort?.tls) return { mode: atPort.tls.mode, path: [...base, 'portLevelSettings', index, 'tls', 'mode'] };
    if (policy.tls) return { mode: policy.tls.mode, path: [...base, 'tls', 'mode'] };
  }
  return undefined;
}

/** Which PeerAuthentication makes an endpoint STRICT (for the message; the model decides the mode). */
function strictBy(ctx: AnalysisContext, e: Endpoint): string {
  const root = ctx.config.mesh.rootNamespace;
  const pas = ctx.config.peerAuthentications;
  const name = (p: PeerAuthentication) => `PeerAuthentication ${p.meta.namespace}/${p.meta.name}`;
  const own = pas.find((p) => p.meta.namespace === e.namespace && p.spec.selector && matchesSelector(p.spec.selector, e.labels));
  if (own) return name(own);
  const ns = pas.find((p) => p.meta.namespace === e.namespace && !p.spec.selector && p.spec.mtlsMode !== 'UNSET');
  if (ns) return `${name(ns)}, namespace-wide`;
  const mesh = pas.find((p) => p.meta.namespace === root && !p.spec.selector);
  return mesh ? `${name(mesh)}, mesh-wide` : 'its PeerAuthentication';
}

/** Services whose workloadSelector picks a workload. */
function servicesSelecting(ctx: AnalysisContext, w: SelectableWorkload): Service[] {
  return ctx.model.registry.services.filter((s) => s.namespace === w.namespace && s.selector && matchesSelector(s.selector, w.labels));
}

/** ML0103, ML0104: PeerAuthentication portLevelMtls keys are the workload's own (target) ports. */
export function checkPortLevelMtls(ctx: AnalysisContext): void {
  for (const pa of ctx.config.peerAuthentications) {
    if (!pa.spec.selector || pa.spec.portLevelMtls.size === 0 || pa.spec.legacy?.portsAreServicePorts) continue;
    const selected = selectedWorkloads(ctx, pa.spec.selector, pa.meta.namespace, false);
    if (selected.length === 0) continue;
    const targets = new Set<number>();
    const servicePorts = new Map<number, { host: string; target: number }>();
    for (const w of selected) {
      for (const p of Object.values(w.ports)) targets.add(p);
      for (const s of servicesSelecting(ctx, w)) {
        for (const p of s.ports) {
          const target = endpointPort(w, p);
          targets.add(target);
          if (target !== p.number) servicePorts.set(p.number, { host: s.host, target });
        }
      }
    }
    for (const port of pa.spec.portLevelMtls.keys()) {
      if (targets.has(port)) continue;
      const path = ['spec', 'portLevelMtls', String(port)];
      const asService = servicePorts.get(port);
      ctx.report(
        asService
          ? {
              code: 'ML0103',
              severity: 'Warning',
              resource: pa,
              path,
              message:
                `port ${port} is the service port of ${asService.host}; its workloads listen on ${asService.target}. ` +
                `portLevelMtls is keyed by the port the workload listens on, so this setting applies to nothing: key it ${asService.target}.`,
            }
          : {
              code: 'ML0104',
              severity: 'Warning',
              resource: pa,
              path,
              message: `no workload this policy selects listens on port ${port} (by its ports or a service's target port), so this setting applies to nothing.`,
            },
      );
    }
  }
}

/** ML0105, ML0106: DestinationRule portLevelSettings are keyed by the service port. */
export function checkPortLevelSettings(ctx: AnalysisContext): void {
  for (const dr of ctx.config.destinationRules) {
    const services = servicesOfHost(ctx, dr.spec.host, dr.meta.namespace);
    if (services.length === 0) continue;
    const ports = new Set(services.flatMap((s) => s.ports.map((p) => p.number)));
    const behind = new Map<number, number>();
    for (const s of services)
      for (const p of s.ports) for (const e of s.endpoints) if (endpointPort(e, p) !== p.number) behind.set(endpointPort(e, p), p.number);
    const policies: { policy?: TrafficPolicy; base: PathSegment[] }[] = [
      { policy: dr.spec.trafficPolicy, base: ['spec', 'trafficPolicy'] },
      ...dr.spec.subsets.map((s, i) => ({ policy: s.trafficPolicy, base: ['spec', 'subsets', i, 'trafficPolicy'] as PathSegment[] })),
    ];
    for (const { policy, base } of policies) {
      [...(policy?.portLevelSettings.keys() ?? [])].forEach((port, i) => {
        if (ports.has(port)) return;
        const path = [...base, 'portLevelSettings', i, 'port', 'number'];
        const servicePort = behind.get(port);
        ctx.report(
          servicePort !== undefined
            ? {
                code: 'ML0105',
                severity: 'Warning',
                resource: dr,
                path,
                message:
                  `port ${port} is where the workloads of ${dr.spec.host} listen, behind service port ${servicePort}. ` +
                  `portLevelSettings are matched against the service port, so this setting applies to nothing: use ${servicePort}.`,
              }
            : {
                code: 'ML0106',
                severity: 'Warning',
                resource: dr,
                path,
                message: `${dr.spec.host} has no port ${port} (its ports: ${[...ports].sort((a, b) => a - b).join(', ')}), so this setting applies to nothing.`,
              },
        );
      });
    }
  }
}
