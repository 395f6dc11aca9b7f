// Access control on a proxyless gRPC server port: the RBAC HTTP filter as
// gRPC evaluates it (as grpc-js-xds implements it). Differences with
// a sidecar's inbound, each failing closed and reported:
//  - no LOG action: AUDIT policies are left out (they never decide anything);
//  - no ext_authz: a CUSTOM policy becomes a DENY of the requests its rules
//    match (the external authorizer cannot be asked, so they are refused);
//  - no JWT verification: request principals and `request.auth.*` conditions
//    cannot match (an ALLOW rule using them is dropped, a DENY rule loses the field);
//  - no shadow rules: a dry-run policy is left out (it enforces nothing anyway);
//  - filter names must be unique in one HCM, hence the DENY/ALLOW names below.
import type { AuthorizationPolicy, AuthzView } from '../model/view-types.js';
import type { envoy_extensions_filters_http_rbac_v3_RBAC as HttpRbac, HttpFilter } from './envoy-types/index.js';
import { buildRbacFilters } from './rbac.js';

export const PROXYLESS_RBAC_FILTER_NAMES = { DENY: 'meshlite.rbac.deny', ALLOW: 'meshlite.rbac.allow' } as const;

export interface ProxylessAuthz {
  /** RBAC filters to place before the router, DENY first; none when no policy applies. */
  filters: HttpFilter[];
  warnings: string[];
}

const PREFIX = 'proxyless gRPC server';

export function proxylessAuthzFilters(view: AuthzView): ProxylessAuthz {
  const warnings: string[] = [];
  const policies: AuthorizationPolicy[] = [];
  for (const p of view.authorizationPolicies) {
    const name = `AuthorizationPolicy ${p.meta.namespace}/${p.meta.name}`;
    if (p.spec.dryRun) {
      warnings.push(`${PREFIX}: ${name} (dry-run ${p.spec.action}) is not evaluated: gRPC's RBAC filter has no shadow rules`);
    } else if (p.spec.action === 'AUDIT') {
      warnings.push(`${PREFIX}: ${name} (AUDIT) is not audited: gRPC's RBAC filter has no LOG action`);
    } else if (p.spec.action === 'CUSTOM') {
      warnings.push(
        `${PREFIX}: ${name} (CUSTOM) cannot call an external authorizer from a gRPC server; the requests its rules match are DENIED`,
      );
      policies.push({ ...p, spec: { ...p.spec, action: 'DENY' } });
    } else {
      policies.push(p);
    }
  }
  for (const r of view.requestAuthentications) {
    warnings.push(
      `${PREFIX}: RequestAuthentication ${r.meta.namespace}/${r.meta.name} is not enforced (a gRPC server verifies no JWT): invalid tokens are not rejected, and rules on request principals or claims cannot match`,
    );
  }
  const built = buildRbacFilters(policies, { trustDomains: view.trustDomains, protocol: 'http', grpc: true });
  for (const w of built.warnings) warnings.push(`${PREFIX}: ${w}`);
  const filters = built.filters.map((f) => {
    const rules = (f.typed_config as HttpRbac).rules;
    return { ...f, name: rules?.action === 'DENY' ? PROXYLESS_RBAC_FILTER_NAMES.DENY : PROXYLESS_RBAC_FILTER_NAMES.ALLOW } as HttpFilter;
  });
  return { filters, warnings };
}
