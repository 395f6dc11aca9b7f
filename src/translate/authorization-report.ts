// What `/debug/authorizationz` and `meshlite generate --type rbac` show for a
// proxy: which AuthorizationPolicies and RequestAuthentications apply (and
// why: mesh, namespace or workload scope), whether each JWKS is available,
// and the exact Envoy filters that enforce them.
import { authzView, type PolicyScope, policyScope } from '../model/authorization.js';
import type { MeshModel } from '../model/mesh-model.js';
import { proxyKind } from '../model/proxy-kind.js';
import type { Json } from '../proto/proto-json.js';
import { authzFilters } from '../xds/authz-filters.js';
import { proxylessAuthzFilters } from '../xds/proxyless-rbac.js';
import { proxylessServers } from '../model/proxyless-servers.js';

type Scope = PolicyScope;

export interface AuthorizationReport {
  proxy: string;
  kind: string;
  /**
   * Whether anything enforces the policies: false only for a proxyless gRPC
   * app that serves no GRPC/HTTP2 service port (it gets no server listener).
   */
  enforced: boolean;
  authorizationPolicies: {
    policy: string;
    action: string;
    provider?: string;
    /** Present (true) for an `istio.io/dry-run` policy: evaluated as shadow rules, never enforced. */
    dryRun?: true;
    scope: Scope;
    rules: number;
    source: string;
  }[];
  requestAuthentications: {
    policy: string;
    scope: Scope;
    source: string;
    issuers: { issuer: string; jwks: string; available: boolean }[];
  }[];
  /**
   * HTTP filters before the router of every inbound (or gateway) HCM (the RBAC
   * ones are empty slots); for a proxyless app, the RBAC filters of its server listeners, rules inline.
   */
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
  const { authorizationPolicies, requestAuthentications } = view;
  let filters = authzFilters(view);
  let enforced = true;
  let warnings = [...filters.warnings.http, ...filters.warnings.tcp];
  if (kind === 'proxyless') {
    const grpc = proxylessAuthzFilters(view);
    filters = { http: grpc.filters, httpPerRoute: {}, tcp: [], warnings: { http: grpc.warnings, tcp: [] } };
    warnings = grpc.warnings;
    // Whether the ports use TLS does not change the filters, so security on or off gives the same answer here.
    enforced = proxylessServers(model, workload, true, []).length > 0;
    if (!enforced && (authorizationPolicies.length > 0 || requestAuthentications.length > 0)) {
      warnings.unshift('proxyless gRPC app serving no GRPC/HTTP2 service port: no server listener, so these policies are NOT enforced');
    }
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
        ...(p.spec.dryRun ? { dryRun: true as const } : {}),
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
