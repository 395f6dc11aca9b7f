// An AuthorizationPolicy's targetRef must name a ServiceEntry that exists in
// the policy's namespace and selects workloads: otherwise the policy would
// silently apply to nothing, and an ALLOW or DENY that applies to nothing
// leaves open what its author meant to close.
import type { AuthorizationPolicy } from './authz-types.js';
import type { PathSegment } from './diagnostics.js';
import type { ServiceEntry } from './types.js';

export interface TargetedPolicy<D> {
  ap: AuthorizationPolicy;
  doc: D;
  /** How the policy wrote its targets: `targetRef` (one) or `targetRefs` (a list). */
  field: 'targetRef' | 'targetRefs';
}

export function checkPolicyTargets<D>(
  targeted: readonly TargetedPolicy<D>[],
  entries: readonly ServiceEntry[],
  report: (doc: D, path: PathSegment[], message: string) => void,
): void {
  const byRef = new Map(entries.map((e) => [`${e.meta.namespace}/${e.meta.name}`, e]));
  for (const { ap, doc, field } of targeted) {
    (ap.spec.targetRefs ?? []).forEach((ref, i) => {
      const path: PathSegment[] = field === 'targetRef' ? ['spec', 'targetRef', 'name'] : ['spec', 'targetRefs', i, 'name'];
      const entry = byRef.get(`${ap.meta.namespace}/${ref.name}`);
      if (!entry) {
        report(
          doc,
          path,
          `no ServiceEntry "${ref.name}" in namespace "${ap.meta.namespace}" (a ${ref.kind} target is the ServiceEntry of that name)`,
        );
      } else if (!entry.spec.workloadSelector) {
        report(
          doc,
          path,
          `ServiceEntry "${ap.meta.namespace}/${ref.name}" has no workloadSelector, so it selects no workload to apply the policy to`,
        );
      }
    });
  }
}
