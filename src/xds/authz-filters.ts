// The access-control filters of one workload's inbound (or gateway) traffic:
// HTTP chains run jwt_authn, RBAC AUDIT, CUSTOM (ext_authz), RBAC DENY, RBAC
// ALLOW, then the router; TCP chains run RBAC AUDIT, CUSTOM, RBAC DENY, RBAC
// ALLOW, then tcp_proxy. Built once per distinct set of applicable policies
// and JWKS inputs (see resource-cache.ts), and shared by every proxy with those policies.
import type { AuthzView } from '../model/view-types.js';
import { type HttpOrNetworkFilter, typed } from './common.js';
import type {
  Any,
  envoy_config_listener_v3_Filter as NetworkFilter,
  envoy_extensions_filters_http_rbac_v3_RBAC as HttpRbac,
  envoy_extensions_filters_network_rbac_v3_RBAC as NetworkRbac,
  HttpFilter,
} from './envoy-types/index.js';
import { buildExtAuthzFilters } from './ext-authz.js';
import { buildJwtAuthnFilter, jwksFrom } from './jwt-authn.js';
import { buildRbacFilters, DRY_RUN_STAT_PREFIX, RBAC_TYPE } from './rbac.js';
import { appendAll } from '../util/append-all.js';

export interface AuthzFilters {
  /**
   * HTTP filters to place before the router, in order. The AUDIT, DENY and
   * ALLOW RBAC filters are always there, empty (enforcing nothing): their
   * policies arrive per virtual host in `httpPerRoute`, over RDS.
   */
  http: readonly HttpFilter[];
  /**
   * `typed_per_filter_config` for every virtual host of the HCMs above. A
   * policy edit then changes only route configurations, which Envoy applies
   * to the next request of every open connection; a listener change would
   * leave open connections on the old filter chain until they drain.
   */
  httpPerRoute: { [filterName: string]: Any };
  /** Network filters to place before tcp_proxy, in order (they decide once per connection). */
  tcp: readonly NetworkFilter[];
  /** What could not be translated as written, per chain kind (a proxy reports those of the chains it has). */
  warnings: { http: readonly string[]; tcp: readonly string[] };
}

/** The RBAC slots of every enforcing HCM, by Istio action, in filter order. */
export const RBAC_SLOTS = { AUDIT: 'meshlite.rbac.audit', DENY: 'meshlite.rbac.deny', ALLOW: 'meshlite.rbac.allow' } as const;
const RBAC_PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
// Envoy names the shadow-rule stats from the filter's own config, not the per-route one: the DENY and
// ALLOW slots carry the dry-run stat prefixes, so adding a dry-run policy changes no listener.
const slot = (name: string, shadowPrefix?: string): HttpFilter => ({
  name,
  typed_config: typed(RBAC_TYPE.http, shadowPrefix ? { shadow_rules_stat_prefix: shadowPrefix } : {}),
});
const [AUDIT_SLOT, DENY_SLOT, ALLOW_SLOT] = [
  slot(RBAC_SLOTS.AUDIT),
  slot(RBAC_SLOTS.DENY, DRY_RUN_STAT_PREFIX.DENY),
  slot(RBAC_SLOTS.ALLOW, DRY_RUN_STAT_PREFIX.ALLOW),
];

export const NO_AUTHZ_FILTERS: AuthzFilters = {
  http: [AUDIT_SLOT, DENY_SLOT, ALLOW_SLOT],
  httpPerRoute: {},
  tcp: [],
  warnings: { http: [], tcp: [] },
};

const configOf = (f: HttpOrNetworkFilter) => f.typed_config as HttpRbac | NetworkRbac;
// A filter of dry-run policies only has shadow rules and no rules.
const actionOf = (f: HttpOrNetworkFilter): keyof typeof RBAC_SLOTS => {
  const action = (configOf(f).rules ?? configOf(f).shadow_rules)?.action;
  return action === 'LOG' ? 'AUDIT' : action === 'DENY' ? 'DENY' : 'ALLOW';
};
/** The per-route override of a slot: the filter's rules and shadow rules (the stat prefix is the slot's). */
const perRouteRbac = (f: HttpOrNetworkFilter): HttpRbac => {
  const { rules, shadow_rules } = configOf(f);
  return { ...(rules ? { rules } : {}), ...(shadow_rules ? { shadow_rules } : {}) };
};

export function authzFilters(view: AuthzView): AuthzFilters {
  if (view.authorizationPolicies.length === 0 && view.requestAuthentications.length === 0) return NO_AUTHZ_FILTERS;
  return buildAuthzFilters(view);
}

function buildAuthzFilters(view: AuthzView): AuthzFilters {
  const domains = view.trustDomains;
  const { authorizationPolicies, requestAuthentications } = view;
  const warnings = { http: [] as string[], tcp: [] as string[] };
  const jwt = buildJwtAuthnFilter(
    requestAuthentications,
    jwksFrom((uri) => (Object.hasOwn(view.jwks, uri) ? view.jwks[uri] : undefined)),
  );
  appendAll(warnings.http, jwt.warnings);
  const build = (protocol: 'http' | 'tcp') => {
    const rbac = buildRbacFilters(authorizationPolicies, { trustDomains: domains, protocol });
    const custom = buildExtAuthzFilters(authorizationPolicies, view.providers, { trustDomains: domains, protocol });
    const where = `${protocol.toUpperCase()} chains`;
    appendAll(
      warnings[protocol],
      rbac.warnings.map((w) => `${where}: ${w}`),
    );
    appendAll(
      warnings[protocol],
      custom.warnings.map((w) => `${where}: ${w}`),
    );
    return { rbac: rbac.filters, custom: custom.filters };
  };

  const http = build('http');
  const httpPerRoute: { [filterName: string]: Any } = {};
  for (const f of http.rbac) httpPerRoute[RBAC_SLOTS[actionOf(f)]] = typed(RBAC_PER_ROUTE_TYPE, { rbac: perRouteRbac(f) });
  const tcp = build('tcp');
  const audit = tcp.rbac.filter((f) => actionOf(f) === 'AUDIT');
  const enforcing = tcp.rbac.filter((f) => actionOf(f) !== 'AUDIT');
  return {
    http: [...(jwt.filter ? [jwt.filter] : []), AUDIT_SLOT, ...http.custom, DENY_SLOT, ALLOW_SLOT],
    httpPerRoute,
    tcp: [...audit, ...tcp.custom, ...enforcing],
    warnings,
  };
}
