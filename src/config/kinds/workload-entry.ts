import { int, labels, mapOf, obj, port, str, type Schema } from '../schema.js';
import type { WorkloadEntrySpec } from '../types.js';
import { toLabels } from './common-fields.js';
import { HEALTH_PROBES_ANNOTATION, parseHealthProbes } from './health-probes-annotation.js';
import type { KindHandler } from './kind-handler.js';

export const WORKLOAD_ENTRY_SPEC: Schema = obj({
  address: str({ nonEmpty: true }),
  ports: mapOf(port()),
  labels: labels(),
  network: str(),
  locality: str({ pattern: /^[^/]*(\/[^/]*){0,2}$/, hint: 'expected region[/zone[/subzone]]' }),
  weight: int(0, 4294967295),
  serviceAccount: str({ pattern: /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, hint: 'expected a DNS-1123 name' }),
});

export function toWorkloadEntrySpec(raw: Record<string, unknown>): WorkloadEntrySpec {
  return {
    address: (raw.address as string | undefined) ?? '',
    ports: { ...((raw.ports as Record<string, number> | undefined) ?? {}) },
    labels: toLabels(raw.labels),
    network: raw.network as string | undefined,
    locality: raw.locality as string | undefined,
    weight: raw.weight as number | undefined,
    serviceAccount: raw.serviceAccount as string | undefined,
  };
}

export const workloadEntry: KindHandler = {
  group: 'networking.istio.io',
  versions: ['v1', 'v1beta1', 'v1alpha3'],
  kind: 'WorkloadEntry',
  specSchema: { ...WORKLOAD_ENTRY_SPEC, required: ['address'] } as Schema,
  build(spec, ctx) {
    checkSidecarAnnotations(ctx.meta.annotations, ctx.report);
    return { kind: 'WorkloadEntry', meta: ctx.meta, source: ctx.source, spec: toWorkloadEntrySpec(spec) };
  },
};

/** Per-proxy settings meshlite reads from WorkloadEntry annotations. */
export const SIDECAR_ANNOTATIONS = {
  interceptionMode: 'sidecar.meshlite.io/interceptionMode',
  applicationAddress: 'sidecar.meshlite.io/applicationAddress',
  outboundAddress: 'sidecar.meshlite.io/outboundAddress',
  outboundPort: 'sidecar.meshlite.io/outboundPort',
  healthProbes: HEALTH_PROBES_ANNOTATION,
} as const;

/** Marks a proxyless gRPC workload (it resolves `xds:///` itself; no Envoy). */
export const PROXYLESS_GRPC_ANNOTATION = 'proxyless.meshlite.io/grpc';

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

function checkSidecarAnnotations(annotations: Record<string, string>, report: (path: (string | number)[], message: string) => void): void {
  const known = new Set<string>(Object.values(SIDECAR_ANNOTATIONS));
  for (const [key, value] of Object.entries(annotations)) {
    const path = ['metadata', 'annotations', key];
    if (key.startsWith('proxyless.meshlite.io/')) {
      if (key !== PROXYLESS_GRPC_ANNOTATION) report(path, `unknown meshlite annotation; known: ${PROXYLESS_GRPC_ANNOTATION}`);
      else if (value !== 'true' && value !== 'false') report(path, `expected "true" or "false", got "${value}"`);
      continue;
    }
    if (!key.startsWith('sidecar.meshlite.io/')) continue;
    if (!known.has(key)) report(path, `unknown meshlite annotation; known: ${[...known].join(', ')}`);
    else if (key === SIDECAR_ANNOTATIONS.interceptionMode && value !== 'EXPLICIT' && value !== 'TRANSPARENT')
      report(path, `expected EXPLICIT or TRANSPARENT, got "${value}"`);
    else if ((key === SIDECAR_ANNOTATIONS.applicationAddress || key === SIDECAR_ANNOTATIONS.outboundAddress) && !IPV4.test(value))
      report(path, `expected an IPv4 address, got "${value}"`);
    else if (key === SIDECAR_ANNOTATIONS.outboundPort && !(/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 65535))
      report(path, `expected a port number, got "${value}"`);
    else if (key === SIDECAR_ANNOTATIONS.healthProbes) {
      const parsed = parseHealthProbes(value);
      if (!parsed.ok) report(path, parsed.error);
    }
  }
}
