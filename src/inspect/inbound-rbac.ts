// The access-control step of an inbound request: the HCM's HTTP filters with
// each filter's per-route override applied (meshlite keeps HTTP policies in
// typed_per_filter_config of the inbound virtual host, so they change over RDS),
// then the RBAC evaluator.
import { arr, type JsonObject, obj, str } from './dump-index.js';

export type AccessStep = { verdict: 'allow' | 'deny'; reason: string } | { verdict: 'unknown'; reason: string };

export interface AccessFacts {
  peerPrincipal?: string;
  sourceIp?: string;
  destinationIp: string;
  destinationPort: number;
  serverName?: string;
  method: string;
  path: string;
  host: string;
  headers: Record<string, string>;
}

/** The filters as Envoy runs them for this route: a per-route config replaces the filter's own config. */
export function effectiveHttpFilters(
  hcm: JsonObject,
  routeConfig: JsonObject | undefined,
  virtualHost: JsonObject | undefined,
  route: JsonObject | undefined,
): JsonObject[] {
  const overrides = [
    obj(route?.typed_per_filter_config),
    obj(virtualHost?.typed_per_filter_config),
    obj(routeConfig?.typed_per_filter_config),
  ];
  return arr(hcm.http_filters).map((raw) => {
    const filter = obj(raw);
    const name = str(filter.name) ?? '';
    const override = overrides.map((o) => obj(o[name])).find((o) => Object.keys(o).length > 0);
    if (!override) return filter;
    const type = String(override['@type'] ?? '');
    if (type.endsWith('RBACPerRoute')) {
      const rbac = obj(override.rbac);
      return { ...filter, typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC', ...rbac } };
    }
    if (type.endsWith('FilterConfig') && override.disabled === true) return { ...filter, disabled: true };
    return { ...filter, typed_config: override };
  });
}

const isRbac = (filter: JsonObject) => String(obj(filter.typed_config)['@type'] ?? '').endsWith('.RBAC');

export function evaluateHttpAccess(filters: readonly JsonObject[], facts: AccessFacts): AccessStep {
  const enforcing = filters.filter((f) => isRbac(f) && f.disabled !== true && obj(f.typed_config).rules !== undefined);
  if (enforcing.length === 0) return { verdict: 'allow', reason: 'no access policy applies' };
  return { verdict: 'unknown', reason: `RBAC filter ${enforcing.map((f) => str(f.name)).join(', ')} not evaluated` };
}

export function evaluateNetworkAccess(filters: readonly unknown[], facts: AccessFacts): AccessStep {
  const enforcing = filters.map(obj).filter((f) => isRbac(f) && obj(f.typed_config).rules !== undefined);
  if (enforcing.length === 0) return { verdict: 'allow', reason: 'no connection policy applies' };
  return { verdict: 'unknown', reason: `network RBAC filter ${enforcing.map((f) => str(f.name)).join(', ')} not evaluated` };
}
