// VirtualService HTTP routes -> Envoy v3 Route objects (proto3 JSON), with
// Istio's semantics: one route per (http route, match) in order, matches
// scoped by port, gateway and source, and the route's action and policies.
import type { Destination, HttpRouteView, ResolvedHttpDestination } from '../model/view-types.js';
import { protoDuration } from './common.js';
import type {
  DirectResponseAction,
  RedirectAction,
  RedirectAction_RedirectResponseCode,
  Route,
  RouteAction,
  RouteAction_RequestMirrorPolicy,
  RouteMatch,
  WeightedCluster_ClusterWeight,
} from './envoy-types/index.js';
import { isCatchAll, type MatchScope, matchApplies, type PathKind, translateMatch, unsupportedHeaderNames } from './http-route-match.js';
import {
  FAULT_FILTER,
  faultConfig,
  fractionalPercent,
  type HeaderMutation,
  headerMutation,
  mergeMutations,
  mutationFields,
} from './http-route-policy.js';
import { retryPolicy } from './retry-policy.js';

export { FAULT_FILTER } from './http-route-policy.js';

export interface RouteBuildContext extends MatchScope {
  /** The port the route config serves; matches with a `port` never apply when undefined (a port-less route config). */
  port?: number;
  /** The gateway the route config is for: `mesh` or `ns/name` (for `match.gateways`). */
  gateway: string;
  /** The proxy's workload labels and namespace, for `sourceLabels`/`sourceNamespace`; matches using them are skipped when absent. */
  source?: { labels: Readonly<Record<string, string>>; namespace: string };
}

export interface HttpRoutesResult {
  routes: Route[];
  warnings: string[];
}

/** Status of a route whose destinations all lack a cluster (Envoy's own answer for a missing cluster). */
export const UNRESOLVED_STATUS = 503;

const REDIRECT_CODES: Readonly<Record<number, RedirectAction_RedirectResponseCode>> = {
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
};

type Warn = (message: string) => void;
type RouteFactory = (name: string, match: RouteMatch, pathKind: PathKind) => Route;

/**
 * Route names are `${namePrefix}.${http.name ?? index}`, plus `.${match.name}`
 * for a named match or `.${matchIndex}` when the http route has several.
 * Routes after one that matches every request are dropped with a warning,
 * as Istio stops there.
 */
export function buildHttpRoutes(routes: readonly HttpRouteView[], ctx: RouteBuildContext, namePrefix: string): HttpRoutesResult {
  const out: Route[] = [];
  const warnings: string[] = [];
  const warn: Warn = (message) => warnings.push(message);
  let catchAll: string | undefined;
  routes.forEach((http, index) => {
    const base = `${namePrefix}.${http.name ?? index}`;
    const matches = http.match.length > 0 ? http.match.map((m, j) => ({ m, j })) : [{ m: undefined, j: 0 }];
    const applicable = matches.filter(({ m }) => !m || matchApplies(m, ctx));
    if (applicable.length === 0) return;
    if (catchAll) {
      warn(`${base}: unreachable, route ${catchAll} before it matches every request`);
      return;
    }
    const factory = compileRoute(http, base, warn);
    if (!factory) return;
    for (const { m, j } of applicable) {
      const name = m?.name ? `${base}.${m.name}` : http.match.length > 1 ? `${base}.${j}` : base;
      const unsupported = m ? unsupportedHeaderNames(m) : [];
      if (unsupported.length > 0) {
        warn(`${name}: match skipped: conditions on ${unsupported.join(', ')} (JWT claims) are not supported`);
        continue;
      }
      const { match, pathKind } = translateMatch(m);
      out.push(factory(name, match, pathKind));
      if (isCatchAll(match)) {
        catchAll = name;
        break;
      }
    }
  });
  return { routes: out, warnings };
}

/** HTTP filters the routes configure per route, which the HCM must list (with empty configs) before the router. */
export function requiredHttpFilters(routes: readonly Route[]): string[] {
  const found = new Set<string>();
  const collect = (holder: Route | WeightedCluster_ClusterWeight) => {
    const perFilter = holder.typed_per_filter_config;
    if (perFilter) Object.keys(perFilter).forEach((k) => found.add(k));
  };
  for (const route of routes) {
    collect(route);
    route.route?.weighted_clusters?.clusters?.forEach(collect);
  }
  // The fault filter goes first so that its delays and aborts happen before anything else acts.
  const rank = (name: string) => (name === FAULT_FILTER ? 0 : 1);
  return [...found].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Everything about an http route except its match; undefined when the route cannot be expressed. */
function compileRoute(http: HttpRouteView, where: string, warn: Warn): RouteFactory | undefined {
  const fault = faultConfig(http.fault, where, warn);
  const routeHeaders = headerMutation(http.headers, where, warn);
  const finish = (
    name: string,
    match: RouteMatch,
    action: Pick<Route, 'route' | 'redirect' | 'direct_response'>,
    headers: HeaderMutation,
  ): Route => ({
    name,
    match,
    ...action,
    ...(fault ? { typed_per_filter_config: { [FAULT_FILTER]: fault } } : {}),
    ...mutationFields(headers),
  });

  if (http.redirect) {
    const redirect = redirectAction(http.redirect, where, warn);
    return redirect && ((name, match) => finish(name, match, { redirect }, routeHeaders));
  }
  if (http.directResponse) {
    const { status, body } = http.directResponse;
    if (!(status >= 200 && status < 600)) {
      warn(`${where}: directResponse.status ${status} is outside 200-599; route skipped`);
      return undefined;
    }
    const direct: DirectResponseAction = body === undefined ? { status } : { status, body: { inline_string: body } };
    return (name, match) => finish(name, match, { direct_response: direct }, routeHeaders);
  }

  const target = resolveTarget(http.route, where, warn);
  if (!target) return (name, match) => finish(name, match, { direct_response: { status: UNRESOLVED_STATUS } }, routeHeaders);
  const headers = target.sole ? mergeMutations(routeHeaders, target.sole) : routeHeaders;
  // Istio's precedence: rewrite.authority, then a route-level Host header, then the sole destination's.
  const hostRewrite = http.rewrite?.authority || routeHeaders.authority || target.sole?.authority;
  const timeout = http.timeout ? protoDuration(http.timeout) : '0s';
  const retry = retryPolicy(http.retries);
  const mirror = mirrorPolicy(http, where, warn);
  const uri = http.rewrite?.uri;
  return (name, match, pathKind) => {
    const action: RouteAction = { ...target.cluster };
    if (uri && pathKind === 'prefix') action.prefix_rewrite = uri;
    // An exact or regex match covers the whole path, so Istio's "replace what matched" is a full replacement.
    else if (uri) action.regex_rewrite = { pattern: { regex: '^.*$' }, substitution: uri.replace(/\\/g, '\\\\') };
    if (hostRewrite) action.host_rewrite_literal = hostRewrite;
    action.timeout = timeout;
    if (retry) action.retry_policy = retry;
    if (mirror) action.request_mirror_policies = [mirror];
    return finish(name, match, { route: action }, headers);
  };
}

interface Target {
  /** `{cluster}` or `{weighted_clusters}`. */
  cluster: Pick<RouteAction, 'cluster' | 'weighted_clusters'>;
  /** Header operations of the only destination, which go on the route. */
  sole?: HeaderMutation;
}

function describe(d: Destination): string {
  return `${d.host}${d.port ? `:${d.port}` : ''}${d.subset ? ` subset ${d.subset}` : ''}`;
}

/**
 * Istio's weighting: a sole destination takes everything whatever its weight;
 * among several, those without a positive weight are dropped. Destinations
 * without a cluster are dropped too (their share goes to the others); when
 * none is left the route answers 503 rather than naming a missing cluster.
 */
function resolveTarget(route: readonly ResolvedHttpDestination[], where: string, warn: Warn): Target | undefined {
  if (route.length === 0) {
    warn(`${where}: no destination, redirect or directResponse; the route answers ${UNRESOLVED_STATUS}`);
    return undefined;
  }
  let weighted =
    route.length === 1 ? [{ d: route[0]!, weight: 1 }] : route.filter((d) => (d.weight ?? 0) > 0).map((d) => ({ d, weight: d.weight! }));
  if (weighted.length === 0) {
    warn(`${where}: no destination has a positive weight; splitting traffic evenly`);
    weighted = route.map((d) => ({ d, weight: 1 }));
  }
  const resolved: { d: ResolvedHttpDestination; weight: number; cluster: string }[] = [];
  const missing: string[] = [];
  for (const { d, weight } of weighted) {
    const cluster = d.cluster;
    if (cluster) resolved.push({ d, weight, cluster });
    else missing.push(describe(d.destination));
  }
  if (resolved.length === 0) {
    warn(`${where}: no cluster for ${missing.join(', ')}; the route answers ${UNRESOLVED_STATUS}`);
    return undefined;
  }
  if (missing.length > 0) warn(`${where}: no cluster for ${missing.join(', ')}; its share of traffic goes to the other destinations`);
  if (resolved.length === 1) {
    const only = resolved[0]!;
    return { cluster: { cluster: only.cluster }, sole: headerMutation(only.d.headers, `${where} (${describe(only.d.destination)})`, warn) };
  }
  const clusters = resolved.map(({ d, weight, cluster }) => {
    const m = headerMutation(d.headers, `${where} (${describe(d.destination)})`, warn);
    const entry: WeightedCluster_ClusterWeight = { name: cluster, weight, ...mutationFields(m) };
    if (m.authority) entry.host_rewrite_literal = m.authority;
    return entry;
  });
  return { cluster: { weighted_clusters: { clusters } } };
}

function redirectAction(r: NonNullable<HttpRouteView['redirect']>, where: string, warn: Warn): RedirectAction | undefined {
  const code = r.redirectCode || 301;
  const responseCode = REDIRECT_CODES[code];
  if (!responseCode) {
    warn(`${where}: redirect code ${code} is not one Envoy supports (301, 302, 303, 307, 308); route skipped`);
    return undefined;
  }
  const out: RedirectAction = {};
  if (r.scheme) out.scheme_redirect = r.scheme;
  if (r.authority) out.host_redirect = r.authority;
  // Like Istio, no explicit default port for the scheme in the Location.
  const defaultPort = (r.scheme === 'http' && r.port === 80) || (r.scheme === 'https' && r.port === 443);
  if (r.port && !defaultPort) out.port_redirect = r.port;
  if (r.uri) out.path_redirect = r.uri;
  // MOVED_PERMANENTLY is the proto default, which canonical JSON leaves out.
  if (responseCode !== 'MOVED_PERMANENTLY') out.response_code = responseCode;
  return out;
}

/** Istio: mirrorPercentage defaults to 100, and 0 turns mirroring off; mirrored requests do not force trace sampling. */
function mirrorPolicy(http: HttpRouteView, where: string, warn: Warn): RouteAction_RequestMirrorPolicy | undefined {
  if (!http.mirror) return undefined;
  const fraction = fractionalPercent(http.mirrorPercentage ?? 100);
  if (!fraction) return undefined;
  const cluster = http.mirror.cluster;
  if (!cluster) {
    warn(`${where}: no cluster for mirror ${describe(http.mirror)}; not mirroring`);
    return undefined;
  }
  return { cluster, runtime_fraction: { default_value: fraction }, trace_sampled: false };
}
