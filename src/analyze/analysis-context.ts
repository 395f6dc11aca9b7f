// What every check reads: the loaded config, the model meshlite serves it
// with, and the few questions several checks ask (which workloads a selector
// picks, which services a host names).
import type { ConfigSet, Labels } from '../config/types.js';
import { hostMatches } from '../model/destination-rules.js';
import { matchesSelector } from '../model/labels.js';
import { buildMeshModel, type MeshModel } from '../model/mesh-model.js';
import type { Service } from '../model/registry.js';
import type { RawFinding } from './finding.js';

/** A workload as selectors see it: a WorkloadEntry, or the template agents register from a WorkloadGroup. */
export interface SelectableWorkload {
  /** `WorkloadEntry ns/name` or `WorkloadGroup ns/name`, for messages. */
  label: string;
  namespace: string;
  labels: Labels;
  ports: Readonly<Record<string, number>>;
  fromGroup: boolean;
}

export interface AnalysisContext {
  config: ConfigSet;
  model: MeshModel;
  workloads: readonly SelectableWorkload[];
  report(finding: RawFinding): void;
}

/** `model`: the one meshlite already built for this config (it is read, never changed). */
export function analysisContext(config: ConfigSet, report: (finding: RawFinding) => void, model = buildMeshModel(config)): AnalysisContext {
  const entries: SelectableWorkload[] = config.workloadEntries.map((we) => ({
    label: `WorkloadEntry ${we.meta.namespace}/${we.meta.name}`,
    namespace: we.meta.namespace,
    labels: we.spec.labels,
    ports: we.spec.ports,
    fromGroup: false,
  }));
  const groups: SelectableWorkload[] = (config.workloadGroups ?? []).map((g) => ({
    label: `WorkloadGroup ${g.meta.namespace}/${g.meta.name}`,
    namespace: g.meta.namespace,
    labels: { ...g.spec.template.labels, ...g.spec.metadata.labels },
    ports: g.spec.template.ports,
    fromGroup: true,
  }));
  return { config, model, workloads: [...entries, ...groups], report };
}

/**
 * The workloads a policy's selector picks: those of its namespace, or of
 * every namespace for a policy in the root namespace (`anyNamespace` for
 * kinds that select across namespaces, like Gateway).
 */
export function selectedWorkloads(
  ctx: AnalysisContext,
  selector: Labels,
  namespace: string,
  anyNamespace = namespace === ctx.config.mesh.rootNamespace,
): SelectableWorkload[] {
  return ctx.workloads.filter((w) => (anyNamespace || w.namespace === namespace) && matchesSelector(selector, w.labels));
}

/** The services a host written in `namespace` names: one, or every one a wildcard matches. */
export function servicesOfHost(ctx: AnalysisContext, host: string, namespace: string): Service[] {
  const resolved = ctx.model.registry.resolveHost(host, namespace);
  if (resolved.startsWith('*')) return ctx.model.registry.services.filter((s) => hostMatches(resolved, s.host));
  const service = ctx.model.registry.service(resolved);
  return service ? [service] : [];
}

/** Every namespace the config mentions: where resources live and where workloads run. */
export function knownNamespaces(config: ConfigSet): Set<string> {
  const lists = [
    config.peerAuthentications,
    config.destinationRules,
    config.serviceEntries,
    config.workloadEntries,
    config.workloadGroups ?? [],
    config.gateways,
    config.virtualServices,
    config.authorizationPolicies,
    config.requestAuthentications,
    config.sidecars,
  ];
  const out = new Set<string>([config.mesh.rootNamespace]);
  for (const list of lists) for (const r of list) out.add(r.meta.namespace);
  return out;
}
