// Which virtual host and route of a RouteConfiguration a request takes, the
// way Envoy picks them: domains exact first, then the longest `*.suffix`, then
// the longest `prefix.*`, then `*`; inside the virtual host the first route
// whose match holds. The typed per-filter config a request gets follows from
// that choice.
import { arr, type JsonObject, obj, str } from './dump-index.js';

export interface RequestLine {
  authority: string;
  path: string;
  method: string;
  headers: Readonly<Record<string, string>>;
}

/** `vhost`: the virtual host the request took, also when no route of it was chosen. */
export type RouteChoice =
  | { kind: 'route'; virtualHost: string; vhost: JsonObject; route: JsonObject }
  | { kind: 'none'; why: string; vhost?: JsonObject }
  | { kind: 'unknown'; why: string; vhost: JsonObject };

export function chooseRoute(routeConfig: JsonObject, request: RequestLine): RouteChoice {
  const vhost = chooseVirtualHost(arr(routeConfig.virtual_hosts).map(obj), request.authority.toLowerCase());
  if (!vhost) return { kind: 'none', why: `no virtual host of route ${str(routeConfig.name)} serves ${request.authority}` };
  const name = str(vhost.name) ?? '';
  for (const route of arr(vhost.routes).map(obj)) {
    const matched = routeMatches(obj(route.match), request);
    if (matched === 'unknown')
      return { kind: 'unknown', vhost, why: `route ${str(route.name) ?? '(unnamed)'} of ${name} matches on something not predicted here` };
    if (matched) return { kind: 'route', virtualHost: name, vhost, route };
  }
  return { kind: 'none', vhost, why: `no route of virtual host ${name} matches ${request.path}` };
}

/**
 * The typed per-filter config of a chosen route: the route configuration's
 * entries overlaid by the virtual host's, then by the route's. Without a
 * chosen route the virtual host's entries still apply (meshlite keeps HTTP
 * access policies there).
 */
export function perFilterConfigOf(routeConfig: JsonObject, choice: RouteChoice): Record<string, unknown> {
  const levels = [routeConfig, choice.vhost, choice.kind === 'route' ? choice.route : undefined];
  return Object.assign({}, ...levels.map((level) => obj(level?.typed_per_filter_config)));
}

/** The per-filter config a request to `host` and `path` gets (method and headers as given, else GET and none). */
export function perFilterConfigFor(
  routeConfig: JsonObject,
  host: string,
  path: string,
  more: { method?: string; headers?: Readonly<Record<string, string>> } = {},
): Record<string, unknown> {
  const request = { authority: host, path, method: more.method ?? 'GET', headers: more.headers ?? {} };
  return perFilterConfigOf(routeConfig, chooseRoute(routeConfig, request));
}

function chooseVirtualHost(vhosts: JsonObject[], authority: string): JsonObject | undefined {
  const withDomains = vhosts.map((v) => ({ v, domains: arr(v.domains).map((d) => String(d).toLowerCase()) }));
  const exact = withDomains.find((x) => x.domains.includes(authority));
  if (exact) return exact.v;
  let best: { v: JsonObject; score: number } | undefined;
  for (const { v, domains } of withDomains) {
    for (const d of domains) {
      let score = -1;
      if (d === '*') score = 0;
      else if (d.startsWith('*') && authority.endsWith(d.slice(1)) && authority.length > d.length - 1) score = 2_000 + d.length;
      else if (d.endsWith('*') && authority.startsWith(d.slice(0, -1)) && authority.length > d.length - 1) score = 1_000 + d.length;
      if (score >= 0 && (!best || score > best.score)) best = { v, score };
    }
  }
  return best?.v;
}

function routeMatches(match: JsonObject, request: RequestLine): boolean | 'unknown' {
  const path = request.path.split('?')[0] ?? '';
  const caseSensitive = match.case_sensitive !== false;
  const norm = (s: string) => (caseSensitive ? s : s.toLowerCase());
  let pathOk: boolean | 'unknown';
  if (typeof match.prefix === 'string') pathOk = norm(path).startsWith(norm(match.prefix));
  else if (typeof match.path === 'string') pathOk = norm(path) === norm(match.path);
  else if (typeof match.path_separated_prefix === 'string') {
    const p = norm(match.path_separated_prefix);
    pathOk = norm(path) === p || norm(path).startsWith(`${p}/`);
  } else if (match.safe_regex) {
    const regex = str(obj(match.safe_regex).regex);
    pathOk = regex === undefined ? 'unknown' : safeRegexFull(regex, path);
  } else pathOk = 'unknown';
  if (pathOk !== true) return pathOk;
  if (arr(match.query_parameters).length > 0) return 'unknown';
  for (const header of arr(match.headers).map(obj)) {
    const ok = headerMatches(header, request);
    if (ok !== true) return ok;
  }
  return true;
}

function headerMatches(matcher: JsonObject, request: RequestLine): boolean | 'unknown' {
  const name = (str(matcher.name) ?? '').toLowerCase();
  const value =
    name === ':method'
      ? request.method
      : name === ':authority'
        ? request.authority
        : name === ':path'
          ? request.path
          : request.headers[name];
  let result: boolean | 'unknown';
  if (matcher.present_match !== undefined) result = (value !== undefined) === (matcher.present_match === true);
  else if (value === undefined) result = matcher.treat_missing_header_as_empty === true ? 'unknown' : false;
  else if (typeof matcher.exact_match === 'string') result = value === matcher.exact_match;
  else if (matcher.string_match) {
    const sm = obj(matcher.string_match);
    if (typeof sm.exact === 'string') result = value === sm.exact;
    else if (typeof sm.prefix === 'string') result = value.startsWith(sm.prefix);
    else if (typeof sm.suffix === 'string') result = value.endsWith(sm.suffix);
    else if (typeof sm.contains === 'string') result = value.includes(sm.contains);
    else if (sm.safe_regex) result = safeRegexFull(str(obj(sm.safe_regex).regex) ?? '', value);
    else result = 'unknown';
  } else result = 'unknown';
  if (result === 'unknown') return result;
  return matcher.invert_match === true ? !result : result;
}

/** RE2 full match, approximated by a JavaScript regex; a pattern JavaScript cannot read is unpredictable. */
function safeRegexFull(regex: string, value: string): boolean | 'unknown' {
  try {
    return new RegExp(`^(?:${regex})$`).test(value);
  } catch {
    return 'unknown';
  }
}
