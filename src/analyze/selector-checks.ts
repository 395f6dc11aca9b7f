// ML02xx: selectors that pick no workload, so what they configure applies to nothing.
import type { PathSegment } from '../config/diagnostics.js';
import type { Labels, Resource } from '../config/types.js';
import { type AnalysisContext, selectedWorkloads } from './analysis-context.js';

interface Selecting {
  resource: Resource<string, unknown>;
  selector: Labels | undefined;
  path: PathSegment[];
  anyNamespace?: boolean;
  /** What goes wrong when nothing is selected. */
  effect: string;
}

const shown = (labels: Labels) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

/** ML0201 (policies, Sidecar), ML0202 (Gateway), ML0203 (ServiceEntry workloadSelector). */
export function checkSelectors(ctx: AnalysisContext): void {
  const c = ctx.config;
  const root = c.mesh.rootNamespace;
  const items: (Selecting & { code: string })[] = [
    ...c.peerAuthentications.map((r) => ({
      code: 'ML0201',
      resource: r,
      selector: r.spec.selector,
      path: ['spec', 'selector', 'matchLabels'],
      effect: 'its mTLS mode applies to no workload',
    })),
    ...c.authorizationPolicies.map((r) => ({
      code: 'ML0201',
      resource: r,
      selector: r.spec.selector,
      path: ['spec', 'selector', 'matchLabels'],
      anyNamespace: r.meta.namespace === root,
      effect: `its ${r.spec.action} rules protect no workload`,
    })),
    ...c.requestAuthentications.map((r) => ({
      code: 'ML0201',
      resource: r,
      selector: r.spec.selector,
      path: ['spec', 'selector', 'matchLabels'],
      anyNamespace: r.meta.namespace === root,
      effect: 'no workload verifies its tokens',
    })),
    ...c.sidecars.map((r) => ({
      code: 'ML0201',
      resource: r,
      selector: r.spec.workloadSelector,
      path: ['spec', 'workloadSelector', 'labels'],
      anyNamespace: false,
      effect: 'it scopes no proxy',
    })),
    ...c.gateways.map((r) => ({
      code: 'ML0202',
      resource: r,
      selector: r.spec.selector,
      path: ['spec', 'selector'],
      anyNamespace: true,
      effect: 'no proxy serves its servers, so nothing listens for them',
    })),
    ...c.serviceEntries.map((r) => ({
      code: 'ML0203',
      resource: r,
      selector: r.spec.workloadSelector,
      path: ['spec', 'workloadSelector', 'labels'],
      anyNamespace: false,
      effect: 'the service has no endpoints and requests to it fail (503)',
    })),
  ];
  for (const item of items) {
    if (!item.selector || Object.keys(item.selector).length === 0) continue;
    const { resource } = item;
    if (selectedWorkloads(ctx, item.selector, resource.meta.namespace, item.anyNamespace).length > 0) continue;
    const where = item.anyNamespace || resource.meta.namespace === root ? 'in any namespace' : `in namespace ${resource.meta.namespace}`;
    ctx.report({
      code: item.code,
      severity: 'Warning',
      resource,
      path: item.path,
      message:
        `no WorkloadEntry or WorkloadGroup ${where} has the labels ${shown(item.selector)}, so ${item.effect}. ` +
        'Check the labels for typos, or add the workload.',
    });
  }
}
