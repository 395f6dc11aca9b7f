// A health probe port is served by a sidecar; declared on a workload that
// gets no sidecar config (a gateway, a proxyless app, a workload without an
// Envoy) it would silently do nothing, so it is a config error instead.
import { type ConfigIssue, joinPath, sortIssues } from '../config/diagnostics.js';
import { SIDECAR_ANNOTATIONS } from '../config/kinds/workload-entry.js';
import type { MeshModel } from './mesh-model.js';
import { proxyKind } from './proxy-kind.js';

export function healthProbeIssues(model: MeshModel): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const we of model.config.workloadEntries) {
    if (we.meta.annotations[SIDECAR_ANNOTATIONS.healthProbes] === undefined) continue;
    const workload = model.registry.workload(`${we.meta.name}.${we.meta.namespace}`);
    const kind = workload ? proxyKind(model, workload) : undefined;
    if (kind === 'sidecar') continue;
    const what =
      kind === 'gateway'
        ? 'a gateway'
        : kind === 'proxyless'
          ? 'a proxyless gRPC app'
          : 'not a sidecar (no security.istio.io/tlsMode: istio label)';
    issues.push({
      file: we.source.file,
      line: we.source.line,
      column: 1,
      path: joinPath(['metadata', 'annotations', SIDECAR_ANNOTATIONS.healthProbes]),
      message: `health probes are served by a sidecar, but workload ${we.meta.name}.${we.meta.namespace} is ${what}`,
    });
  }
  return sortIssues(issues);
}
