import { mapOf, obj } from '../schema.js';
import type { MtlsMode } from '../types.js';
import { MTLS_MODE, toLabels, toMtlsMode, WORKLOAD_SELECTOR } from './common-fields.js';
import type { KindHandler } from './kind-handler.js';

export const peerAuthentication: KindHandler = {
  group: 'security.istio.io',
  versions: ['v1', 'v1beta1'],
  kind: 'PeerAuthentication',
  specSchema: obj({
    selector: WORKLOAD_SELECTOR,
    mtls: obj({ mode: MTLS_MODE }),
    portLevelMtls: mapOf(obj({ mode: MTLS_MODE }), 'port'),
  }),
  build(spec, ctx) {
    const selector = spec.selector ? toLabels((spec.selector as Record<string, unknown>).matchLabels) : undefined;
    const hasSelector = selector !== undefined && Object.keys(selector).length > 0;
    if (hasSelector && ctx.meta.namespace === ctx.rootNamespace) {
      ctx.report(['spec', 'selector'], `a policy in the root namespace "${ctx.rootNamespace}" is mesh-wide and cannot have a selector`);
    }
    const portLevelMtls = new Map<number, MtlsMode>();
    const ports = (spec.portLevelMtls ?? {}) as Record<string, { mode?: string } | null>;
    for (const [port, setting] of Object.entries(ports)) {
      const number = Number(port);
      if (number < 1 || number > 65535) ctx.report(['spec', 'portLevelMtls', port], 'port must be between 1 and 65535');
      portLevelMtls.set(number, toMtlsMode(setting?.mode));
    }
    if (portLevelMtls.size > 0 && !hasSelector) {
      ctx.report(['spec', 'portLevelMtls'], 'portLevelMtls needs a workload selector');
    }
    return {
      kind: 'PeerAuthentication',
      meta: ctx.meta,
      source: ctx.source,
      spec: {
        selector: hasSelector ? selector : undefined,
        mtlsMode: toMtlsMode((spec.mtls as { mode?: string } | undefined)?.mode),
        portLevelMtls,
      },
    };
  },
};
