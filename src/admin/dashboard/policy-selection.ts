// Which proxies each security policy applies to, with where it was written:
// AuthorizationPolicies and RequestAuthentications as the proxies' own
// authorization reports see them, PeerAuthentications by their selector.
import type { MeshModel } from '../../model/mesh-model.js';
import { matchesSelector } from '../../model/labels.js';
import { authorizationReport } from '../../translate/authorization-report.js';
import { meshProxies } from '../../translate/translator.js';

export interface PolicySelection {
  kind: 'AuthorizationPolicy' | 'RequestAuthentication' | 'PeerAuthentication';
  /** `<namespace>/<name>`. */
  policy: string;
  /** `file:line` of the document. */
  source: string;
  /** ALLOW/DENY/CUSTOM/AUDIT (with "dry-run"), or the PeerAuthentication's mTLS mode. */
  detail: string;
  proxies: string[];
}

export function policySelections(model: MeshModel): PolicySelection[] {
  const proxies = meshProxies(model).map((p) => p.workload);
  const byKey = new Map<string, PolicySelection>();
  const entry = (kind: PolicySelection['kind'], policy: string, source: string, detail: string) => {
    const key = `${kind}\u0000${policy}`;
    let row = byKey.get(key);
    if (!row) byKey.set(key, (row = { kind, policy, source, detail, proxies: [] }));
    return row;
  };
  const where = (s: { file: string; line: number }) => `${s.file}:${s.line}`;
  const named = (m: { namespace: string; name: string }) => `${m.namespace}/${m.name}`;
  // Every policy is listed, also one that selects nothing: that is worth seeing.
  for (const p of model.config.authorizationPolicies)
    entry('AuthorizationPolicy', named(p.meta), where(p.source), `${p.spec.action}${p.spec.dryRun ? ' (dry-run)' : ''}`);
  for (const r of model.config.requestAuthentications) entry('RequestAuthentication', named(r.meta), where(r.source), 'JWT');
  for (const w of proxies) {
    const result = authorizationReport(model, w.id);
    if (!result.ok) continue;
    for (const a of result.report.authorizationPolicies) entry('AuthorizationPolicy', a.policy, a.source, a.action).proxies.push(w.id);
    for (const r of result.report.requestAuthentications) entry('RequestAuthentication', r.policy, r.source, 'JWT').proxies.push(w.id);
  }
  const root = model.mesh.rootNamespace;
  for (const pa of model.config.peerAuthentications) {
    const row = entry('PeerAuthentication', named(pa.meta), where(pa.source), pa.spec.mtlsMode);
    const selector = pa.spec.selector;
    for (const w of proxies) {
      const inScope = pa.meta.namespace === root ? selector === undefined : pa.meta.namespace === w.namespace;
      if (inScope && (selector === undefined || matchesSelector(selector, w.labels))) row.proxies.push(w.id);
    }
  }
  const rows = [...byKey.values()];
  for (const r of rows) r.proxies.sort();
  return rows.sort((a, b) => a.kind.localeCompare(b.kind) || a.policy.localeCompare(b.policy));
}
