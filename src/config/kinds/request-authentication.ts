// security.istio.io RequestAuthentication (JWT end-user authentication).
import type { JwtRule } from '../authz-types.js';
import { bool, list, obj, str, type Schema } from '../schema.js';
import { DURATION, durationMillis, toLabels, WORKLOAD_SELECTOR } from './common-fields.js';
import type { BuildContext, KindHandler } from './kind-handler.js';

const HEADER_NAME = str({ pattern: /^[a-z0-9!#$%&'*+.^_`|~-]+$/, hint: 'expected a lower-case HTTP header name' });
// Istio's rule for claim headers: letters, digits, '-' and '_' (any case; HTTP
// header names are case-insensitive, so meshlite lower-cases them for Envoy).
const CLAIM_HEADER_NAME = str({ pattern: /^[-_A-Za-z0-9]+$/, hint: 'expected a header name of letters, digits, "-" and "_"' });
// Headers Envoy owns or that would change where the request goes.
const RESERVED_CLAIM_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'te', 'upgrade']);
/** Istio's default for fetching a jwksUri. */
export const DEFAULT_JWKS_FETCH_TIMEOUT = '5s';

const JWT_RULE: Schema = obj(
  {
    issuer: str({ nonEmpty: true }),
    audiences: list(str()),
    jwksUri: str({ pattern: /^https?:\/\/\S+$/, hint: 'expected an http:// or https:// URL' }),
    jwks: str({ nonEmpty: true }),
    fromHeaders: list(obj({ name: HEADER_NAME, prefix: str() }, { required: ['name'] })),
    fromParams: list(str({ nonEmpty: true })),
    fromCookies: list(str({ nonEmpty: true })),
    outputPayloadToHeader: HEADER_NAME,
    outputClaimToHeaders: list(obj({ header: CLAIM_HEADER_NAME, claim: str({ nonEmpty: true }) }, { required: ['header', 'claim'] })),
    forwardOriginalToken: bool(),
    timeout: DURATION,
  },
  { required: ['issuer'] },
);

function toJwtRule(raw: Record<string, unknown>, path: (string | number)[], ctx: BuildContext): JwtRule {
  const rule: JwtRule = {
    issuer: raw.issuer as string,
    audiences: [...((raw.audiences as string[] | undefined) ?? [])],
    jwksUri: raw.jwksUri as string | undefined,
    jwks: raw.jwks as string | undefined,
    fromHeaders: ((raw.fromHeaders ?? []) as { name: string; prefix?: string }[]).map((h) => ({ name: h.name, prefix: h.prefix })),
    fromParams: [...((raw.fromParams as string[] | undefined) ?? [])],
    fromCookies: [...((raw.fromCookies as string[] | undefined) ?? [])],
    outputPayloadToHeader: raw.outputPayloadToHeader as string | undefined,
    outputClaimToHeaders: ((raw.outputClaimToHeaders ?? []) as { header: string; claim: string }[]).map((c) => ({
      header: c.header.toLowerCase(),
      claim: c.claim,
    })),
    forwardOriginalToken: raw.forwardOriginalToken === true,
    timeout: raw.timeout as string | undefined,
  };
  if (rule.timeout !== undefined && durationMillis(rule.timeout) <= 0) ctx.report([...path, 'timeout'], 'must be greater than zero');
  const claimHeaders = new Set<string>();
  rule.outputClaimToHeaders.forEach((c, i) => {
    const at = [...path, 'outputClaimToHeaders', i];
    if (RESERVED_CLAIM_HEADERS.has(c.header)) ctx.report([...at, 'header'], `"${c.header}" cannot carry a claim`);
    if (claimHeaders.has(c.header)) ctx.report([...at, 'header'], `header "${c.header}" is written twice`);
    if (c.claim.startsWith('.') || c.claim.endsWith('.') || c.claim.includes('..'))
      ctx.report([...at, 'claim'], 'a nested claim is written "outer.inner" with no empty part');
    claimHeaders.add(c.header);
  });
  if (rule.jwks && rule.jwksUri) ctx.report([...path, 'jwks'], 'give jwks or jwksUri, not both');
  if (!rule.jwks && !rule.jwksUri) ctx.report(path, 'a JWT rule needs jwks (inline) or jwksUri (fetched by meshlite)');
  if (rule.jwks) {
    try {
      const parsed = JSON.parse(rule.jwks) as { keys?: unknown };
      if (!Array.isArray(parsed.keys)) ctx.report([...path, 'jwks'], 'expected a JWKS document: {"keys": [...]}');
    } catch {
      ctx.report([...path, 'jwks'], 'is not valid JSON');
    }
  }
  return rule;
}

export const requestAuthentication = {
  group: 'security.istio.io',
  versions: ['v1', 'v1beta1'],
  kind: 'RequestAuthentication',
  specSchema: obj({ selector: WORKLOAD_SELECTOR, jwtRules: list(JWT_RULE) }),
  build(spec, ctx) {
    const jwtRules = ((spec.jwtRules ?? []) as Record<string, unknown>[]).map((r, i) => toJwtRule(r, ['spec', 'jwtRules', i], ctx));
    const seen = new Set<string>();
    jwtRules.forEach((r, i) => {
      if (seen.has(r.issuer)) ctx.report(['spec', 'jwtRules', i, 'issuer'], `issuer "${r.issuer}" appears twice`);
      seen.add(r.issuer);
    });
    const selector = spec.selector ? toLabels((spec.selector as Record<string, unknown>).matchLabels) : undefined;
    return {
      kind: 'RequestAuthentication',
      meta: ctx.meta,
      source: ctx.source,
      spec: { selector: selector && Object.keys(selector).length ? selector : undefined, jwtRules },
    };
  },
} satisfies KindHandler;
