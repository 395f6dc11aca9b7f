// Which virtual host and route of a RouteConfiguration a request takes, the
// way Envoy picks them: domains exact first, then the longest `*.suffix`, then
// the longest `prefix.*`, then `*`; inside the virtual host the first route
// whose match holds.
import { arr, type JsonObject, obj, str } from './dump-index.js';

export interface RequestLine {
  authority: string;
  path: string;
  method: string;
  headers: Readonly<Record<string, string>>;
}

export type RouteChoice =
  | { kind: 'route'; virtualHost: string; route: JsonObject }
  | { kind: 'none'; why: string }
  | { kind: 'unknown'; why: string };

export function chooseRoute(routeConfig: JsonObject, request: RequestLine): RouteChoice {
  const vhost = chooseVirtualHost(arr(routeConfig.virtual_hosts).map(obj), request.authority.toLowerCase());
  if (!vhost) return { kind: 'none', why: `no virtual host of route ${str(routeConfig.name)} serves ${request.authority}` };
  const name = str(vhost.name) ?? '';
  for (const route of arr(vhost.routes).map(obj)) {
    const matched = routeMatches(obj(route.match), request);
    if (matched === 'unknown')
      return { kind: 'unknown', why: `route ${str(route.name) ?? '(unnamed)'} of ${name} matches on something not predicted here` };
    if (matched) return { kind: 'route', virtualHost: name, route };
  }
  return { kind: 'none', why: `no route of virtual host ${name} matches ${request.path}` };
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
