// The pipeline for one mesh model: MeshModel -> ProxyView (src/model) ->
// Envoy resources (src/xds). A Translator owns the two caches that make
// proxies of one namespace share work, the views' and the resources', and
// lives exactly as long as its model: a new model gets a new Translator.
import { MeshViews, type ViewOptions } from '../model/mesh-views.js';
import type { MeshModel } from '../model/mesh-model.js';
import { type ProxyKind, proxyKind } from '../model/proxy-kind.js';
import type { Workload } from '../model/registry.js';
import type { ProxyView } from '../model/view-types.js';
import type { ProxyResources } from '../xds/proxy-resources.js';
import { ResourceCache } from '../xds/resource-cache.js';
import { buildResources } from '../xds/translate.js';

export type TranslationResult =
  | { ok: true; kind: ProxyKind; proxy: Workload; view: ProxyView; resources: ProxyResources }
  | { ok: false; error: string };

/** `proxylessSecurity` (default true): mTLS and server listeners with TLS for proxyless apps; false for `serve --insecure`. */
export type TranslatorOptions = ViewOptions;

export class Translator {
  readonly views: MeshViews;
  private readonly resources: ResourceCache;

  /**
   * `previous`: the Translator of the last model, when the two configs differ
   * at most in peer and access policies: the outbound side it built is taken
   * over where it still holds (MeshViews decides), with the Envoy resources made from it.
   */
  constructor(
    readonly model: MeshModel,
    options: TranslatorOptions = {},
    previous?: Translator,
  ) {
    this.views = new MeshViews(model, options, previous?.views);
    this.resources = previous && this.views.reused ? ResourceCache.carrying(previous.resources, outboundPart) : new ResourceCache();
  }

  translate(proxyId: string): TranslationResult {
    const found = this.views.view(proxyId);
    if (!found.ok) return found;
    const { view, workload } = found;
    return { ok: true, kind: view.kind, proxy: workload, view, resources: buildResources(view, this.resources) };
  }
}

/** Cache parts built from outbound views alone (or from nothing a config change can touch): valid while the views are reused. */
function outboundPart(part: string): boolean {
  return (
    part.startsWith('outbound') ||
    part === 'cluster' ||
    part === 'cluster-load-assignment' ||
    part === 'sorted-clusters' ||
    part === 'inbound-cluster' ||
    part === 'fallback-cluster'
  );
}

/** One proxy's translation with caches of its own (offline commands, tests). */
export function translate(model: MeshModel, proxyId: string): TranslationResult {
  return new Translator(model).translate(proxyId);
}

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

export { type ProxyKind, proxyKind };
