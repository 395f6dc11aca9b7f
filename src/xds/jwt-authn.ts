// RequestAuthentication -> the Envoy HTTP filter envoy.filters.http.jwt_authn
// (proto3 JSON of envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication),
// with Istio's semantics:
//
// - one provider per jwtRule, rules sorted by issuer (ties: policy namespace/name,
//   then rule order) and named `origins-<i>`;
// - a single requirement rule `prefix: /` (matches every path, query strings
//   included, so `/path?` cannot skip verification) requiring any provider OR
//   allow_missing: a request without a token passes (AuthorizationPolicy
//   `requestPrincipals` decides), a request with an invalid token gets 401;
// - JWKS always inlined (`local_jwks`); when a rule's JWKS is unavailable or
//   unusable the provider is kept with a JWKS that verifies nothing, so tokens of
//   that issuer fail closed (401) rather than being ignored.
import type { JwtRule, RequestAuthentication } from '../model/view-types.js';
import { typed } from './common.js';
import type { HttpFilter, JwtHeader, JwtProvider, JwtRequirement } from './envoy-types/index.js';

export const JWT_AUTHN_FILTER_NAME = 'envoy.filters.http.jwt_authn';
export const JWT_AUTHN_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
/** Key of the verified payload in the filter's dynamic metadata (Istio's `payload`). */
export const JWT_PAYLOAD_METADATA_KEY = 'payload';

/**
 * A syntactically valid JWKS whose only key is an EC P-256 public key whose
 * private half was discarded when it was generated: no token verifies against
 * it. Used (like Istio's fake JWKS) when a rule's real JWKS is unavailable, so
 * Envoy loads the provider and rejects that issuer's tokens with 401.
 */
export const FAIL_CLOSED_JWKS = JSON.stringify({
  keys: [
    {
      kty: 'EC',
      crv: 'P-256',
      kid: 'meshlite-jwks-unavailable',
      alg: 'ES256',
      use: 'sig',
      x: 'onFRiccxMO1LewSLLz3PGdSBXRb3C9OX7DdLp_vLgEg',
      y: 'NvM3HVuBuetn08PKvQ37pu_H0cvHABMYkQnIJh0f0qs',
    },
  ],
});

export interface JwtAuthnResult {
  /** The HTTP filter (`{name, typed_config}`), absent when there are no jwtRules. */
  filter?: HttpFilter;
  warnings: string[];
}

interface SortableRule {
  rule: JwtRule;
  policy: RequestAuthentication;
  index: number;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function sortedRules(policies: readonly RequestAuthentication[]): SortableRule[] {
  const all: SortableRule[] = [];
  for (const policy of policies) {
    policy.spec.jwtRules.forEach((rule, index) => all.push({ rule, policy, index }));
  }
  return all.sort(
    (a, b) =>
      compare(a.rule.issuer, b.rule.issuer) ||
      compare(a.policy.meta.namespace, b.policy.meta.namespace) ||
      compare(a.policy.meta.name, b.policy.meta.name) ||
      a.index - b.index,
  );
}

/** Why `text` is not a usable JWKS for Envoy, or undefined when it is. */
export function jwksProblem(text: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return 'is not valid JSON';
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'is not a JSON object';
  const keys = (doc as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) return 'has no "keys" array';
  if (keys.length === 0) return 'has no keys';
  return undefined;
}

function describe(entry: SortableRule): string {
  const { policy, rule, index } = entry;
  return `RequestAuthentication ${policy.meta.namespace}/${policy.meta.name} jwtRules[${index}] (issuer ${JSON.stringify(rule.issuer)})`;
}

function localJwks(entry: SortableRule, jwks: (rule: JwtRule) => string | undefined, warnings: string[]): string {
  const { rule } = entry;
  const text = jwks(rule);
  const from = rule.jwks !== undefined ? 'inline jwks' : rule.jwksUri !== undefined ? `jwksUri ${rule.jwksUri}` : undefined;
  if (from === undefined) {
    warnings.push(`${describe(entry)}: neither jwks nor jwksUri is set; its tokens will be rejected`);
    return FAIL_CLOSED_JWKS;
  }
  if (text === undefined) {
    warnings.push(`${describe(entry)}: JWKS from ${from} is not available; its tokens will be rejected`);
    return FAIL_CLOSED_JWKS;
  }
  const problem = jwksProblem(text);
  if (problem) {
    warnings.push(`${describe(entry)}: JWKS from ${from} ${problem}; its tokens will be rejected`);
    return FAIL_CLOSED_JWKS;
  }
  return text;
}

function provider(entry: SortableRule, jwks: (rule: JwtRule) => string | undefined, warnings: string[]): JwtProvider {
  const { rule } = entry;
  const out: JwtProvider = { issuer: rule.issuer };
  if (rule.audiences.length > 0) out.audiences = [...rule.audiences];
  out.local_jwks = { inline_string: localJwks(entry, jwks, warnings) };
  if (rule.forwardOriginalToken) out.forward = true;
  // Envoy's default (Authorization: Bearer, plus the access_token query
  // parameter) applies only when from_headers, from_params and from_cookies are
  // all empty, which is exactly Istio's default, so none are set unless given.
  if (rule.fromHeaders.length > 0) {
    out.from_headers = rule.fromHeaders.map((h) => {
      const header: JwtHeader = { name: h.name };
      if (h.prefix) header.value_prefix = h.prefix;
      return header;
    });
  }
  if (rule.fromParams.length > 0) out.from_params = [...rule.fromParams];
  if (rule.fromCookies.length > 0) out.from_cookies = [...rule.fromCookies];
  if (rule.outputPayloadToHeader) out.forward_payload_header = rule.outputPayloadToHeader;
  out.payload_in_metadata = JWT_PAYLOAD_METADATA_KEY;
  if (rule.outputClaimToHeaders.length > 0) {
    out.claim_to_headers = rule.outputClaimToHeaders.map((c) => ({ header_name: c.header, claim_name: c.claim }));
  }
  return out;
}

/**
 * Builds the jwt_authn HTTP filter for the RequestAuthentications that apply to
 * one workload. `jwks(rule)` returns the JWKS JSON text for a rule (its inline
 * `jwks`, or what meshlite fetched from `jwksUri`), or undefined if unavailable.
 */
export function buildJwtAuthnFilter(
  policies: readonly RequestAuthentication[],
  jwks: (rule: JwtRule) => string | undefined,
): JwtAuthnResult {
  const warnings: string[] = [];
  const rules = sortedRules(policies);
  if (rules.length === 0) return { warnings };
  const providers: { [name: string]: JwtProvider } = {};
  const requirements: JwtRequirement[] = [];
  rules.forEach((entry, i) => {
    const name = `origins-${i}`;
    providers[name] = provider(entry, jwks, warnings);
    requirements.push({ provider_name: name });
  });
  requirements.push({ allow_missing: {} });
  const config = typed(JWT_AUTHN_TYPE_URL, {
    providers,
    rules: [{ match: { prefix: '/' }, requires: { requires_any: { requirements } } }],
    // As Istio: CORS preflight requests (OPTIONS with Origin and
    // Access-Control-Request-Method) carry no credentials by design.
    bypass_cors_preflight: true,
  });
  return { filter: { name: JWT_AUTHN_FILTER_NAME, typed_config: config }, warnings };
}

/** The default `jwks` lookup: a rule's inline jwks, else `fetched(jwksUri)`. */
export function jwksFrom(fetched: (uri: string) => string | undefined): (rule: JwtRule) => string | undefined {
  return (rule) => rule.jwks ?? (rule.jwksUri !== undefined ? fetched(rule.jwksUri) : undefined);
}
