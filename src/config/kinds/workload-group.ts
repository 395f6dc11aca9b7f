// WorkloadGroup: the template from which `meshlite agent --group` registers a
// WorkloadEntry for each host that joins, and the probe the agent runs there.
import { int, labels, list, obj, oneOf, port, str, type Schema } from '../schema.js';
import type { WorkloadGroupSpec, WorkloadProbe } from '../types.js';
import { type Report, toLabels } from './common-fields.js';
import type { KindHandler } from './kind-handler.js';
import { toWorkloadEntrySpec, WORKLOAD_ENTRY_SPEC } from './workload-entry.js';

const SECONDS = int(0, 2147483647);
const AT_LEAST_ONE = int(1, 2147483647);

const PROBE: Schema = obj({
  httpGet: obj(
    {
      path: str(),
      port: port(),
      host: str(),
      scheme: oneOf('HTTP', 'HTTPS'),
      httpHeaders: list(obj({ name: str({ nonEmpty: true }), value: str() }, { required: ['name'] })),
    },
    { required: ['port'] },
  ),
  tcpSocket: obj({ port: port(), host: str() }, { required: ['port'] }),
  exec: obj({ command: list(str()) }, { required: ['command'] }),
  periodSeconds: AT_LEAST_ONE,
  timeoutSeconds: AT_LEAST_ONE,
  successThreshold: AT_LEAST_ONE,
  failureThreshold: AT_LEAST_ONE,
  initialDelaySeconds: SECONDS,
});

export const WORKLOAD_GROUP_SPEC: Schema = obj({
  metadata: obj({ labels: labels(), annotations: labels() }),
  template: WORKLOAD_ENTRY_SPEC,
  probe: PROBE,
});

// The defaults Kubernetes gives a probe's timing fields, which Istio follows.
const PROBE_DEFAULTS = { periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3, initialDelaySeconds: 0 };

/** An HTTP header name as HTTP/1.1 defines a token (no spaces, colons or separators). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function toProbe(raw: Record<string, unknown>, report: Report): WorkloadProbe {
  const path = ['spec', 'probe'];
  const handlers = (['httpGet', 'tcpSocket', 'exec'] as const).filter((h) => raw[h] !== undefined);
  if (handlers.length !== 1)
    report(
      path,
      handlers.length === 0
        ? 'a probe needs one of httpGet, tcpSocket or exec'
        : `a probe takes exactly one of httpGet, tcpSocket or exec, got ${handlers.join(' and ')}`,
    );
  const probe: WorkloadProbe = { ...PROBE_DEFAULTS };
  for (const key of Object.keys(PROBE_DEFAULTS) as (keyof typeof PROBE_DEFAULTS)[])
    if (typeof raw[key] === 'number') probe[key] = raw[key] as number;
  if (probe.timeoutSeconds > probe.periodSeconds)
    report(
      [...path, 'timeoutSeconds'],
      `must not exceed periodSeconds (${probe.periodSeconds}): a probe would still run when the next one starts`,
    );
  const http = raw.httpGet as Record<string, unknown> | undefined;
  if (http) {
    const headers = (http.httpHeaders as { name: string; value?: string }[] | undefined) ?? [];
    headers.forEach((h, i) => {
      if (!HEADER_NAME.test(h.name))
        report([...path, 'httpGet', 'httpHeaders', i, 'name'], `invalid HTTP header name ${JSON.stringify(h.name)}`);
    });
    const httpPath = (http.path as string | undefined) || '/';
    if (!httpPath.startsWith('/')) report([...path, 'httpGet', 'path'], `must start with "/", got ${JSON.stringify(httpPath)}`);
    probe.httpGet = {
      path: httpPath,
      port: http.port as number,
      host: (http.host as string | undefined) || undefined,
      scheme: (http.scheme as 'HTTP' | 'HTTPS' | undefined) ?? 'HTTP',
      httpHeaders: headers.map((h) => ({ name: h.name, value: h.value ?? '' })),
    };
  }
  const tcp = raw.tcpSocket as Record<string, unknown> | undefined;
  if (tcp) probe.tcpSocket = { port: tcp.port as number, host: (tcp.host as string | undefined) || undefined };
  const exec = raw.exec as { command: string[] } | undefined;
  if (exec) {
    if (exec.command.length === 0 || exec.command[0] === '')
      report([...path, 'exec', 'command'], 'needs the program to run (and its arguments)');
    probe.exec = { command: [...exec.command] };
  }
  return probe;
}

export const workloadGroup: KindHandler = {
  group: 'networking.istio.io',
  versions: ['v1', 'v1beta1', 'v1alpha3'],
  kind: 'WorkloadGroup',
  specSchema: { ...WORKLOAD_GROUP_SPEC, required: ['template'] } as Schema,
  build(spec, ctx) {
    const template = (spec.template as Record<string, unknown> | undefined) ?? {};
    if (template.address !== undefined)
      ctx.report(['spec', 'template', 'address'], 'must not be set: each registering agent supplies its own address');
    const meta = (spec.metadata as Record<string, unknown> | undefined) ?? {};
    const { address: _, ...entry } = toWorkloadEntrySpec(template);
    const out: WorkloadGroupSpec = {
      metadata: { labels: toLabels(meta.labels), annotations: toLabels(meta.annotations) },
      template: { ...entry, labels: { ...toLabels(meta.labels), ...entry.labels } },
      probe: spec.probe === undefined ? undefined : toProbe(spec.probe as Record<string, unknown>, ctx.report),
    };
    return { kind: 'WorkloadGroup', meta: ctx.meta, source: ctx.source, spec: out };
  },
};
