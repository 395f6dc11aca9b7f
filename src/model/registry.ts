// The service registry: services from ServiceEntry, workloads from WorkloadEntry,
// and how host names written by users resolve to services.
import type { ConfigSet, Labels, Location, Resolution, ServiceEntry, WorkloadEntrySpec } from '../config/types.js';
import { hasSidecar, matchesSelector } from './labels.js';
import { appendAll } from '../util/append-all.js';

export interface ServicePort {
  number: number;
  name: string;
  protocol: string;
  targetPort?: number;
}

export interface Workload {
  /** `<name>.<namespace>`, how users name a proxy. */
  id: string;
  name: string;
  namespace: string;
  address: string;
  labels: Labels;
  annotations: Labels;
  serviceAccount: string;
  ports: Readonly<Record<string, number>>;
  locality?: string;
  weight?: number;
  sidecar: boolean;
  /** Its agent's probe fails (auto-registered workloads only): other proxies mark it unhealthy. */
  unhealthy?: boolean;
  /** SPIFFE URI of the workload identity. */
  identity: string;
}

export interface Endpoint {
  address: string;
  labels: Labels;
  namespace: string;
  serviceAccount: string;
  identity: string;
  ports: Readonly<Record<string, number>>;
  locality?: string;
  weight?: number;
  sidecar: boolean;
  unhealthy?: boolean;
  workload?: Workload;
}

export interface Service {
  host: string;
  namespace: string;
  /** Name of the ServiceEntry that defines it. */
  name: string;
  ports: readonly ServicePort[];
  addresses: readonly string[];
  location: Location;
  resolution: Resolution;
  selector?: Labels;
  subjectAltNames: readonly string[];
  exportTo: readonly string[];
  endpoints: readonly Endpoint[];
}

export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

export function isHttpProtocol(protocol: string): boolean {
  return ['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB'].includes(protocol);
}

export function isHttp2Protocol(protocol: string): boolean {
  return ['HTTP2', 'GRPC', 'GRPC-WEB'].includes(protocol);
}

/** The port an endpoint really listens on for a service port. */
export function endpointPort(endpoint: { ports: Readonly<Record<string, number>> }, port: ServicePort): number {
  return endpoint.ports[port.name] ?? port.targetPort ?? port.number;
}

export class Registry {
  readonly services: readonly Service[];
  readonly workloads: readonly Workload[];
  private readonly byHost = new Map<string, Service>();
  private readonly byWorkloadId = new Map<string, Workload>();
  private readonly servicesByWorkload = new Map<string, Service[]>();

  constructor(private readonly config: ConfigSet) {
    const td = config.mesh.trustDomain;
    this.workloads = config.workloadEntries
      .map((we) => toWorkload(we.meta.name, we.meta.namespace, we.meta.annotations, we.spec, td))
      .sort((a, b) => a.id.localeCompare(b.id));
    for (const w of this.workloads) this.byWorkloadId.set(w.id, w);
    const services: Service[] = [];
    for (const se of config.serviceEntries) appendAll(services, this.servicesOf(se));
    this.services = services.sort((a, b) => a.host.localeCompare(b.host));
    for (const s of this.services) {
      this.byHost.set(s.host, s);
      for (const e of s.endpoints) {
        if (!e.workload) continue;
        const list = this.servicesByWorkload.get(e.workload.id) ?? [];
        if (!list.includes(s)) list.push(s);
        this.servicesByWorkload.set(e.workload.id, list);
      }
    }
  }

  get domainSuffix(): string {
    return this.config.mesh.domainSuffix;
  }

  workload(id: string): Workload | undefined {
    return this.byWorkloadId.get(id);
  }

  /** Services whose workloadSelector picks this workload, sorted by host. */
  servicesOfWorkload(workload: Workload): readonly Service[] {
    return this.servicesByWorkload.get(workload.id) ?? [];
  }

  service(host: string): Service | undefined {
    return this.byHost.get(host);
  }

  /** A service named by its ServiceEntry's name in a namespace (how legacy policies target services). */
  serviceNamed(namespace: string, name: string): Service | undefined {
    return this.services.find((s) => s.namespace === namespace && s.name === name);
  }

  /**
   * Resolves a host as written in config or by an app in `namespace`:
   * `httpbin` -> `httpbin.<namespace>.svc.<suffix>`, `httpbin.bar` ->
   * `httpbin.bar.svc.<suffix>` when such a service exists, FQDNs as they are.
   */
  resolveHost(host: string, namespace: string): string {
    if (host.startsWith('*')) return host;
    if (!host.includes('.')) return `${host}.${namespace}.svc.${this.domainSuffix}`;
    if (this.byHost.has(host)) return host;
    for (const candidate of [`${host}.${this.domainSuffix}`, `${host}.svc.${this.domainSuffix}`]) {
      if (this.byHost.has(candidate)) return candidate;
    }
    return host;
  }

  private servicesOf(se: ServiceEntry): Service[] {
    const td = this.config.mesh.trustDomain;
    const ns = se.meta.namespace;
    const selector = se.spec.workloadSelector;
    const endpoints: Endpoint[] = selector
      ? this.workloads.filter((w) => w.namespace === ns && matchesSelector(selector, w.labels)).map(workloadEndpoint)
      : se.spec.endpoints.map((spec) => inlineEndpoint(spec, ns, td));
    return se.spec.hosts.map((host) => ({
      host,
      namespace: ns,
      name: se.meta.name,
      ports: [...se.spec.ports].sort((a, b) => a.number - b.number),
      addresses: se.spec.addresses,
      location: se.spec.location,
      resolution: selector ? 'STATIC' : se.spec.resolution,
      selector,
      subjectAltNames: se.spec.subjectAltNames,
      exportTo: se.spec.exportTo,
      endpoints,
    }));
  }
}

function toWorkload(name: string, namespace: string, annotations: Labels, spec: WorkloadEntrySpec, trustDomain: string): Workload {
  const serviceAccount = spec.serviceAccount ?? 'default';
  return {
    id: `${name}.${namespace}`,
    name,
    namespace,
    address: spec.address,
    labels: spec.labels,
    annotations,
    serviceAccount,
    ports: spec.ports,
    locality: spec.locality,
    weight: spec.weight,
    sidecar: hasSidecar(spec.labels),
    ...(spec.healthy === false ? { unhealthy: true } : {}),
    identity: spiffeId(trustDomain, namespace, serviceAccount),
  };
}

function workloadEndpoint(w: Workload): Endpoint {
  return { ...w, workload: w };
}

function inlineEndpoint(spec: WorkloadEntrySpec, namespace: string, trustDomain: string): Endpoint {
  const serviceAccount = spec.serviceAccount ?? 'default';
  return {
    address: spec.address,
    labels: spec.labels,
    namespace,
    serviceAccount,
    identity: spiffeId(trustDomain, namespace, serviceAccount),
    ports: spec.ports,
    locality: spec.locality,
    weight: spec.weight,
    sidecar: hasSidecar(spec.labels),
  };
}

/** Does a service export itself to `namespace`? (`exportTo` empty or `*` = everywhere, `.` = own.) */
export function isVisibleFrom(exportTo: readonly string[], ownNamespace: string, namespace: string): boolean {
  if (exportTo.length === 0) return true;
  return exportTo.some((e) => e === '*' || e === namespace || (e === '.' && ownNamespace === namespace));
}
