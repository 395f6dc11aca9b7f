// VirtualService HTTPMatchRequest -> Envoy RouteMatch, and whether a match
// request applies to the route configuration being built at all.
import type { HttpMatchRequest, Labels, StringMatch } from '../model/view-types.js';
import type { HeaderMatcher, QueryParameterMatcher, RouteMatch, StringMatcher } from './envoy-types/index.js';

/** Where the routes are being built: what Istio calls the listener port, gateway names and proxy. */
export interface MatchScope {
  port?: number;
  gateway: string;
  source?: { labels: Labels; namespace: string };
}

/** How the path is matched; decides how `rewrite.uri` is expressed. */
export type PathKind = 'prefix' | 'path' | 'regex';

export interface TranslatedMatch {
  match: RouteMatch;
  pathKind: PathKind;
}

/**
 * Istio's rule: a match limited to gateways applies only to those gateways
 * (source labels are then not consulted); otherwise its source labels and
 * namespace must fit the proxy. A match on a port never applies to a
 * port-less route configuration (Istio's listener port 0).
 */
export function matchApplies(match: HttpMatchRequest, scope: MatchScope): boolean {
  if (match.port !== undefined && match.port !== 0 && match.port !== scope.port) return false;
  if (match.gateways.length > 0) return match.gateways.includes(scope.gateway);
  const wantsLabels = match.sourceLabels !== undefined && Object.keys(match.sourceLabels).length > 0;
  if (!wantsLabels && !match.sourceNamespace) return true;
  if (!scope.source) return false;
  const { labels, namespace } = scope.source;
  if (wantsLabels && !Object.entries(match.sourceLabels!).every(([k, v]) => labels[k] === v)) return false;
  return !match.sourceNamespace || match.sourceNamespace === namespace;
}

/** Header names Istio turns into JWT claim matchers on dynamic metadata, which meshlite does not do. */
export function unsupportedHeaderNames(match: HttpMatchRequest): string[] {
  return [...Object.keys(match.headers), ...Object.keys(match.withoutHeaders)].filter((name) => name.startsWith('@'));
}

export function stringMatcher(m: StringMatch): StringMatcher {
  if ('exact' in m) return { exact: m.exact };
  if ('prefix' in m) return { prefix: m.prefix };
  return { safe_regex: { regex: m.regex } };
}

/**
 * Istio reads regex "*" (not valid RE2) as "present with any value"; an empty
 * prefix means the same and Envoy's StringMatcher rejects one.
 */
function isPresenceOnly(m: StringMatch): boolean {
  return ('regex' in m && m.regex === '*') || ('prefix' in m && m.prefix === '');
}

function headerMatcher(name: string, m: StringMatch, inverted = false): HeaderMatcher {
  const out: HeaderMatcher = { name };
  if (isPresenceOnly(m)) out.present_match = true;
  else out.string_match = stringMatcher(m);
  if (inverted) {
    out.invert_match = true;
    // Without this a request lacking the header would not match `withoutHeaders`, which is surely meant to.
    if (!isPresenceOnly(m)) out.treat_missing_header_as_empty = true;
  }
  return out;
}

function queryParameterMatcher(name: string, m: StringMatch): QueryParameterMatcher {
  return isPresenceOnly(m) ? { name, present_match: true } : { name, string_match: stringMatcher(m) };
}

const byKey = <T>(record: Readonly<Record<string, T>>): [string, T][] =>
  Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * `undefined` (an http route without match) matches everything. Header
 * matchers come sorted by name, then `:method`, `:authority`, `:scheme` as
 * Istio orders them. `authority` is matched against `:authority` as sent,
 * which includes the port when the client wrote one (`httpbin:8000`).
 */
export function translateMatch(match: HttpMatchRequest | undefined): TranslatedMatch {
  if (!match) return { match: { prefix: '/' }, pathKind: 'prefix' };
  const out: RouteMatch = {};
  let pathKind: PathKind = 'prefix';
  const uri = match.uri;
  if (!uri) out.prefix = '/';
  else if ('exact' in uri) {
    out.path = uri.exact;
    pathKind = 'path';
  } else if ('prefix' in uri) out.prefix = uri.prefix;
  else {
    // Envoy ignores case_sensitive for safe_regex, so case-insensitivity goes into the pattern.
    out.safe_regex = { regex: match.ignoreUriCase ? `(?i)${uri.regex}` : uri.regex };
    pathKind = 'regex';
  }
  if (match.ignoreUriCase && uri && pathKind !== 'regex') out.case_sensitive = false;

  const headers: HeaderMatcher[] = [
    ...[
      ...byKey(match.headers).map(([n, m]) => headerMatcher(n, m)),
      ...byKey(match.withoutHeaders).map(([n, m]) => headerMatcher(n, m, true)),
    ].sort((a, b) => (String(a.name) < String(b.name) ? -1 : String(a.name) > String(b.name) ? 1 : 0)),
    ...(match.method ? [headerMatcher(':method', match.method)] : []),
    ...(match.authority ? [headerMatcher(':authority', match.authority)] : []),
    ...(match.scheme ? [headerMatcher(':scheme', match.scheme)] : []),
  ];
  if (headers.length > 0) out.headers = headers;
  const query = byKey(match.queryParams).map(([n, m]) => queryParameterMatcher(n, m));
  if (query.length > 0) out.query_parameters = query;
  return { match: out, pathKind };
}

/** A route that every request reaches: later routes in the same list can never match. */
export function isCatchAll(match: RouteMatch): boolean {
  const pathAll = match.prefix === '/' || match.safe_regex?.regex === '.*';
  return pathAll && match.headers === undefined && match.query_parameters === undefined;
}
