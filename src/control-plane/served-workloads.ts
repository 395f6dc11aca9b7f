// The workloads meshlite serves under a config, as the certificate checks see
// them: registered, and a sidecar, gateway or proxyless app.
import type { IdentityName, ServedWorkloads } from '../ca-service/caller-auth.js';
import type { MeshModel } from '../model/mesh-model.js';
import { PROXYLESS_GRPC_ANNOTATION, proxyKind } from '../model/proxy-kind.js';

/** The same workloads ADS serves: registered, and a sidecar, gateway or proxyless app. */
export function servedWorkloads(model: MeshModel): ServedWorkloads {
  const key = (id: IdentityName) => `${id.namespace}/${id.serviceAccount}`;
  const served = model.registry.workloads.filter((w) => proxyKind(model, w) !== undefined);
  const identities = new Set(served.map(key));
  return {
    workload(workloadId) {
      const w = model.registry.workload(workloadId);
      if (!w) return { ok: false, reason: `unknown workload "${workloadId}" (no WorkloadEntry <name>.<namespace>)` };
      if (!proxyKind(model, w))
        return {
          ok: false,
          reason: `workload "${workloadId}" runs no sidecar (label security.istio.io/tlsMode: istio), no Gateway selects it, and it is not proxyless (annotation ${PROXYLESS_GRPC_ANNOTATION}: "true")`,
        };
      return { ok: true, identity: { namespace: w.namespace, serviceAccount: w.serviceAccount } };
    },
    servesIdentity: (identity) => identities.has(key(identity)),
  };
}

/**
 * `servedWorkloads` of the model it is given, computed once per model (the
 * model in force changes with each config; both callers ask on every call).
 */
export function servedWorkloadsMemo(): (model: MeshModel) => ServedWorkloads {
  let last: { model: MeshModel; served: ServedWorkloads } | undefined;
  return (model) => {
    if (last?.model !== model) last = { model, served: servedWorkloads(model) };
    return last.served;
  };
}
