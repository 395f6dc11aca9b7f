// security.istio.io RequestAuthentication (JWT end-user authentication).
import type { JwtRule } from '../authz-types.js';
import { bool, list, obj, str, type Schema } from '../schema.js';
import { DURATION, toLabels, WORKLOAD_SELECTOR } from './common-fields.js';
import type { BuildContext, KindHandler } from './kind-handler.js';

const HEADER_NAME = str({ pattern: /^[a-z0-9!#$%&'*+.^_`|~-]+$/, hint: 'expected a lower-case HTTP header name' });

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
    outputClaimToHeaders: list(obj({ header: HEADER_NAME, claim: str({ nonEmpty: true }) }, { required: ['header', 'claim'] })),
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
      header: c.header,
      claim: c.claim,
    })),
    forwardOriginalToken: raw.forwardOriginalToken === true,
    timeout: raw.timeout as string | undefined,
  };
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
