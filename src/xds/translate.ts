// The translator registry: one builder per kind of proxy view, each a plug-in
// file: proxy-resources.ts (sidecars), gateway-resources.ts, proxyless-translate.ts.
import type { ProxyKind, ProxyView } from '../model/view-types.js';
import { buildGatewayResources } from './gateway-resources.js';
import type { ProxyResources } from './proxy-resources.js';
import { buildSidecarResources } from './proxy-resources.js';
import { buildProxylessResources } from './proxyless-translate.js';
import type { ResourceCache } from './resource-cache.js';

const BUILDERS: { readonly [K in ProxyKind]: (view: Extract<ProxyView, { kind: K }>, cache?: ResourceCache) => ProxyResources } = {
  sidecar: buildSidecarResources,
  gateway: buildGatewayResources,
  proxyless: buildProxylessResources,
};

/** A proxy's Envoy resources from its view; `cache` shares what proxies of one set of views have in common. */
export function buildResources(view: ProxyView, cache?: ResourceCache): ProxyResources {
  const build = BUILDERS[view.kind] as (view: ProxyView, cache?: ResourceCache) => ProxyResources;
  return build(view, cache);
}
