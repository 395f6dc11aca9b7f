// Sidecar (networking.istio.io): scopes what a proxy's outbound side imports.
// meshlite's outbound listeners are laid out per service port (EXPLICIT: one
// HTTP proxy port plus a port per TCP service), and its inbound ports come
// from the ServiceEntries that select the workload, so only the host scoping
// and the outbound traffic policy have a meaning here; the listener-shaping
// fields are refused with the reason rather than ignored.
import type { PathSegment } from '../diagnostics.js';
import { anything, labels, list, obj, oneOf, str } from '../schema.js';
import type { Sidecar, SidecarEgressHost } from '../sidecar-types.js';
import { DNS_LABEL, hostProblem, toLabels } from './common-fields.js';
import type { KindHandler } from './kind-handler.js';

type Report = (path: PathSegment[], message: string) => void;

export const sidecar: KindHandler = {
  group: 'networking.istio.io',
  versions: ['v1', 'v1beta1', 'v1alpha3'],
  kind: 'Sidecar',
  specSchema: obj({
    workloadSelector: obj({ labels: labels() }),
    egress: list(obj({ port: anything(), bind: str(), captureMode: str(), hosts: list(str()) }, { required: ['hosts'] })),
    ingress: list(anything()),
    outboundTrafficPolicy: obj({ mode: oneOf('REGISTRY_ONLY', 'ALLOW_ANY'), egressProxy: anything() }),
    inboundConnectionPool: anything(),
  }),
  build(spec, ctx) {
    const selector = toLabels((spec.workloadSelector as { labels?: unknown } | undefined)?.labels);
    const hasSelector = Object.keys(selector).length > 0;
    if (spec.ingress !== undefined)
      ctx.report(
        ['spec', 'ingress'],
        'ingress listeners are not supported: meshlite derives a proxy\'s inbound ports from the ServiceEntries that select its workload and forwards them to the application address; remove "ingress"',
      );
    if (spec.inboundConnectionPool !== undefined)
      ctx.report(['spec', 'inboundConnectionPool'], 'inboundConnectionPool is not supported; remove it');
    const policy = spec.outboundTrafficPolicy as { mode?: string; egressProxy?: unknown } | undefined;
    if (policy?.egressProxy !== undefined)
      ctx.report(
        ['spec', 'outboundTrafficPolicy', 'egressProxy'],
        'egressProxy is not supported: unknown destinations are either refused or passed through to their original address; remove it',
      );
    // `egress:` with nothing under it is YAML null: no egress listener, as when the key is absent.
    const egress = spec.egress as Record<string, unknown>[] | null | undefined;
    const egressHosts = egress === undefined || egress === null ? undefined : egressHostsOf(egress, ctx.report);
    const mode = policy?.mode as Sidecar['spec']['outboundTrafficPolicy'];
    return {
      kind: 'Sidecar',
      meta: ctx.meta,
      source: ctx.source,
      spec: {
        ...(hasSelector ? { workloadSelector: selector } : {}),
        ...(egressHosts ? { egressHosts } : {}),
        ...(mode ? { outboundTrafficPolicy: mode } : {}),
      },
    };
  },
};

function egressHostsOf(egress: Record<string, unknown>[], report: Report): SidecarEgressHost[] {
  const hosts: SidecarEgressHost[] = [];
  if (egress.length > 1)
    report(
      ['spec', 'egress'],
      'only one egress listener is supported: meshlite cannot give a listener its own port, so every entry would be the catch-all one; merge the hosts into one entry',
    );
  egress.forEach((listener, i) => {
    const path = ['spec', 'egress', i];
    if (listener.port !== undefined)
      report(
        [...path, 'port'],
        'egress port is not supported: meshlite lays outbound listeners out per service port (EXPLICIT: the HTTP proxy port and one per TCP service port); scope egress with "hosts" only',
      );
    if (listener.bind !== undefined)
      report(
        [...path, 'bind'],
        'bind is not supported: the outbound address is set per workload (annotations sidecar.meshlite.io/outboundAddress and outboundPort)',
      );
    if (listener.captureMode !== undefined)
      report(
        [...path, 'captureMode'],
        'captureMode is not supported: the interception mode is set per workload (annotation sidecar.meshlite.io/interceptionMode) or by the MeshConfig',
      );
    const raw = listener.hosts as string[];
    if (raw.length === 0) report([...path, 'hosts'], 'at least one host is required ("namespace/dnsName")');
    raw.forEach((entry, j) => {
      const parsed = parseEgressHost(entry);
      if (typeof parsed === 'string') report([...path, 'hosts', j], parsed);
      else hosts.push(parsed);
    });
  });
  return hosts;
}

/** `namespace/dnsName` with the forms Istio allows, or why not. */
export function parseEgressHost(entry: string): SidecarEgressHost | string {
  const slash = entry.indexOf('/');
  if (slash < 0)
    return `egress host ${JSON.stringify(entry)} needs a namespace: write "namespace/dnsName" ("./*" for the proxy's own namespace, "*/${entry}" for any namespace)`;
  const namespace = entry.slice(0, slash);
  const host = entry.slice(slash + 1);
  if (namespace !== '*' && namespace !== '.' && namespace !== '~' && !DNS_LABEL.test(namespace))
    return `egress host ${JSON.stringify(entry)}: namespace must be a namespace name, "*", "." or "~"`;
  if (namespace === '~' && host !== '*') return `egress host ${JSON.stringify(entry)}: "~" imports nothing; write "~/*"`;
  const problem = hostProblem(host, { shortNames: false, star: true, ip: false });
  if (problem) return `egress host ${JSON.stringify(entry)}: ${problem}`;
  return { namespace, host };
}

/**
 * Istio leaves it undefined which applies when a namespace has two Sidecars
 * without a selector; meshlite refuses the second one instead.
 */
export function checkNamespaceDefaults(found: { sc: Sidecar; report: Report }[]): void {
  const first = new Map<string, Sidecar>();
  for (const { sc, report } of found) {
    if (sc.spec.workloadSelector) continue;
    const earlier = first.get(sc.meta.namespace);
    if (earlier)
      report(
        ['spec'],
        `namespace "${sc.meta.namespace}" already has a Sidecar without a workloadSelector ("${earlier.meta.name}", ${earlier.source.file}:${earlier.source.line}); a namespace may have only one`,
      );
    else first.set(sc.meta.namespace, sc);
  }
}
