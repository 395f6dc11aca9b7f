// One Envoy RBAC permission or principal (config_dump JSON) against the facts
// of one request or connection, the way Envoy's RBAC engine matches it.
// A matcher kind this module does not know throws CannotEvaluate.
import { isIP } from 'node:net';
import type { RequestFacts } from './request-facts.js';
import { CannotEvaluate, isObj, listField, matchHeaderSpecifier, matchString, type Obj, objField } from './string-matcher.js';

export type Side = 'permission' | 'principal';

const NAMES = {
  permission: { and: 'and_rules', or: 'or_rules', not: 'not_rule', list: 'rules' },
  principal: { and: 'and_ids', or: 'or_ids', not: 'not_id', list: 'ids' },
} as const;

/** Envoy's jwt_authn filter and the metadata key meshlite has it write the verified payload under. */
const JWT_FILTER = 'envoy.filters.http.jwt_authn';
const JWT_PAYLOAD_KEY = 'payload';

/** Dynamic metadata the RBAC engine can read: the JWT payload and what earlier filters wrote. */
export type FilterMetadata = Record<string, Record<string, unknown>>;

export interface MatchInput {
  facts: RequestFacts;
  /** false on a network (TCP) filter: there are no request headers. */
  http: boolean;
  metadata: FilterMetadata;
}

export function matches(side: Side, m: unknown, input: MatchInput, where: string): boolean {
  if (!isObj(m)) throw new CannotEvaluate(`${where}: ${side} is not an object`);
  const keys = Object.keys(m);
  if (keys.length !== 1) throw new CannotEvaluate(`${where}: ${side} with fields ${keys.join(', ') || '(none)'}`);
  const kind = keys[0]!;
  const names = NAMES[side];
  const here = `${where} ${kind}`;
  const facts = input.facts;
  const list = () => listField(objField(m, kind, here), names.list, here);
  switch (kind) {
    case names.and:
      return list().every((x) => matches(side, x, input, here));
    case names.or:
      return list().some((x) => matches(side, x, input, here));
    case names.not:
      return !matches(side, m[kind], input, here);
    case 'any':
      return m.any === true;
    case 'header':
      return input.http && matchHeader(objField(m, kind, here), facts, here);
    case 'url_path':
      return input.http && matchUrlPath(objField(m, kind, here), facts, here);
    case 'metadata':
      return matchMetadata(objField(m, kind, here), input.metadata, here);
  }
  if (side === 'principal') {
    switch (kind) {
      case 'authenticated':
        return matchAuthenticated(objField(m, kind, here), facts, here);
      case 'direct_remote_ip':
      case 'remote_ip':
      case 'source_ip':
        return inCidr(facts.sourceIp, objField(m, kind, here), here);
    }
  } else {
    switch (kind) {
      case 'destination_ip':
        return inCidr(facts.destinationIp, objField(m, kind, here), here);
      case 'destination_port':
        return facts.destinationPort === Number(m[kind]);
      case 'destination_port_range': {
        const r = objField(m, kind, here);
        return facts.destinationPort >= Number(r.start ?? 0) && facts.destinationPort < Number(r.end ?? 0);
      }
      case 'requested_server_name':
        return matchString(m[kind], facts.serverName ?? '', here);
      case 'uri_template':
        return input.http && matchUriTemplate(objField(m, kind, here), facts, here);
    }
  }
  throw new CannotEvaluate(`${where}: unknown ${side} matcher "${kind}"`);
}

/** The certificate's URI SAN; without a client certificate nothing authenticated matches. */
function matchAuthenticated(a: Obj, facts: RequestFacts, where: string): boolean {
  if (facts.peerPrincipal === undefined) return false;
  if (a.principal_name === undefined) return true;
  return matchString(a.principal_name, facts.peerPrincipal, where);
}

/** Envoy's path without query and fragment. */
export function pathOnly(path: string): string {
  const cut = path.search(/[?#]/);
  return cut < 0 ? path : path.slice(0, cut);
}

function matchUrlPath(u: Obj, facts: RequestFacts, where: string): boolean {
  if (u.ignore_case !== undefined) throw new CannotEvaluate(`${where}: unexpected ignore_case`);
  return matchString(u.path, pathOnly(facts.path ?? '/'), where);
}

/** A request header as Envoy sees it: pseudo headers from the request line, the rest by lower-case name. */
export function headerValue(facts: RequestFacts, name: string): string | undefined {
  switch (name.toLowerCase()) {
    case ':method':
      return facts.method ?? 'GET';
    case ':path':
      return facts.path ?? '/';
    case ':authority':
      return facts.host ?? facts.headers?.host;
    case 'host':
      return undefined;
    default:
      return facts.headers?.[name.toLowerCase()];
  }
}

function matchHeader(h: Obj, facts: RequestFacts, where: string): boolean {
  if (typeof h.name !== 'string') throw new CannotEvaluate(`${where}: header without a name`);
  const invert = h.invert_match === true;
  const kinds = Object.keys(h).filter((k) => !['name', 'invert_match', 'treat_missing_header_as_empty'].includes(k));
  if (kinds.length > 1) throw new CannotEvaluate(`${where}: header matcher with fields ${kinds.join(', ')}`);
  // A HeaderMatcher with no value form is a presence check.
  const kind = kinds[0] ?? 'present_match';
  const present = kinds.length === 0 ? true : h.present_match === true;
  let value = headerValue(facts, h.name);
  if (value === undefined && h.treat_missing_header_as_empty === true) value = '';
  // Envoy: a missing header matches only a presence check that expects absence (inverted or not).
  if (value === undefined) return kind === 'present_match' && present === invert;
  const matched = kind === 'present_match' ? present : matchHeaderSpecifier(kind, h, value, where);
  return matched !== invert;
}

export function matchMetadata(m: Obj, metadata: FilterMetadata, where: string): boolean {
  if (typeof m.filter !== 'string') throw new CannotEvaluate(`${where}: metadata without a filter`);
  const path = listField(m, 'path', where).map((seg) => {
    if (!isObj(seg) || typeof seg.key !== 'string') throw new CannotEvaluate(`${where}: metadata path segment without a key`);
    return seg.key;
  });
  let value: unknown = metadata[m.filter];
  for (const key of path) value = isObj(value) ? value[key] : undefined;
  const matched = matchValue(objField(m, 'value', where), value, where);
  return m.invert === true ? !matched : matched;
}

/** Envoy ValueMatcher on a metadata value (JSON as protobuf Struct). */
export function matchValue(v: Obj, value: unknown, where: string): boolean {
  const kinds = Object.keys(v);
  if (kinds.length !== 1) throw new CannotEvaluate(`${where}: value matcher with fields ${kinds.join(', ')}`);
  const kind = kinds[0]!;
  switch (kind) {
    case 'present_match':
      return (value !== undefined) === (v.present_match === true);
    case 'null_match':
      return value === null;
    case 'string_match':
      return typeof value === 'string' && matchString(v.string_match, value, where);
    case 'bool_match':
      return typeof value === 'boolean' && value === v.bool_match;
    case 'double_match': {
      if (typeof value !== 'number') return false;
      const d = objField(v, kind, where);
      if (d.exact !== undefined) return value === Number(d.exact);
      const r = objField(d, 'range', where);
      return value >= Number(r.start ?? -Infinity) && value < Number(r.end ?? Infinity);
    }
    case 'list_match': {
      const oneOf = objField(objField(v, kind, where), 'one_of', where);
      return Array.isArray(value) && value.some((item) => matchValue(oneOf, item, where));
    }
    default:
      throw new CannotEvaluate(`${where}: unknown value matcher "${kind}"`);
  }
}

/** The value tree of the jwt_authn filter for a verified payload, as its payload_in_metadata writes it. */
export function jwtMetadata(payload: Record<string, unknown> | undefined): FilterMetadata {
  return payload ? { [JWT_FILTER]: { [JWT_PAYLOAD_KEY]: payload } } : {};
}

function addressBits(address: string): { family: number; bits: bigint } | undefined {
  const family = isIP(address);
  if (family === 4) {
    return { family, bits: address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n) };
  }
  if (family !== 6) return undefined;
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = addressBits(v4[1]!)!.bits;
    text = `${text.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parts = (s: string | undefined) => (s ? s.split(':') : []);
  const groups =
    tail === undefined ? parts(head) : [...parts(head), ...Array(8 - parts(head).length - parts(tail).length).fill('0'), ...parts(tail)];
  return { family, bits: groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n) };
}

function inCidr(address: string | undefined, range: Obj, where: string): boolean {
  if (typeof range.address_prefix !== 'string') throw new CannotEvaluate(`${where}: CIDR without address_prefix`);
  const prefix = addressBits(range.address_prefix);
  if (!prefix) throw new CannotEvaluate(`${where}: CIDR address "${range.address_prefix}" is not an IP`);
  const len = Number(range.prefix_len ?? 0);
  const target = address === undefined ? undefined : addressBits(address);
  if (!target || target.family !== prefix.family) return false;
  const width = prefix.family === 4 ? 32n : 128n;
  const shift = width - BigInt(len);
  return target.bits >> shift === prefix.bits >> shift;
}

const URI_TEMPLATE_TYPE = 'type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig';
// The characters a path segment may hold (RFC 3986 pchar without `*`), which is what Envoy's `*` and `**` take.
const PCHAR = "a-zA-Z0-9\\-._~%!$&'()+,;:@=";

/** Envoy's path template (`*` one segment, `**` any rest, `{name}` captures) as a regex over the path. */
export function uriTemplateRegex(template: string, where: string): RegExp {
  let out = '';
  for (const token of template.match(/\*\*|\*|\{[^}]*\}|[^*{]+/g) ?? []) {
    if (token === '**') out += `[${PCHAR}/]*`;
    else if (token === '*') out += `[${PCHAR}]+`;
    else if (token.startsWith('{')) {
      const inner = token.slice(1, -1).split('=')[1];
      if (inner !== undefined && inner !== '*' && inner !== '**') throw new CannotEvaluate(`${where}: template variable "${token}"`);
      out += inner === '**' ? `[${PCHAR}/]*` : `[${PCHAR}]+`;
    } else out += token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

function matchUriTemplate(t: Obj, facts: RequestFacts, where: string): boolean {
  const config = objField(t, 'typed_config', where);
  if (config['@type'] !== URI_TEMPLATE_TYPE || typeof config.path_template !== 'string') {
    throw new CannotEvaluate(`${where}: uri_template of type ${String(config['@type'])}`);
  }
  return uriTemplateRegex(config.path_template, where).test(pathOnly(facts.path ?? '/'));
}
