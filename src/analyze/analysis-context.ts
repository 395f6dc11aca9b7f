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
  /** Per analysis run: workloads by namespace, and the answers of selectedWorkloads (many policies share a selector). */
  readonly index: { byNamespace: Map<string, SelectableWorkload[]>; selections: Map<string, SelectableWorkload[]> };
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
  const workloads = [...entries, ...groups];
  const byNamespace = new Map<string, SelectableWorkload[]>();
  for (const w of workloads) byNamespace.set(w.namespace, [...(byNamespace.get(w.namespace) ?? []), w]);
  return { config, model, workloads, report, index: { byNamespace, selections: new Map() } };
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
  const key = `${anyNamespace ? '*' : namespace}\u0000${JSON.stringify(Object.entries(selector).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
  let found = ctx.index.selections.get(key);
  if (!found) {
    const candidates = anyNamespace ? ctx.workloads : (ctx.index.byNamespace.get(namespace) ?? []);
    found = candidates.filter((w) => matchesSelector(selector, w.labels));
    ctx.index.selections.set(key, found);
  }
  return found;
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
