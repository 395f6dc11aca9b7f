// The access-control filters of one workload's inbound (or gateway) traffic:
// HTTP chains run jwt_authn, RBAC AUDIT, CUSTOM (ext_authz), RBAC DENY, RBAC
// ALLOW, then the router; TCP chains run RBAC AUDIT, CUSTOM, RBAC DENY, RBAC
// ALLOW, then tcp_proxy. Built once per distinct set of applicable policies
// and JWKS inputs, and shared by every proxy with those policies.
import type { AuthzView, WorkloadAuthz } from '../model/authorization.js';
import { trustDomains } from '../model/mesh-model.js';
import type { JsonObject } from './common.js';
import { buildExtAuthzFilters } from './ext-authz.js';
import { buildJwtAuthnFilter, jwksFrom } from './jwt-authn.js';
import { buildRbacFilters } from './rbac.js';

export interface AuthzFilters {
  /** HTTP filters to place before the router, in order. */
  http: readonly JsonObject[];
  /** Network filters to place before tcp_proxy, in order. */
  tcp: readonly JsonObject[];
  /** What could not be translated as written, per chain kind (a proxy reports those of the chains it has). */
  warnings: { http: readonly string[]; tcp: readonly string[] };
}

export const NO_AUTHZ_FILTERS: AuthzFilters = { http: [], tcp: [], warnings: { http: [], tcp: [] } };

const memo = new WeakMap<WorkloadAuthz, WeakMap<ReadonlyMap<string, string>, AuthzFilters>>();

const isAudit = (f: JsonObject) => ((f.typed_config as JsonObject).rules as JsonObject | undefined)?.action === 'LOG';

export function authzFilters(view: AuthzView): AuthzFilters {
  const { policies } = view;
  if (policies.authorizationPolicies.length === 0 && policies.requestAuthentications.length === 0) return NO_AUTHZ_FILTERS;
  let byJwks = memo.get(policies);
  if (!byJwks) memo.set(policies, (byJwks = new WeakMap()));
  let built = byJwks.get(view.jwks);
  if (!built) byJwks.set(view.jwks, (built = buildAuthzFilters(view)));
  return built;
}

function buildAuthzFilters(view: AuthzView): AuthzFilters {
  const domains = trustDomains(view.mesh);
  const { authorizationPolicies, requestAuthentications } = view.policies;
  const warnings = { http: [] as string[], tcp: [] as string[] };
  const jwt = buildJwtAuthnFilter(requestAuthentications, jwksFrom((uri) => view.jwks.get(uri)));
  warnings.http.push(...jwt.warnings);
  const chain = (protocol: 'http' | 'tcp'): JsonObject[] => {
    const rbac = buildRbacFilters(authorizationPolicies, { trustDomains: domains, protocol });
    const custom = buildExtAuthzFilters(authorizationPolicies, view.mesh.extensionProviders, {
      trustDomains: domains,
      protocol,
      clusterFor: (service, port) => view.providerCluster(service, port),
    });
    warnings[protocol].push(...rbac.warnings.map((w) => `${protocol.toUpperCase()} chains: ${w}`), ...custom.warnings.map((w) => `${protocol.toUpperCase()} chains: ${w}`));
    const audit = rbac.filters.filter(isAudit);
    const enforcing = rbac.filters.filter((f) => !isAudit(f));
    return [...audit, ...custom.filters, ...enforcing];
  };
  const http = [...(jwt.filter ? [jwt.filter] : []), ...chain('http')];
  const tcp = chain('tcp');
  return { http, tcp, warnings };
}
