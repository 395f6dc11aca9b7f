import { list, obj, oneOf, port, str, type Schema } from '../schema.js';
import type { Location, Resolution, ServicePortSpec } from '../types.js';
import { SE_WORKLOAD_SELECTOR, toLabels } from './common-fields.js';
import type { KindHandler } from './kind-handler.js';
import { toWorkloadEntrySpec, WORKLOAD_ENTRY_SPEC } from './workload-entry.js';

const PROTOCOLS = ['HTTP', 'HTTPS', 'GRPC', 'GRPC-WEB', 'HTTP2', 'MONGO', 'REDIS', 'MYSQL', 'TCP', 'TLS', 'UDP'];

export const serviceEntry: KindHandler = {
  group: 'networking.istio.io',
  versions: ['v1', 'v1beta1', 'v1alpha3'],
  kind: 'ServiceEntry',
  specSchema: obj(
    {
      hosts: list(
        str({
          pattern: /^(\*\.)?[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$|^\*$/,
          hint: 'expected a host name, optionally with a leading "*."',
        }),
      ),
      addresses: list(str()),
      ports: list(
        obj({ number: port(), protocol: str(), name: str({ nonEmpty: true }), targetPort: port() }, { required: ['number', 'name'] }),
      ),
      location: oneOf('MESH_EXTERNAL', 'MESH_INTERNAL'),
      resolution: oneOf('NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN'),
      endpoints: list({ ...WORKLOAD_ENTRY_SPEC, required: ['address'] } as Schema),
      workloadSelector: SE_WORKLOAD_SELECTOR,
      exportTo: list(str()),
      subjectAltNames: list(str()),
    },
    { required: ['hosts'] },
  ),
  build(spec, ctx) {
    const hosts = spec.hosts as string[];
    if (hosts.length === 0) ctx.report(['spec', 'hosts'], 'at least one host is required');
    const resolution = ((spec.resolution as string | undefined) ?? 'NONE') as Resolution;
    const endpoints = ((spec.endpoints ?? []) as Record<string, unknown>[]).map(toWorkloadEntrySpec);
    const selector = spec.workloadSelector ? toLabels((spec.workloadSelector as Record<string, unknown>).labels) : undefined;
    if (selector && endpoints.length > 0) ctx.report(['spec', 'workloadSelector'], 'workloadSelector and endpoints cannot both be set');
    if (resolution === 'NONE' && endpoints.length > 0)
      ctx.report(['spec', 'endpoints'], 'resolution NONE forwards to the original destination and takes no endpoints');
    if (resolution === 'STATIC' && !selector && endpoints.length === 0)
      ctx.report(['spec', 'endpoints'], 'resolution STATIC needs endpoints or a workloadSelector');
    if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && hosts.some((h) => h.startsWith('*')))
      ctx.report(['spec', 'hosts'], 'wildcard hosts cannot be resolved by DNS');
    const ports: ServicePortSpec[] = [];
    const numbers = new Set<number>();
    const names = new Set<string>();
    ((spec.ports ?? []) as Record<string, unknown>[]).forEach((raw, i) => {
      const number = raw.number as number;
      const name = raw.name as string;
      const protocol = ((raw.protocol as string | undefined) ?? protocolFromName(name)).toUpperCase();
      if (!PROTOCOLS.includes(protocol))
        ctx.report(['spec', 'ports', i, 'protocol'], `unknown protocol "${raw.protocol}"; expected one of ${PROTOCOLS.join(', ')}`);
      if (numbers.has(number)) ctx.report(['spec', 'ports', i, 'number'], `duplicate port ${number}`);
      if (names.has(name)) ctx.report(['spec', 'ports', i, 'name'], `duplicate port name "${name}"`);
      numbers.add(number);
      names.add(name);
      ports.push({ number, name, protocol, targetPort: raw.targetPort as number | undefined });
    });
    endpoints.forEach((endpoint, i) => {
      for (const portName of Object.keys(endpoint.ports)) {
        if (!names.has(portName)) ctx.report(['spec', 'endpoints', i, 'ports', portName], `no service port is named "${portName}"`);
      }
    });
    return {
      kind: 'ServiceEntry',
      meta: ctx.meta,
      source: ctx.source,
      spec: {
        hosts,
        addresses: [...((spec.addresses as string[] | undefined) ?? [])],
        ports,
        location: ((spec.location as string | undefined) ?? 'MESH_EXTERNAL') as Location,
        resolution,
        endpoints,
        workloadSelector: selector,
        exportTo: [...((spec.exportTo as string[] | undefined) ?? [])],
        subjectAltNames: [...((spec.subjectAltNames as string[] | undefined) ?? [])],
      },
    };
  },
};

/** Istio's naming convention: a port named `http-web` or `grpc` has that protocol. */
function protocolFromName(name: string): string {
  const prefix = name.split('-')[0]!.toUpperCase();
  return PROTOCOLS.includes(prefix) ? prefix : 'TCP';
}
