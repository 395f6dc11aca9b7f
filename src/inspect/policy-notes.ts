// Names the Istio resources behind what the translated config does, for the
// reasons in matrix cells: the DestinationRule that sets a client's TLS
// towards a service port, and the PeerAuthentication that sets a server
// port's mTLS mode (same precedence as the model: workload > namespace > mesh).
import type { PeerAuthentication } from '../config/types.js';
import { effectiveTrafficPolicy } from '../model/destination-rules.js';
import { matchesSelector } from '../model/labels.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { Workload } from '../model/registry.js';

const ref = (meta: { namespace: string; name: string }) => `${meta.namespace}/${meta.name}`;

/** `DestinationRule bar/httpbin tls DISABLE`, or undefined when no rule sets TLS for the port. */
export function destinationRuleNote(
  model: MeshModel,
  host: string,
  serviceNamespace: string,
  clientNamespace: string,
  port: number,
): string | undefined {
  const rule = model.destinationRules.find(host, serviceNamespace, clientNamespace);
  const mode = effectiveTrafficPolicy(rule, port).tls?.mode;
  return rule && mode ? `DestinationRule ${ref(rule.meta)} tls ${mode}` : undefined;
}

/** `PeerAuthentication bar/httpbin STRICT` (or `port 80 DISABLE`), or the default when none applies. */
export function peerAuthenticationNote(model: MeshModel, workload: Workload, targetPort: number): string {
  const root = model.mesh.rootNamespace;
  const inNamespace = (ns: string) => model.config.peerAuthentications.filter((p) => p.meta.namespace === ns);
  const selecting =
    workload.namespace === root
      ? undefined
      : inNamespace(workload.namespace).find((p) => p.spec.selector !== undefined && matchesSelector(p.spec.selector, workload.labels));
  const levels: (PeerAuthentication | undefined)[] = [
    selecting,
    workload.namespace === root
      ? undefined
      : inNamespace(workload.namespace).find((p) => !p.spec.selector && !p.spec.legacy?.targetService),
    inNamespace(root).find((p) => !p.spec.selector && !p.spec.legacy?.targetService),
  ];
  for (const policy of levels) {
    if (!policy) continue;
    const portMode = policy === selecting ? policy.spec.portLevelMtls.get(targetPort) : undefined;
    if (portMode && portMode !== 'UNSET') return `PeerAuthentication ${ref(policy.meta)} port ${targetPort} ${portMode}`;
    if (policy.spec.mtlsMode !== 'UNSET') return `PeerAuthentication ${ref(policy.meta)} ${policy.spec.mtlsMode}`;
  }
  const legacy = inNamespace(workload.namespace).find((p) => p.spec.legacy?.targetService);
  return legacy ? `legacy policy ${ref(legacy.meta)}` : 'no PeerAuthentication: PERMISSIVE by default';
}
