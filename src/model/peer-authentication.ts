// Effective peer mTLS mode for a workload port: workload policy > namespace
// policy > mesh policy; UNSET inherits the next level; the default is PERMISSIVE.
// Port-level modes are keyed by the workload's target port. Inside one level the
// oldest policy wins (config lists are already sorted oldest first).
import type { ConfigSet, Labels, MtlsMode, PeerAuthentication } from '../config/types.js';
import { matchesSelector } from './labels.js';
import { endpointPort, type Registry, type Service } from './registry.js';

export type EffectiveMtlsMode = Exclude<MtlsMode, 'UNSET'>;

/** A workload as far as peer authentication cares: where it is and what it is called. */
export interface PeerSubject {
  namespace: string;
  labels: Labels;
  ports: Readonly<Record<string, number>>;
}

export class PeerAuthenticationIndex {
  private readonly rootNamespace: string;
  /** Policies by namespace, oldest first (the config lists are sorted that way). */
  private readonly byNamespace = new Map<string, PeerAuthentication[]>();
  private readonly namespaceModes = new Map<string, MtlsMode>();
  private readonly meshMode: MtlsMode;
  /** Answers by what decides them (namespace, labels, named ports, target port): many proxies reach the same endpoints. */
  private readonly memo = new Map<string, EffectiveMtlsMode>();
  private readonly spelled = new WeakMap<object, string>();

  constructor(
    config: ConfigSet,
    private readonly registry: Registry,
  ) {
    this.rootNamespace = config.mesh.rootNamespace;
    for (const p of config.peerAuthentications) {
      const list = this.byNamespace.get(p.meta.namespace) ?? [];
      list.push(p);
      this.byNamespace.set(p.meta.namespace, list);
    }
    this.meshMode = this.unselected(this.rootNamespace)?.spec.mtlsMode ?? 'UNSET';
  }

  effectiveMode(subject: PeerSubject, targetPort: number): EffectiveMtlsMode {
    const key = `${subject.namespace}\u0000${this.pairs(subject.labels)}\u0000${this.pairs(subject.ports)}\u0000${targetPort}`;
    let mode = this.memo.get(key);
    if (!mode) this.memo.set(key, (mode = this.resolve(subject, targetPort)));
    return mode;
  }

  /** A record's entries as a key; the model's label and port records are shared and never change, so each is spelled once. */
  private pairs(record: Readonly<Record<string, string | number>>): string {
    let key = this.spelled.get(record);
    if (key === undefined) this.spelled.set(record, (key = sortedPairs(record)));
    return key;
  }

  private resolve(subject: PeerSubject, targetPort: number): EffectiveMtlsMode {
    const workloadMode = this.workloadLevel(subject, targetPort);
    if (workloadMode !== 'UNSET') return workloadMode;
    const nsMode = this.namespaceLevel(subject.namespace);
    if (nsMode !== 'UNSET') return nsMode;
    return this.meshMode === 'UNSET' ? 'PERMISSIVE' : this.meshMode;
  }

  private workloadLevel(subject: PeerSubject, targetPort: number): MtlsMode {
    if (subject.namespace === this.rootNamespace) return 'UNSET';
    const policy = this.byNamespace.get(subject.namespace)?.find((p) => this.selects(p, subject));
    if (!policy) return 'UNSET';
    const portMode = this.portMode(policy, subject, targetPort);
    return portMode !== undefined && portMode !== 'UNSET' ? portMode : policy.spec.mtlsMode;
  }

  private namespaceLevel(namespace: string): MtlsMode {
    if (namespace === this.rootNamespace) return 'UNSET';
    let mode = this.namespaceModes.get(namespace);
    if (mode === undefined) {
      mode = this.unselected(namespace)?.spec.mtlsMode ?? 'UNSET';
      this.namespaceModes.set(namespace, mode);
    }
    return mode;
  }

  /** The oldest policy of a namespace that selects no particular workload. */
  private unselected(namespace: string): PeerAuthentication | undefined {
    return this.byNamespace.get(namespace)?.find((p) => !p.spec.selector && !p.spec.legacy?.targetService);
  }

  private selects(policy: PeerAuthentication, subject: PeerSubject): boolean {
    if (policy.spec.selector) return matchesSelector(policy.spec.selector, subject.labels);
    const target = policy.spec.legacy?.targetService;
    if (!target) return false;
    const service = this.legacyTarget(policy);
    if (!service?.selector || service.namespace !== subject.namespace) return false;
    return matchesSelector(service.selector, subject.labels);
  }

  private legacyTarget(policy: PeerAuthentication): Service | undefined {
    const target = policy.spec.legacy?.targetService;
    if (!target) return undefined;
    const ns = policy.meta.namespace;
    return this.registry.service(this.registry.resolveHost(target, ns)) ?? this.registry.serviceNamed(ns, target);
  }

  /** Legacy policies name service ports; map them to this subject's target ports. */
  private portMode(policy: PeerAuthentication, subject: PeerSubject, targetPort: number): MtlsMode | undefined {
    if (!policy.spec.legacy?.portsAreServicePorts || !policy.spec.legacy.targetService) return policy.spec.portLevelMtls.get(targetPort);
    const service = this.legacyTarget(policy);
    for (const [servicePort, mode] of policy.spec.portLevelMtls) {
      const port = service?.ports.find((p) => p.number === servicePort);
      if (port && endpointPort(subject, port) === targetPort) return mode;
    }
    return undefined;
  }
}

function sortedPairs(record: Readonly<Record<string, string | number>>): string {
  return JSON.stringify(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
