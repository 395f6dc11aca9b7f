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
  /** Workload id, when the subject is a registered workload. */
  workloadId?: string;
}

export class PeerAuthenticationIndex {
  private readonly rootNamespace: string;
  private readonly policies: readonly PeerAuthentication[];

  constructor(config: ConfigSet, private readonly registry: Registry) {
    this.rootNamespace = config.mesh.rootNamespace;
    this.policies = config.peerAuthentications;
  }

  effectiveMode(subject: PeerSubject, targetPort: number): EffectiveMtlsMode {
    const workloadMode = this.workloadLevel(subject, targetPort);
    if (workloadMode !== 'UNSET') return workloadMode;
    const nsMode = this.namespaceLevel(subject.namespace);
    if (nsMode !== 'UNSET') return nsMode;
    const meshMode = this.meshLevel();
    return meshMode === 'UNSET' ? 'PERMISSIVE' : meshMode;
  }

  /** The policy that decides at workload level, if any (for /debug and tests). */
  workloadPolicy(subject: PeerSubject): PeerAuthentication | undefined {
    return this.policies.find((p) => p.meta.namespace === subject.namespace && p.meta.namespace !== this.rootNamespace && this.selects(p, subject));
  }

  private workloadLevel(subject: PeerSubject, targetPort: number): MtlsMode {
    const policy = this.workloadPolicy(subject);
    if (!policy) return 'UNSET';
    const portMode = this.portMode(policy, subject, targetPort);
    return portMode !== undefined && portMode !== 'UNSET' ? portMode : policy.spec.mtlsMode;
  }

  private namespaceLevel(namespace: string): MtlsMode {
    if (namespace === this.rootNamespace) return 'UNSET';
    const policy = this.policies.find((p) => p.meta.namespace === namespace && !p.spec.selector && !p.spec.legacy?.targetService);
    return policy?.spec.mtlsMode ?? 'UNSET';
  }

  private meshLevel(): MtlsMode {
    const policy = this.policies.find((p) => p.meta.namespace === this.rootNamespace && !p.spec.selector && !p.spec.legacy?.targetService);
    return policy?.spec.mtlsMode ?? 'UNSET';
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
