// The translator registry: which kind of proxy a workload is, and the one
// entry point that translates any of them. Each kind is a plug-in file:
// proxy-resources.ts (sidecars), gateway-resources.ts, proxyless-translate.ts.
import type { MeshModel } from '../model/mesh-model.js';
import { type ProxyKind, proxyKind } from '../model/proxy-kind.js';
import type { Workload } from '../model/registry.js';
import { translateGateway } from './gateway-resources.js';
import { translateProxy, type ProxyResources } from './proxy-resources.js';
import { PROXYLESS_GRPC_ANNOTATION } from './proxyless-workload.js';
import { translateProxyless } from './proxyless-translate.js';

export { type ProxyKind, proxyKind };

export type TranslationResult = { ok: true; kind: ProxyKind; proxy: Workload; resources: ProxyResources } | { ok: false; error: string };

/** Every workload meshlite has config for, sorted by id. */
export function meshProxies(model: MeshModel): { workload: Workload; kind: ProxyKind }[] {
  const out: { workload: Workload; kind: ProxyKind }[] = [];
  for (const workload of model.registry.workloads) {
    const kind = proxyKind(model, workload);
    if (kind) out.push({ workload, kind });
  }
  return out;
}

/** The workloads meshlite serves as Envoy sidecars (not gateways or proxyless apps, even if labelled). */
export function sidecarProxies(model: MeshModel): Workload[] {
  return meshProxies(model)
    .filter((p) => p.kind === 'sidecar')
    .map((p) => p.workload);
}

export function translate(model: MeshModel, proxyId: string): TranslationResult {
  const proxy = model.registry.workload(proxyId);
  if (!proxy) return { ok: false, error: `no workload "${proxyId}" (expected <name>.<namespace> of a WorkloadEntry)` };
  const kind = proxyKind(model, proxy);
  if (!kind) {
    return {
      ok: false,
      error: `workload "${proxyId}" runs no sidecar (label security.istio.io/tlsMode: istio), no Gateway selects it, and it is not proxyless (annotation ${PROXYLESS_GRPC_ANNOTATION}: "true")`,
    };
  }
  const result =
    kind === 'proxyless'
      ? translateProxyless(model, proxyId)
      : kind === 'gateway'
        ? translateGateway(model, proxyId)
        : translateProxy(model, proxyId);
  if (!result.ok) return result;
  let resources = result.resources;
  const authz = model.authz.for(proxy);
  if (kind === 'proxyless' && (authz.authorizationPolicies.length > 0 || authz.requestAuthentications.length > 0)) {
    // meshlite serves proxyless apps client config only: nothing would enforce these, so say it loudly.
    resources = {
      ...resources,
      warnings: [
        ...resources.warnings,
        'AuthorizationPolicy/RequestAuthentication select this proxyless gRPC app but are NOT enforced (meshlite serves proxyless apps client config only)',
      ],
    };
  }
  return { ok: true, kind, proxy, resources };
}
