// ML03xx: hosts, subsets and gateway servers that name nothing in the registry.
import type { PathSegment } from '../config/diagnostics.js';
import type { Destination, Gateway, GatewayServer, VirtualService } from '../config/types.js';
import { hostsOverlap, parseServerHost } from '../model/gateways.js';
import { matchesSelector } from '../model/labels.js';
import { MESH_GATEWAY } from '../model/view-types.js';
import { type AnalysisContext, servicesOfHost } from './analysis-context.js';

/** ML0301: a DestinationRule for a host no ServiceEntry defines. */
export function checkDestinationRuleHosts(ctx: AnalysisContext): void {
  for (const dr of ctx.config.destinationRules) {
    if (servicesOfHost(ctx, dr.spec.host, dr.meta.namespace).length > 0) continue;
    ctx.report({
      code: 'ML0301',
      severity: 'Warning',
      resource: dr,
      path: ['spec', 'host'],
      message: `no ServiceEntry defines a host "${resolved(ctx, dr.spec.host, dr.meta.namespace)}", so this rule applies to no traffic. Check the name (short names are read in the rule's namespace).`,
    });
  }
}

/** ML0305: subsets whose labels pick no endpoint of the rule's host. */
export function checkSubsets(ctx: AnalysisContext): void {
  for (const dr of ctx.config.destinationRules) {
    const services = servicesOfHost(ctx, dr.spec.host, dr.meta.namespace);
    if (services.length === 0) continue;
    dr.spec.subsets.forEach((subset, i) => {
      if (services.some((s) => s.endpoints.some((e) => matchesSelector(subset.labels, e.labels)))) return;
      ctx.report({
        code: 'ML0305',
        severity: 'Warning',
        resource: dr,
        path: ['spec', 'subsets', i, 'labels'],
        message: `no endpoint of ${dr.spec.host} has the labels of subset "${subset.name}", so traffic routed to it finds no endpoint (503). Fix the labels or the endpoints' labels.`,
      });
    });
  }
}

/** ML0302 (hosts of mesh VirtualServices), ML0303 (route destinations), ML0304 (mirrors), ML0306 (subsets). */
export function checkVirtualServiceHosts(ctx: AnalysisContext): void {
  for (const vs of ctx.config.virtualServices) {
    const ns = vs.meta.namespace;
    if (vs.spec.gateways.includes(MESH_GATEWAY)) {
      vs.spec.hosts.forEach((host, i) => {
        if (servicesOfHost(ctx, host, ns).length > 0) return;
        ctx.report({
          code: 'ML0302',
          severity: 'Warning',
          resource: vs,
          path: ['spec', 'hosts', i],
          message: `no ServiceEntry defines "${resolved(ctx, host, ns)}", so inside the mesh no proxy has a route for it and these rules are never used. Add a ServiceEntry or fix the host.`,
        });
      });
    }
    for (const { destination, path, mirror } of destinations(vs)) checkDestination(ctx, vs, destination, path, mirror);
  }
}

function* destinations(vs: VirtualService): Generator<{ destination: Destination; path: PathSegment[]; mirror: boolean }> {
  for (const [i, route] of vs.spec.http.entries()) {
    for (const [j, d] of route.route.entries())
      yield { destination: d.destination, path: ['spec', 'http', i, 'route', j, 'destination'], mirror: false };
    if (route.mirror) yield { destination: route.mirror, path: ['spec', 'http', i, 'mirror'], mirror: true };
  }
  for (const kind of ['tcp', 'tls'] as const)
    for (const [i, route] of vs.spec[kind].entries())
      for (const [j, d] of route.route.entries())
        yield { destination: d.destination, path: ['spec', kind, i, 'route', j, 'destination'], mirror: false };
}

function checkDestination(ctx: AnalysisContext, vs: VirtualService, d: Destination, path: PathSegment[], mirror: boolean): void {
  const ns = vs.meta.namespace;
  const host = resolved(ctx, d.host, ns);
  const service = ctx.model.registry.service(host);
  if (!service) {
    ctx.report(
      mirror
        ? {
            code: 'ML0304',
            severity: 'Warning',
            resource: vs,
            path: [...path, 'host'],
            message: `no ServiceEntry defines "${host}", so meshlite has no cluster to mirror to and does not mirror. Fix the host or add a ServiceEntry.`,
          }
        : {
            code: 'ML0303',
            severity: 'Error',
            resource: vs,
            path: [...path, 'host'],
            message: `no ServiceEntry defines "${host}", so meshlite has no cluster for this destination: its share of traffic goes to the route's other destinations, or the route answers 503 when none is left. Fix the host or add a ServiceEntry.`,
          },
    );
    return;
  }
  if (d.subset === undefined) return;
  const rules = ctx.config.destinationRules.filter((r) => servicesOfHost(ctx, r.spec.host, r.meta.namespace).includes(service));
  if (rules.some((r) => r.spec.subsets.some((s) => s.name === d.subset))) return;
  const named = rules.map((r) => `${r.meta.namespace}/${r.meta.name}`).join(', ');
  ctx.report({
    code: 'ML0306',
    severity: 'Error',
    resource: vs,
    path: [...path, 'subset'],
    message: `no DestinationRule for ${host}${named ? ` (${named})` : ''} defines subset "${d.subset}", so meshlite has no cluster for it and traffic routed to it fails (503). Add the subset or fix its name.`,
  });
}

/** Servers whose traffic needs a VirtualService: all but AUTO_PASSTHROUGH (routed by SNI to services) and HTTPS redirects. */
function needsRoutes(server: GatewayServer): boolean {
  return server.tls?.mode !== 'AUTO_PASSTHROUGH' && !server.tls?.httpsRedirect;
}

/** ML0307: Gateway server hosts no VirtualService bound to that gateway routes; ML0308: AUTO_PASSTHROUGH hosts of no service. */
export function checkGatewayHosts(ctx: AnalysisContext): void {
  for (const gw of ctx.config.gateways) {
    const id = `${gw.meta.namespace}/${gw.meta.name}`;
    const bound = ctx.model.gateways.boundTo(id);
    gw.spec.servers.forEach((server, i) => {
      server.hosts.forEach((raw, j) => {
        const path: PathSegment[] = ['spec', 'servers', i, 'hosts', j];
        const { namespace, host } = parseServerHost(raw, gw.meta.namespace);
        if (!needsRoutes(server)) {
          if (server.tls?.mode === 'AUTO_PASSTHROUGH' && !ctx.model.registry.services.some((s) => hostsOverlap(host, s.host)))
            ctx.report({
              code: 'ML0308',
              severity: 'Warning',
              resource: gw,
              path,
              message: `no ServiceEntry host matches "${host}", so this AUTO_PASSTHROUGH server has nowhere to send connections. Fix the host or add the ServiceEntry.`,
            });
          return;
        }
        const routed = bound.some(
          (vs) => (namespace === '*' || namespace === vs.meta.namespace) && vs.spec.hosts.some((h) => hostsOverlap(h, host)),
        );
        if (!routed) reportUnrouted(ctx, gw, path, raw, id);
      });
    });
  }
}

function reportUnrouted(ctx: AnalysisContext, gw: Gateway, path: PathSegment[], raw: string, id: string): void {
  ctx.report({
    code: 'ML0307',
    severity: 'Warning',
    resource: gw,
    path,
    message: `no VirtualService bound to gateway ${id} (spec.gateways) routes host "${raw}", so the gateway has no route for it and its requests get 404 (TLS or TCP connections are closed). Bind a VirtualService with that host to the gateway, or remove the host.`,
  });
}

function resolved(ctx: AnalysisContext, host: string, namespace: string): string {
  return ctx.model.registry.resolveHost(host, namespace);
}
