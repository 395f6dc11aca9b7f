// Turns Marathon apps and pods into a ServiceEntry and WorkloadEntries each, as
// Istio resources in YAML. One Marathon id gives one text named
// `marathon:<id>`, so errors about it name where it came from. Whatever cannot
// be mapped (a UDP-only port, a task without an IP address, an unhealthy task)
// is left out and said in a note, never guessed.
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { MarathonApp, MarathonPod } from './marathon-documents.js';

export const MARATHON_LABELS = {
  namespace: 'meshlite.io/namespace',
  serviceAccount: 'meshlite.io/service-account',
  sidecar: 'meshlite.io/sidecar',
} as const;

/** Containers of a pod that are the sidecar proxy, not the application. */
export const PROXY_CONTAINER_NAMES = ['istio-proxy', 'envoy', 'meshlite-proxy'];

const TLS_MODE_LABEL = 'security.istio.io/tlsMode';
const PROTOCOL_PREFIXES = ['grpc-web', 'http2', 'https', 'http', 'grpc', 'mongo', 'redis', 'mysql', 'tls', 'tcp'];
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export interface MappedSource {
  /** `marathon:<app or pod id>`. */
  name: string;
  /** The YAML of its resources ('' when nothing could be mapped). */
  text: string;
  notes: string[];
}

export interface MappingOptions {
  /** The namespace of apps that do not name one with the meshlite.io/namespace label (-n). */
  namespace?: string;
}

interface ServicePort {
  name: string;
  number: number;
  protocol: string;
  vipAddress?: string;
}

interface Workload {
  id: string;
  address: string;
  ports: Record<string, number>;
}

export function mapMarathon(apps: readonly MarathonApp[], pods: readonly MarathonPod[], options: MappingOptions = {}): MappedSource[] {
  const mapped = [...apps.map((a) => mapApp(a, options)), ...pods.map((p) => mapPod(p, options))];
  return mapped.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function mapApp(app: MarathonApp, options: MappingOptions): MappedSource {
  const notes: string[] = [];
  const inbound = inboundPorts(app.env.INBOUND_PORTS, notes);
  const ports: { port: ServicePort; at: (t: MarathonApp['tasks'][number]) => { address?: string; port?: number } }[] = [];
  let hostPortIndex = 0;
  app.ports.forEach((p, i) => {
    const usesHostPort = !app.mapped || p.hostPort !== undefined;
    const index = usesHostPort ? hostPortIndex++ : -1;
    const port = servicePort(p.name, [p.protocol ?? 'tcp'], vipOf(p.labels), p.servicePort || undefined, p.port, i, notes);
    if (!port || !admitted(inbound, [p.port, port.number])) return;
    ports.push({
      port,
      at: (task) =>
        usesHostPort
          ? { address: ipOf(task.host), port: task.ports[index] }
          : { address: task.ipAddresses.find((a) => IPV4.test(a)), port: p.port },
    });
  });
  const workloads: Workload[] = [];
  for (const task of app.tasks) {
    const why = taskProblem(task, app.healthChecks);
    if (why) {
      notes.push(`task ${task.id} left out: ${why}`);
      continue;
    }
    const placed = ports.map((p) => ({ name: p.port.name, ...p.at(task) }));
    const address = placed.find((p) => p.address)?.address;
    if (!address || placed.some((p) => p.port === undefined || p.address !== address)) {
      notes.push(`task ${task.id} left out: no IPv4 address and port for every service port (host ${task.host ?? 'unknown'})`);
      continue;
    }
    workloads.push({ id: task.id, address, ports: Object.fromEntries(placed.map((p) => [p.name, p.port!])) });
  }
  const sidecar = app.labels[MARATHON_LABELS.sidecar] === 'true' || app.labels[TLS_MODE_LABEL] === 'istio';
  return render(
    app.id,
    app.env.SERVICE_NAME,
    app.labels,
    options,
    sidecar,
    ports.map((p) => p.port),
    workloads,
    notes,
  );
}

function mapPod(pod: MarathonPod, options: MappingOptions): MappedSource {
  const notes: string[] = [];
  const inbound = inboundPorts(pod.env.INBOUND_PORTS, notes);
  const proxy = pod.containers.some((c) => PROXY_CONTAINER_NAMES.includes(c.name));
  const endpoints = pod.containers.filter((c) => !PROXY_CONTAINER_NAMES.includes(c.name)).flatMap((c) => c.endpoints);
  const ports: { port: ServicePort; endpoint: (typeof endpoints)[number] }[] = [];
  endpoints.forEach((e, i) => {
    const protocols = e.protocol.length > 0 ? e.protocol : ['tcp'];
    const port = servicePort(e.name, protocols, vipOf(e.labels), undefined, e.containerPort ?? e.hostPort, i, notes);
    if (port && admitted(inbound, [e.containerPort, e.hostPort, port.number])) ports.push({ port, endpoint: e });
  });
  const workloads: Workload[] = [];
  for (const instance of pod.instances) {
    const states = [...instance.endpoints.values()];
    const why =
      instance.status !== undefined && instance.status !== 'STABLE'
        ? `status ${instance.status}`
        : states.some((s) => s.healthy === false)
          ? 'an endpoint is unhealthy'
          : undefined;
    if (why) {
      notes.push(`instance ${instance.id} left out: ${why}`);
      continue;
    }
    const containerAddress = instance.addresses.find((a) => IPV4.test(a));
    const placed = ports.map(({ port, endpoint }) => {
      const onHost = endpoint.hostPort !== undefined;
      return {
        name: port.name,
        address: onHost ? ipOf(instance.agentHostname) : containerAddress,
        port: onHost ? instance.endpoints.get(endpoint.name)?.port : endpoint.containerPort,
      };
    });
    const address = placed[0]?.address ?? ipOf(instance.agentHostname) ?? containerAddress;
    if (!address || placed.some((p) => p.port === undefined || p.address !== address)) {
      notes.push(`instance ${instance.id} left out: no IPv4 address and port for every service port`);
      continue;
    }
    workloads.push({ id: instance.id, address, ports: Object.fromEntries(placed.map((p) => [p.name, p.port!])) });
  }
  const sidecar = proxy || pod.labels[MARATHON_LABELS.sidecar] === 'true';
  return render(
    pod.id,
    pod.env.SERVICE_NAME,
    pod.labels,
    options,
    sidecar,
    ports.map((p) => p.port),
    workloads,
    notes,
  );
}

function render(
  id: string,
  serviceName: string | undefined,
  labels: Record<string, string>,
  options: MappingOptions,
  sidecar: boolean,
  ports: ServicePort[],
  workloads: Workload[],
  notes: string[],
): MappedSource {
  const source = `marathon:${id}`;
  const { name, namespace } = serviceIdentity(id, serviceName, labels, options);
  if (!name) return { name: source, text: '', notes: [...notes, `no service name can be made of "${serviceName ?? id}"`] };
  if (ports.length === 0) notes.push('no TCP port: the service has no ports');
  const selector = { app: name };
  const serviceAccount = dnsName(labels[MARATHON_LABELS.serviceAccount] ?? '') || name;
  const vips = [...new Set(ports.flatMap((p) => (p.vipAddress ? [p.vipAddress] : [])))];
  const documents: object[] = [
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name, namespace },
      spec: {
        hosts: [`${name}.${namespace}.svc.cluster.local`],
        ...(vips.length > 0 ? { addresses: vips } : {}),
        location: 'MESH_INTERNAL',
        resolution: 'STATIC',
        ports: ports.map((p) => ({ name: p.name, number: p.number, protocol: p.protocol })),
        workloadSelector: { labels: selector },
      },
    },
  ];
  for (const w of [...workloads].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)))
    documents.push({
      apiVersion: 'networking.istio.io/v1',
      kind: 'WorkloadEntry',
      metadata: { name: `${name.slice(0, 50)}-${shortHash(w.id)}`, namespace },
      spec: {
        address: w.address,
        ports: w.ports,
        serviceAccount,
        labels: { ...selector, ...(sidecar ? { [TLS_MODE_LABEL]: 'istio' } : {}) },
      },
    });
  const text = documents.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
  return { name: source, text, notes };
}

/**
 * Namespace: the meshlite.io/namespace label, else -n, else the first segment
 * of an id with more than one (`/shop/cart` is in `shop`), else `default`.
 * Name: SERVICE_NAME, else the id's other segments joined by `-`.
 */
export function serviceIdentity(
  id: string,
  serviceName: string | undefined,
  labels: Record<string, string>,
  options: MappingOptions,
): { name: string; namespace: string } {
  const segments = id.split('/').filter((s) => s !== '');
  const labelled = dnsName(labels[MARATHON_LABELS.namespace] ?? '');
  const fromId = !labelled && options.namespace === undefined && segments.length > 1;
  const namespace = labelled || (fromId ? dnsName(segments[0]!) : options.namespace) || 'default';
  const rest = fromId ? segments.slice(1) : segments;
  return { name: dnsName(serviceName ?? rest.join('-')), namespace };
}

/** Lower case, runs of anything else than letters and digits made `-`, at most 63 characters. */
function dnsName(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
}

function servicePort(
  rawName: string | undefined,
  protocols: string[],
  vip: { address?: string; port: number } | undefined,
  servicePortNumber: number | undefined,
  port: number | undefined,
  index: number,
  notes: string[],
): ServicePort | undefined {
  const lower = protocols.map((p) => p.toLowerCase());
  const name = dnsName(rawName ?? '');
  const prefixed = PROTOCOL_PREFIXES.find((p) => name === p || name.startsWith(`${p}-`));
  const tcpLike = lower.some((p) => p !== 'udp');
  if (!tcpLike) {
    notes.push(`port ${rawName ?? index} left out: UDP only`);
    return undefined;
  }
  const protocol = (prefixed ?? (lower.includes('http') ? 'http' : lower.includes('grpc') ? 'grpc' : 'tcp')).toUpperCase();
  const number = vip?.port ?? servicePortNumber ?? port;
  if (number === undefined || number < 1 || number > 65535) {
    notes.push(`port ${rawName ?? index} left out: no port number to serve it on`);
    return undefined;
  }
  return { name: name || `${protocol.toLowerCase()}-${number}`, number, protocol, vipAddress: vip?.address };
}

/** A `VIP_<n>` label (`name:port` or `ip:port`): the port clients dial, and the address when it is one. */
function vipOf(labels: Record<string, string>): { address?: string; port: number } | undefined {
  const value = Object.entries(labels).find(([k]) => /^VIP_\d+$/.test(k))?.[1];
  const match = value === undefined ? null : /^(.*):(\d+)$/.exec(value);
  if (!match) return undefined;
  const host = match[1]!.replace(/^\//, '');
  return { address: IPV4.test(host) ? host : undefined, port: Number(match[2]) };
}

function inboundPorts(value: string | undefined, notes: string[]): Set<number> | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const numbers = value.split(',').map((s) => Number(s.trim()));
  if (numbers.some((n) => !Number.isInteger(n) || n < 1 || n > 65535)) {
    notes.push(`INBOUND_PORTS "${value}" is not a comma-separated list of ports: every port is served`);
    return undefined;
  }
  return new Set(numbers);
}

function admitted(inbound: Set<number> | undefined, numbers: (number | undefined)[]): boolean {
  return inbound === undefined || numbers.some((n) => n !== undefined && inbound.has(n));
}

function taskProblem(task: MarathonApp['tasks'][number], healthChecks: number): string | undefined {
  if (task.state !== undefined && task.state !== 'TASK_RUNNING') return `state ${task.state}`;
  if (task.health.some((alive) => !alive)) return 'a health check fails';
  if (healthChecks > 0 && task.health.length < healthChecks) return 'not yet reported healthy';
  return undefined;
}

function ipOf(host: string | undefined): string | undefined {
  return host !== undefined && IPV4.test(host) ? host : undefined;
}

function shortHash(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 10);
}
