// The parts of Marathon's REST answers meshlite reads: apps with their tasks
// (GET /v2/apps?embed=apps.tasks) and pod statuses (GET /v2/pods/::status).
// Answers are read defensively: a field of the wrong type counts as absent,
// and only a document that is not an app list or pod list at all is refused.

export interface MarathonPort {
  /** portDefinitions[].port (host networking: the service port) or portMappings[].containerPort. */
  port?: number;
  hostPort?: number;
  servicePort?: number;
  name?: string;
  protocol?: string;
  labels: Record<string, string>;
}

export interface MarathonTask {
  id: string;
  host?: string;
  ipAddresses: string[];
  ports: number[];
  state?: string;
  /** One result per health check; `alive: false` means failing. */
  health: boolean[];
}

export interface MarathonApp {
  id: string;
  env: Record<string, string>;
  labels: Record<string, string>;
  ports: MarathonPort[];
  /** true when portMappings (bridge or container networking) describe the ports. */
  mapped: boolean;
  healthChecks: number;
  tasks: MarathonTask[];
}

export interface MarathonEndpoint {
  name: string;
  containerPort?: number;
  hostPort?: number;
  protocol: string[];
  labels: Record<string, string>;
}

export interface MarathonPodContainer {
  name: string;
  endpoints: MarathonEndpoint[];
}

export interface MarathonPodInstance {
  id: string;
  status?: string;
  agentHostname?: string;
  addresses: string[];
  /** Per container name: each endpoint's allocated host port and health. */
  endpoints: Map<string, { port?: number; healthy?: boolean }>;
}

export interface MarathonPod {
  id: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  containers: MarathonPodContainer[];
  instances: MarathonPodInstance[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);

function strings(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(v)) for (const [k, value] of Object.entries(v)) if (typeof value === 'string') out[k] = value;
  return out;
}

/** `{apps: [...]}`, `{app: {...}}` or a bare app; throws when it is none of them. */
export function readApps(doc: unknown): MarathonApp[] {
  const raw = isObject(doc) && Array.isArray(doc.apps) ? doc.apps : isObject(doc) && isObject(doc.app) ? [doc.app] : [doc];
  return raw.map((app, i) => {
    if (!isObject(app) || typeof app.id !== 'string') throw new Error(`app ${i}: expected an object with a string "id"`);
    return readApp(app);
  });
}

function readApp(app: Json): MarathonApp {
  const container = isObject(app.container) ? app.container : {};
  const docker = isObject(container.docker) ? container.docker : {};
  const mappings = Array.isArray(container.portMappings) ? container.portMappings : docker.portMappings;
  const mapped = Array.isArray(mappings) && mappings.length > 0;
  const ports = (mapped ? list(mappings) : list(app.portDefinitions)).filter(isObject).map((p) => ({
    port: mapped ? num(p.containerPort) : num(p.port),
    hostPort: num(p.hostPort),
    servicePort: num(p.servicePort),
    name: text(p.name),
    protocol: text(p.protocol),
    labels: strings(p.labels),
  }));
  return {
    id: app.id as string,
    env: strings(app.env),
    labels: strings(app.labels),
    ports,
    mapped,
    healthChecks: list(app.healthChecks).length,
    tasks: list(app.tasks).filter(isObject).map(readTask),
  };
}

function readTask(task: Json): MarathonTask {
  return {
    id: text(task.id) ?? '',
    host: text(task.host),
    ipAddresses: list(task.ipAddresses)
      .map((a) => (isObject(a) ? text(a.ipAddress) : undefined))
      .filter((a): a is string => a !== undefined),
    ports: list(task.ports)
      .map(num)
      .filter((p): p is number => p !== undefined),
    state: text(task.state),
    health: list(task.healthCheckResults).map((r) => isObject(r) && r.alive === true),
  };
}

/** A pod status list, one pod status, or `{pods: [...]}`; throws when it is none of them. */
export function readPods(doc: unknown): MarathonPod[] {
  const raw = Array.isArray(doc) ? doc : isObject(doc) && Array.isArray(doc.pods) ? doc.pods : [doc];
  return raw.map((pod, i) => {
    const spec = isObject(pod) && isObject(pod.spec) ? pod.spec : undefined;
    if (!isObject(pod) || !spec || typeof spec.id !== 'string') throw new Error(`pod ${i}: expected a pod status with a string "spec.id"`);
    return readPod(pod, spec);
  });
}

function readPod(pod: Json, spec: Json): MarathonPod {
  return {
    id: spec.id as string,
    labels: strings(spec.labels),
    env: strings(spec.environment),
    containers: list(spec.containers)
      .filter(isObject)
      .map((c) => ({
        name: text(c.name) ?? '',
        endpoints: list(c.endpoints)
          .filter(isObject)
          .map((e) => ({
            name: text(e.name) ?? '',
            containerPort: num(e.containerPort),
            hostPort: num(e.hostPort),
            protocol: list(e.protocol).filter((p): p is string => typeof p === 'string'),
            labels: strings(e.labels),
          })),
      })),
    instances: list(pod.instances).filter(isObject).map(readInstance),
  };
}

function readInstance(instance: Json): MarathonPodInstance {
  const endpoints = new Map<string, { port?: number; healthy?: boolean }>();
  for (const c of list(instance.containers).filter(isObject))
    for (const e of list(c.endpoints).filter(isObject)) {
      const name = text(e.name);
      if (name !== undefined)
        endpoints.set(name, { port: num(e.allocatedHostPort), healthy: typeof e.healthy === 'boolean' ? e.healthy : undefined });
    }
  return {
    id: text(instance.id) ?? '',
    status: text(instance.status),
    agentHostname: text(instance.agentHostname),
    addresses: list(instance.networks)
      .filter(isObject)
      .flatMap((n) => list(n.addresses))
      .filter((a): a is string => typeof a === 'string'),
    endpoints,
  };
}
