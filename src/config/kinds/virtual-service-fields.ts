// VirtualService schema pieces, and the checks shared by its HTTP and L4 routes:
// string matches (with an RE2-aware regex check), header names, destinations,
// weights and gateway names.
import { anything, bool, int, labels, list, mapOf, obj, port, str, type Schema } from '../schema.js';
import type { Destination, HeaderOperations, Headers, StringMatch } from '../types.js';
import { DNS_LABEL, DURATION, hostProblem, type Report } from './common-fields.js';

type Path = (string | number)[];

const STRING_MATCH = obj({ exact: str(), prefix: str(), regex: str() });
const HEADER_OPERATIONS = obj({ set: mapOf(str()), add: mapOf(str()), remove: list(str()) });
const HEADERS = obj({ request: HEADER_OPERATIONS, response: HEADER_OPERATIONS });
const DESTINATION = obj(
  { host: str({ nonEmpty: true }), subset: str({ nonEmpty: true }), port: obj({ number: port() }, { required: ['number'] }) },
  { required: ['host'] },
);
const PERCENT = obj({ value: anything() }, { required: ['value'] });
const GATEWAYS = list(str({ nonEmpty: true }));
const WEIGHT = int(0, 2147483647);
const ROUTE_DESTINATION = obj({ destination: DESTINATION, weight: WEIGHT }, { required: ['destination'] });

/** Istio fields meshlite knows but does not translate; the build refuses them by name. */
const REFUSED = anything();

const HTTP_MATCH = obj({
  name: str(),
  uri: STRING_MATCH,
  scheme: STRING_MATCH,
  method: STRING_MATCH,
  authority: STRING_MATCH,
  headers: mapOf(STRING_MATCH),
  withoutHeaders: mapOf(STRING_MATCH),
  queryParams: mapOf(STRING_MATCH),
  port: port(),
  sourceLabels: labels(),
  sourceNamespace: str(),
  gateways: GATEWAYS,
  ignoreUriCase: bool(),
  statPrefix: REFUSED,
});

const HTTP_ROUTE = obj({
  name: str(),
  match: list(HTTP_MATCH),
  route: list(obj({ destination: DESTINATION, weight: WEIGHT, headers: HEADERS }, { required: ['destination'] })),
  redirect: obj({ uri: str(), authority: str(), port: port(), scheme: str(), redirectCode: int(), derivePort: REFUSED }),
  directResponse: obj({ status: int(), body: obj({ string: str(), bytes: REFUSED }) }, { required: ['status'] }),
  rewrite: obj({ uri: str(), authority: str(), uriRegexRewrite: REFUSED }),
  timeout: DURATION,
  retries: obj({ attempts: int(0), perTryTimeout: DURATION, retryOn: str(), retryRemoteLocalities: REFUSED, backoff: REFUSED }),
  fault: obj({
    delay: obj({ fixedDelay: DURATION, percentage: PERCENT, percent: REFUSED, exponentialDelay: REFUSED }),
    abort: obj({ httpStatus: int(), percentage: PERCENT, grpcStatus: REFUSED, http2Error: REFUSED }),
  }),
  mirror: DESTINATION,
  mirrorPercentage: PERCENT,
  mirrorPercent: REFUSED,
  mirror_percent: REFUSED,
  mirrors: REFUSED,
  headers: HEADERS,
  corsPolicy: REFUSED,
  delegate: REFUSED,
});

const L4_MATCH = { port: port(), destinationSubnets: list(str()), sourceLabels: labels(), gateways: GATEWAYS, sourceNamespace: REFUSED };

export const VIRTUAL_SERVICE_SPEC: Schema = obj(
  {
    hosts: list(str()),
    gateways: GATEWAYS,
    http: list(HTTP_ROUTE),
    tls: list(obj({ match: list(obj({ ...L4_MATCH, sniHosts: list(str()) })), route: list(ROUTE_DESTINATION) })),
    tcp: list(obj({ match: list(obj({ ...L4_MATCH, sourceSubnet: REFUSED })), route: list(ROUTE_DESTINATION) })),
    exportTo: list(str()),
  },
  { required: ['hosts'] },
);

/** Reports every field of `raw` listed in `fields` that is set: meshlite refuses rather than ignores. */
export function refuseFields(
  raw: Record<string, unknown>,
  fields: readonly string[],
  path: Path,
  report: Report,
  why = 'is not supported by meshlite',
): void {
  for (const field of fields) if (raw[field] != null) report([...path, field], `${field} ${why}`);
}

const MATCH_KINDS = ['exact', 'prefix', 'regex'] as const;

/** A StringMatch with exactly one of exact, prefix or regex; a regex must compile. */
export function toStringMatch(
  raw: Record<string, unknown>,
  path: Path,
  report: Report,
  kinds: readonly string[] = MATCH_KINDS,
): StringMatch | undefined {
  const set = MATCH_KINDS.filter((k) => raw[k] != null);
  for (const kind of set) if (!kinds.includes(kind)) report([...path, kind], `${kind} is not supported here; use ${kinds.join(' or ')}`);
  if (set.length === 0) {
    report(path, `needs one of ${kinds.join(', ')}`);
    return undefined;
  }
  if (set.length > 1) report([...path, set[1]!], `${set.join(', ')} are alternatives: set only one`);
  const kind = set[0]!;
  const value = raw[kind] as string;
  if (kind === 'regex') {
    const problem = regexProblem(value);
    if (problem) report([...path, 'regex'], problem);
  }
  return { [kind]: value } as StringMatch;
}

/**
 * Why `re` would not work as an Envoy (RE2) regex, or undefined. Checked by
 * compiling it as a JavaScript RegExp after mapping RE2-only syntax (`(?P<n>`,
 * inline flags, `\A`, `\z`, POSIX classes) to JS, and by refusing what JS has
 * but RE2 lacks (lookaround, backreferences).
 */
export function regexProblem(re: string): string | undefined {
  if (re === '') return 'regex must not be empty';
  if (re.length > 1024) return `regex is too long (${re.length} characters; at most 1024)`;
  let inClass = false;
  for (let i = 0; i < re.length; i++) {
    const c = re[i];
    if (c === '\\') {
      const next = re[i + 1] ?? '';
      if (/[1-9]/.test(next) || (next === 'k' && re[i + 2] === '<'))
        return 'backreferences are not supported by RE2, the regex engine Envoy uses';
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
      if (re[i + 1] === '^') i++;
      if (re[i + 1] === ']') i++;
    } else if (c === '(' && /^\(\?(=|!|<=|<!)/.test(re.slice(i))) {
      return 'lookahead and lookbehind are not supported by RE2, the regex engine Envoy uses';
    }
  }
  const js = re
    .replace(/\(\?P</g, '(?<')
    .replace(/\(\?[imsU]*(-[imsU]+)?\)/g, '')
    .replace(/\(\?[imsU]*(-[imsU]+)?:/g, '(?:')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '$')
    .replace(/\[:\^?[a-z]+:\]/g, 'a');
  try {
    new RegExp(js);
    return undefined;
  } catch (err) {
    const detail = (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    return `invalid regex: ${detail}`;
  }
}

/** RFC 7230 token characters: what an HTTP header name may contain. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PSEUDO_HEADERS = [':authority', ':method', ':path', ':scheme'];

/** Why `name` cannot be matched on as a request header, or undefined (Istio wants lower-case names). */
export function headerMatchNameProblem(name: string): string | undefined {
  if (PSEUDO_HEADERS.includes(name)) return undefined;
  if (name.startsWith('@request.auth.claims')) return 'routing on JWT claims (@request.auth.claims) is not supported by meshlite';
  return (
    headerNameProblem(name) ?? (name !== name.toLowerCase() ? `header names must be lower-case; use "${name.toLowerCase()}"` : undefined)
  );
}

function headerNameProblem(name: string): string | undefined {
  if (name === '') return 'header name must not be empty';
  if (!HEADER_NAME.test(name)) return `invalid header name ${JSON.stringify(name)}: header names are letters, digits and !#$%&'*+-.^_\`|~`;
  return undefined;
}

/** Header operations; request set/add may target the authority (`:authority` or `host`). */
export function toHeaders(raw: Record<string, unknown> | undefined, path: Path, report: Report): Headers | undefined {
  if (!raw) return undefined;
  const side = (key: 'request' | 'response'): HeaderOperations | undefined => {
    const ops = raw[key] as Record<string, unknown> | undefined;
    if (!ops) return undefined;
    const where = [...path, key];
    const set = { ...((ops.set as Record<string, string> | undefined) ?? {}) };
    const add = { ...((ops.add as Record<string, string> | undefined) ?? {}) };
    const remove = [...((ops.remove as string[] | undefined) ?? [])];
    const check = (name: string, at: Path, canSetAuthority: boolean) => {
      const lower = name.toLowerCase();
      if (canSetAuthority && (lower === ':authority' || lower === 'host')) return;
      if (name.startsWith(':') || lower === 'host') return report(at, `header "${name}" cannot be changed here`);
      const problem = headerNameProblem(name);
      if (problem) report(at, problem);
    };
    for (const name of Object.keys(set)) check(name, [...where, 'set', name], key === 'request');
    for (const name of Object.keys(add)) check(name, [...where, 'add', name], key === 'request');
    remove.forEach((name, i) => check(name, [...where, 'remove', i], false));
    return { set, add, remove };
  };
  return { request: side('request'), response: side('response') };
}

/** The authority a rule's request header operations set, if any (and where). */
export function authorityHeaderPath(headers: Headers | undefined, path: Path): Path | undefined {
  for (const op of ['set', 'add'] as const) {
    const name = Object.keys(headers?.request?.[op] ?? {}).find((n) => n.toLowerCase() === ':authority' || n.toLowerCase() === 'host');
    if (name !== undefined) return [...path, 'request', op, name];
  }
  return undefined;
}

export function toDestination(raw: Record<string, unknown>, path: Path, report: Report): Destination {
  const host = raw.host as string;
  const problem =
    host === '*' ? 'a destination needs a service host, not "*"' : hostProblem(host, { shortNames: true, star: false, ip: false });
  if (problem) report([...path, 'host'], problem);
  const subset = raw.subset as string | undefined;
  if (subset !== undefined && !DNS_LABEL.test(subset)) report([...path, 'subset'], `invalid subset name "${subset}": expected a DNS label`);
  const portNumber = (raw.port as { number?: number } | undefined)?.number;
  return { host, subset, port: portNumber };
}

/**
 * Istio's weights are relative: a destination gets weight/sum of the traffic;
 * one destination gets everything. With several, a missing weight means 0, so
 * meshlite wants every weight written, and a positive sum.
 */
export function checkWeights(routes: readonly { weight?: number }[], path: Path, report: Report): void {
  if (routes.length < 2) return;
  let missing = false;
  routes.forEach((r, i) => {
    if (r.weight !== undefined) return;
    missing = true;
    report([...path, i], 'weight is required when a rule has several destinations (Istio reads a missing weight as 0: no traffic)');
  });
  if (!missing && routes.every((r) => r.weight === 0)) report(path, 'the destination weights add up to 0; at least one must be positive');
}

/** Gateway names as written (`name`, `ns/name`, `mesh`), qualified to `ns/name` or `mesh`. */
export function qualifyGateways(raw: readonly string[], namespace: string, path: Path, report: Report): string[] {
  const out: string[] = [];
  raw.forEach((name, i) => {
    const qualified = name === 'mesh' ? name : name.includes('/') ? name : `${namespace}/${name}`;
    const [ns = '', gw = '', extra] = qualified.split('/');
    if (name !== 'mesh' && (extra !== undefined || !DNS_LABEL.test(ns) || !DNS_LABEL.test(gw))) {
      const hint =
        !name.includes('/') && name.includes('.') ? '; the legacy "name.namespace..." form is not read, write "<namespace>/<name>"' : '';
      report([...path, i], `invalid gateway "${name}": expected "mesh", "<name>" or "<namespace>/<name>"${hint}`);
    } else if (out.includes(qualified)) {
      report([...path, i], `gateway "${qualified}" is listed twice`);
    }
    out.push(qualified);
  });
  return out;
}
