// What `/debug/authorizationz` and `meshlite generate --type rbac` show for a
// proxy: which AuthorizationPolicies and RequestAuthentications apply (and
// why: mesh, namespace or workload scope), whether each JWKS is available,
// and the exact Envoy filters that enforce them.
import { authzView, type PolicyScope, policyScope } from '../model/authorization.js';
import type { MeshModel } from '../model/mesh-model.js';
import { proxyKind } from '../model/proxy-kind.js';
import type { Json } from '../proto/proto-json.js';
import { authzFilters } from '../xds/authz-filters.js';

type Scope = PolicyScope;

export interface AuthorizationReport {
  proxy: string;
  kind: string;
  /** False for proxyless gRPC apps: meshlite serves them client config only, so nothing enforces policy there. */
  enforced: boolean;
  authorizationPolicies: { policy: string; action: string; provider?: string; scope: Scope; rules: number; source: string }[];
  requestAuthentications: {
    policy: string;
    scope: Scope;
    source: string;
    issuers: { issuer: string; jwks: string; available: boolean }[];
  }[];
  /** HTTP filters before the router of every inbound (or gateway) HCM (the RBAC ones are empty slots). */
  httpFilters: Json[];
  /** What fills the RBAC slots: `typed_per_filter_config` of every inbound (or gateway) virtual host, served over RDS. */
  httpRbacPerRoute: Json;
  /** Network filters before tcp_proxy on TCP chains. */
  tcpFilters: Json[];
  warnings: string[];
}

export type AuthorizationReportResult = { ok: true; report: AuthorizationReport } | { ok: false; error: string };

export function authorizationReport(model: MeshModel, proxyId: string): AuthorizationReportResult {
  const workload = model.registry.workload(proxyId);
  if (!workload) return { ok: false, error: `no workload "${proxyId}"` };
  const kind = proxyKind(model, workload);
  if (!kind) return { ok: false, error: `meshlite serves no config to "${proxyId}" (no sidecar, gateway or proxyless annotation)` };
  const view = authzView(model, workload);
  const scope = (p: Parameters<typeof policyScope>[0]): Scope => policyScope(p, model.mesh.rootNamespace);
  const where = (s: { file: string; line: number }) => `${s.file}:${s.line}`;
  const filters = authzFilters(view);
  const enforced = kind !== 'proxyless';
  const { authorizationPolicies, requestAuthentications } = view;
  const warnings = [...filters.warnings.http, ...filters.warnings.tcp];
  if (!enforced && (authorizationPolicies.length > 0 || requestAuthentications.length > 0)) {
    warnings.unshift('proxyless gRPC app: meshlite serves it client config only, so these policies are NOT enforced for its inbound calls');
  }
  return {
    ok: true,
    report: {
      proxy: proxyId,
      kind,
      enforced,
      authorizationPolicies: authorizationPolicies.map((p) => ({
        policy: `${p.meta.namespace}/${p.meta.name}`,
        action: p.spec.action,
        ...(p.spec.provider ? { provider: p.spec.provider } : {}),
        scope: scope(p),
        rules: p.spec.rules.length,
        source: where(p.source),
      })),
      requestAuthentications: requestAuthentications.map((r) => ({
        policy: `${r.meta.namespace}/${r.meta.name}`,
        scope: scope(r),
        source: where(r.source),
        issuers: r.spec.jwtRules.map((j) => ({
          issuer: j.issuer,
          jwks: j.jwks !== undefined ? 'inline' : (j.jwksUri ?? 'none'),
          available: j.jwks !== undefined || (j.jwksUri !== undefined && Object.hasOwn(view.jwks, j.jwksUri)),
        })),
      })),
      httpFilters: [...filters.http] as Json[],
      httpRbacPerRoute: filters.httpPerRoute as Json,
      tcpFilters: [...filters.tcp] as Json[],
      warnings,
    },
  };
}
