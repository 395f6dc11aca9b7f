// A static Envoy bootstrap holding the inbound side of a translated sidecar:
// its INBOUND listeners with RDS swapped for the same route configurations
// inline and SDS for static secrets of the same names (the workload
// certificate and the root), and its STATIC clusters (the local app).
import type { ProxyResources } from '../../src/xds/proxy-resources.js';

type Obj = Record<string, any>;

export interface InboundBootstrapOptions {
  resources: ProxyResources;
  /** Where Envoy's admin listens (port 0). */
  adminAddress: string;
  /** The workload certificate (secret `default`). */
  certificate: { certChainPem: string; privateKeyPem?: string };
  /** The mesh root (secret `ROOTCA`). */
  rootPem: string;
}

/** Every SDS reference becomes a reference to the static secret of the same name, in place. */
function inlineSecrets(node: unknown): void {
  if (Array.isArray(node)) for (const n of node) inlineSecrets(n);
  else if (node && typeof node === 'object') {
    const o = node as Obj;
    if (o.sds_config && typeof o.name === 'string') delete o.sds_config;
    for (const v of Object.values(o)) inlineSecrets(v);
  }
}

export function inboundStaticBootstrap(o: InboundBootstrapOptions): Obj {
  const { listeners, clusters, routes } = o.resources;
  const inbound = JSON.parse(JSON.stringify(listeners.filter((l) => l.traffic_direction === 'INBOUND'))) as Obj[];
  for (const l of inbound)
    for (const chain of l.filter_chains)
      for (const f of chain.filters) {
        const rds = f.typed_config.rds;
        if (!rds) continue;
        f.typed_config.route_config = routes.find((r) => r.name === rds.route_config_name);
        delete f.typed_config.rds;
      }
  inlineSecrets(inbound);
  return {
    admin: { address: { socket_address: { address: o.adminAddress, port_value: 0 } } },
    static_resources: {
      listeners: inbound,
      clusters: clusters.filter((c) => c.type === 'STATIC'),
      secrets: [
        {
          name: 'default',
          tls_certificate: {
            certificate_chain: { inline_string: o.certificate.certChainPem },
            private_key: { inline_string: o.certificate.privateKeyPem },
          },
        },
        { name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: o.rootPem } } },
      ],
    },
  };
}
