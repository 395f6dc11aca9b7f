// Per-field Envoy RBAC matchers (principals and permissions) for the values
// of an AuthorizationPolicy source, operation or condition. Each builder
// returns the matcher, or a string explaining why it cannot be translated
// (the caller decides whether that drops the rule or only the field).
import { JWT_AUTHN_FILTER_NAME, JWT_PAYLOAD_METADATA_KEY } from './jwt-authn.js';
import { isIP } from 'node:net';
import { typed } from './common.js';
import { TYPE } from './type-urls.js';
import type { CidrRange, Permission, Principal, StringMatcher, ValueMatcher } from './envoy-types/index.js';

export type Untranslatable = { reason: string };
/** What one value becomes: a principal or a permission (by the field it came from), some valid as both. */
export type Built = Principal | Permission | Untranslatable;
export const isUntranslatable = <T extends object>(b: T | Untranslatable): b is Untranslatable =>
  typeof (b as Untranslatable).reason === 'string' && Object.keys(b).length === 1;

/** The jwt_authn filter writes the verified payload under this key (its providers' `payload_in_metadata`). */
// The jwt_authn filter writes the verified payload under this metadata key; RBAC reads it there.
const JWT_FILTER = JWT_AUTHN_FILTER_NAME;
const JWT_PAYLOAD_KEY = JWT_PAYLOAD_METADATA_KEY;

/** RE2 escaping for literal text inside a safe_regex. */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Istio value forms: `*` (present), `prefix*`, `*suffix`, else exact. */
export function stringMatch(value: string, ignoreCase = false): StringMatcher {
  const ic: StringMatcher = ignoreCase ? { ignore_case: true } : {};
  if (value === '*') return { safe_regex: { regex: '.+' } };
  if (value.endsWith('*')) return { prefix: value.slice(0, -1), ...ic };
  if (value.startsWith('*')) return { suffix: value.slice(1), ...ic };
  return { exact: value, ...ic };
}

// ---- principals ----------------------------------------------------------

const authenticated = (m: StringMatcher): Principal => ({ authenticated: { principal_name: m } });

/**
 * `td/ns/x/sa/y` -> URI SAN `spiffe://td/ns/x/sa/y`. A principal in one of the
 * mesh's trust domains (the local one or an alias) matches it in each of them.
 */
export function principalIds(value: string, trustDomains: readonly string[]): Principal[] {
  if (value === '*') return [authenticated({ safe_regex: { regex: '.+' } })];
  if (value.startsWith('*')) return [authenticated({ suffix: value.slice(1) })];
  const slash = value.indexOf('/');
  const td = slash > 0 ? value.slice(0, slash) : undefined;
  const variants = td !== undefined && trustDomains.includes(td) ? trustDomains.map((d) => d + value.slice(slash)) : [value];
  return variants.map((v) => authenticated(v.endsWith('*') ? { prefix: `spiffe://${v.slice(0, -1)}` } : { exact: `spiffe://${v}` }));
}

/** Namespaces match the `/ns/<ns>/` segment of the peer's SPIFFE ID. */
export function namespaceId(value: string): Principal {
  let ns: string;
  if (value === '*') ns = '[^/]+';
  else if (value.endsWith('*')) ns = `${escapeRegex(value.slice(0, -1))}[^/]*`;
  else if (value.startsWith('*')) ns = `[^/]*${escapeRegex(value.slice(1))}`;
  else ns = escapeRegex(value);
  return authenticated({ safe_regex: { regex: `.*/ns/${ns}/.*` } });
}

/** `10.0.0.0/8` or a bare address (/32, /128 for IPv6) -> CidrRange. */
export function cidrRange(value: string): CidrRange | Untranslatable {
  const [address, len, extra] = value.split('/');
  const family = isIP(address ?? '');
  const max = family === 6 ? 128 : 32;
  if (!family || extra !== undefined) return { reason: `invalid IP block "${value}"` };
  if (len === undefined) return { address_prefix: address!, prefix_len: max };
  if (!/^\d+$/.test(len) || Number(len) > max) return { reason: `invalid IP block "${value}"` };
  return { address_prefix: address!, prefix_len: Number(len) };
}

const metadata = (path: readonly string[], value: ValueMatcher): Principal & Permission => ({
  metadata: { filter: JWT_FILTER, path: [JWT_PAYLOAD_KEY, ...path].map((key) => ({ key })), value },
});

/** Claim (path into the JWT payload) equal to a string, or a list claim containing it. */
export function claimIds(path: readonly string[], value: string): (Principal & Permission)[] {
  if (value === '*') return [metadata(path, { present_match: true })];
  const m = stringMatch(value);
  return [metadata(path, { string_match: m }), metadata(path, { list_match: { one_of: { string_match: m } } })];
}

const ANY: StringMatcher = { safe_regex: { regex: '.+' } };

/**
 * Request principal `iss/sub`, split at the last `/` (issuers are often URLs),
 * as Istio matches it: both claims of the verified payload, each exact unless
 * a `*` says otherwise. A leading `*` makes the issuer a suffix (the subject
 * stays exact); a trailing `*` makes the subject a prefix (the issuer stays
 * exact). Without a `/`, `x*` is an issuer prefix with any subject, `*x` a
 * subject suffix with any issuer, and a plain `x` means issuer `x` with an
 * empty subject, which no real token has. `*` alone: any issuer and subject.
 */
export function requestPrincipalId(value: string): Principal {
  const slash = value.lastIndexOf('/');
  const found = slash >= 0;
  const iss = found ? value.slice(0, slash) : value;
  const sub = found ? value.slice(slash + 1) : '';
  let matchIss: StringMatcher;
  let matchSub: StringMatcher;
  if (value === '*') [matchIss, matchSub] = [ANY, ANY];
  else if (value.startsWith('*')) {
    [matchIss, matchSub] = found ? [iss === '*' ? ANY : { suffix: iss.slice(1) }, { exact: sub }] : [ANY, { suffix: value.slice(1) }];
  } else if (value.endsWith('*')) {
    [matchIss, matchSub] = found
      ? [{ exact: iss }, sub === '*' ? ANY : { prefix: sub.slice(0, -1) }]
      : [{ prefix: value.slice(0, -1) }, ANY];
  } else [matchIss, matchSub] = [{ exact: iss }, { exact: sub }];
  return { and_ids: { ids: [metadata(['iss'], { string_match: matchIss }), metadata(['sub'], { string_match: matchSub })] } };
}

/**
 * `<ns>/<sa>` -> the peer's SPIFFE ID `spiffe://<td>/ns/<ns>/sa/<sa>`, exact,
 * in each of the mesh's trust domains (the local one and its aliases).
 */
export function serviceAccountIds(value: string, trustDomains: readonly string[]): Principal[] {
  const [ns, sa] = value.split('/');
  return trustDomains.map((td) => authenticated({ exact: `spiffe://${td}/ns/${ns}/sa/${sa}` }));
}

// ---- permissions ---------------------------------------------------------

const header = (name: string, m: StringMatcher): Principal & Permission => ({ header: { name, string_match: m } });

/** Header value match; `*` is presence. */
export function headerMatcher(name: string, value: string): Principal & Permission {
  return value === '*' ? { header: { name, present_match: true } } : header(name, stringMatch(value));
}

/**
 * Hosts compare `:authority` ignoring case, with or without a `:port`
 * (so `Secret.com:80` cannot dodge a rule on `secret.com`).
 */
export function hostRules(value: string): Permission[] {
  const h = (m: StringMatcher) => header(':authority', m);
  if (value === '*') return [{ header: { name: ':authority', present_match: true } }];
  if (value.endsWith('*')) return [h({ prefix: value.slice(0, -1), ignore_case: true })];
  if (value.startsWith('*')) {
    return [h({ suffix: value.slice(1), ignore_case: true }), h({ safe_regex: { regex: `(?i).*${escapeRegex(value.slice(1))}:[0-9]+` } })];
  }
  return [h({ exact: value, ignore_case: true }), h({ prefix: `${value}:`, ignore_case: true })];
}

const PARAMS = '(;[^/]*)?';

/**
 * A path value as Istio matches it, plus the same path with `;parameters` on
 * any segment (`/admin;x`, `/api;v=1/admin`): many servers drop path
 * parameters before routing, so without this a DENY on `/admin` would not
 * cover what the app serves as `/admin`.
 */
export function pathRules(value: string): (Principal & Permission)[] {
  const plain: Principal & Permission = { url_path: { path: stringMatch(value) } };
  if (value === '*') return [plain];
  const prefix = value.endsWith('*');
  const suffix = !prefix && value.startsWith('*');
  const body = prefix ? value.slice(0, -1) : suffix ? value.slice(1) : value;
  const segments = body.split('/');
  const regex = segments
    .map((segment, i) => {
      const partialLast = prefix && i === segments.length - 1;
      const leadingEmpty = i === 0 && segment === '' && !suffix;
      return escapeRegex(segment) + (partialLast || leadingEmpty ? '' : PARAMS);
    })
    .join('/');
  return [plain, { url_path: { path: { safe_regex: { regex: `${suffix ? '.*' : ''}${regex}${prefix ? '.*' : ''}` } } } }];
}

const URI_TEMPLATE_EXTENSION = 'envoy.path.match.uri_template.uri_template_matcher';

export const isPathTemplate = (value: string): boolean => value.includes('{*}') || value.includes('{**}');

/**
 * A path template (`{*}` one segment, `{**}` the rest; validated by the
 * loader) -> Envoy's URI template matcher, whose spelling of the same
 * operators is `*` and `**`. Like pathRules, a second matcher also takes the
 * path with `;parameters` on a literal segment.
 */
export function pathTemplateRules(value: string): Permission[] {
  const template: Permission = {
    uri_template: {
      name: URI_TEMPLATE_EXTENSION,
      typed_config: typed(TYPE.uriTemplateMatch, { path_template: value.replaceAll('{**}', '**').replaceAll('{*}', '*') }),
    },
  };
  const regex = value
    .split('/')
    .map((segment, i) => (segment === '{*}' ? '[^/]+' : segment === '{**}' ? '.*' : escapeRegex(segment) + (i === 0 ? '' : PARAMS)))
    .join('/');
  return [template, { url_path: { path: { safe_regex: { regex } } } }];
}

/**
 * A condition on another filter's dynamic metadata (`<filter>[<key>]`): the
 * value `v` is a string value of that key, `[v]` a list value containing v.
 * Either form takes the usual `*`, `x*` and `*x`.
 */
export function filterMetadataIds(filter: string, key: string, value: string): Permission {
  const list = value.startsWith('[') && value.endsWith(']');
  const m = stringMatch(list ? value.slice(1, -1) : value);
  const matcher: ValueMatcher = list ? { list_match: { one_of: { string_match: m } } } : { string_match: m };
  return { metadata: { filter, path: [{ key }], value: matcher } };
}

export function portNumber(value: string): number | Untranslatable {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  return n >= 0 && n <= 65535 ? n : { reason: `invalid port "${value}"` };
}
