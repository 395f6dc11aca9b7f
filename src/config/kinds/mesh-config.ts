import { bool, list, obj, oneOf, str } from '../schema.js';
import { DEFAULT_MESH_CONFIG, type InterceptionMode } from '../types.js';
import type { KindHandler } from './kind-handler.js';

const DNS_NAME = str({ pattern: /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, hint: 'expected a lower-case DNS name' });

/** meshlite's equivalent of Istio's mesh ConfigMap. At most one per config set. */
export const meshConfig: KindHandler = {
  group: 'meshlite.io',
  versions: ['v1alpha1'],
  kind: 'MeshConfig',
  clusterScoped: true,
  specSchema: obj({
    trustDomain: DNS_NAME,
    trustDomainAliases: list(DNS_NAME),
    rootNamespace: DNS_NAME,
    enableAutoMtls: bool(),
    domainSuffix: DNS_NAME,
    defaultInterceptionMode: oneOf('EXPLICIT', 'TRANSPARENT'),
  }),
  build(spec, ctx) {
    const d = DEFAULT_MESH_CONFIG;
    return {
      kind: 'MeshConfig',
      meta: ctx.meta,
      source: ctx.source,
      spec: {
        trustDomain: (spec.trustDomain as string | undefined) ?? d.trustDomain,
        trustDomainAliases: [...new Set((spec.trustDomainAliases as string[] | undefined) ?? [])].sort(),
        rootNamespace: (spec.rootNamespace as string | undefined) ?? d.rootNamespace,
        enableAutoMtls: (spec.enableAutoMtls as boolean | undefined) ?? d.enableAutoMtls,
        domainSuffix: (spec.domainSuffix as string | undefined) ?? d.domainSuffix,
        defaultInterceptionMode: (spec.defaultInterceptionMode as InterceptionMode | undefined) ?? d.defaultInterceptionMode,
      },
    };
  },
};
