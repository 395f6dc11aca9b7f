// The end-user (JWT) half of a legacy `authentication.istio.io/v1alpha1`
// Policy or MeshPolicy, converted the way Istio's own migration did:
//
// - `origins[].jwt` become the jwtRules of a RequestAuthentication (same
//   issuer, audiences, jwksUri; `jwtHeaders` / `jwtParams` say where the token
//   is). Any listed issuer is accepted.
// - The old API refused a request without a token unless `originIsOptional`;
//   a RequestAuthentication alone lets it through, so a DENY
//   AuthorizationPolicy refuses requests with no verified end user
//   (`notRequestPrincipals: ["*"]`). DENY, not ALLOW: adding an ALLOW policy
//   would open requests other ALLOW policies of the workload do not allow.
// - `triggerRules` limited the requirement to some paths: each rule becomes a
//   DENY rule on its included paths minus its excluded ones.
// - `principalBinding: USE_ORIGIN` made the end user the request's principal
//   for the old role-based authorization; the modern APIs name end users
//   through `requestPrincipals`, so it changes nothing enforceable here.
//
// What has no faithful equivalent is refused, at its path: regex paths, origins
// whose trigger rules differ, and origins on a Policy with targets (a
// RequestAuthentication selects workloads by label, not services by name).
import type { AuthorizationPolicy, AuthzRule, JwtRule, RequestAuthentication } from '../authz-types.js';
import { list, obj, str, type Schema } from '../schema.js';
import type { BuildContext } from './kind-handler.js';

const STRING_MATCH: Schema = obj({ exact: str(), prefix: str(), suffix: str(), regex: str() });

export const LEGACY_ORIGIN: Schema = obj(
  {
    jwt: obj(
      {
        issuer: str({ nonEmpty: true }),
        audiences: list(str()),
        jwksUri: str({ pattern: /^https?:\/\/\S+$/, hint: 'expected an http:// or https:// URL' }),
        jwtHeaders: list(str({ pattern: /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, hint: 'expected an HTTP header name' })),
        jwtParams: list(str({ nonEmpty: true })),
        triggerRules: list(obj({ excludedPaths: list(STRING_MATCH), includedPaths: list(STRING_MATCH) })),
      },
      { required: ['issuer'] },
    ),
  },
  { required: ['jwt'] },
);

interface StringMatch {
  exact?: string;
  prefix?: string;
  suffix?: string;
  regex?: string;
}
interface TriggerRule {
  excludedPaths?: StringMatch[];
  includedPaths?: StringMatch[];
}
interface LegacyJwt {
  issuer: string;
  audiences?: string[];
  jwksUri?: string;
  jwtHeaders?: string[];
  jwtParams?: string[];
  triggerRules?: TriggerRule[];
}

type Path = (string | number)[];

/** An old StringMatch as an AuthorizationPolicy path ("x", "x*", "*x"), or undefined when it has none. */
function authzPath(match: StringMatch, at: Path, ctx: BuildContext): string | undefined {
  const given = (['exact', 'prefix', 'suffix', 'regex'] as const).filter((k) => match[k] !== undefined);
  if (given.length !== 1) {
    ctx.report(at, 'give exactly one of exact, prefix, suffix or regex');
    return undefined;
  }
  const value = match[given[0]!]!;
  if (given[0] === 'regex') {
    ctx.report([...at, 'regex'], 'a regex path cannot be converted (AuthorizationPolicy paths are exact, prefix or suffix)');
    return undefined;
  }
  if (value.includes('*')) {
    ctx.report([...at, given[0]!], 'a path containing "*" cannot be converted (it would read as a wildcard)');
    return undefined;
  }
  return given[0] === 'exact' ? value : given[0] === 'prefix' ? `${value}*` : `*${value}`;
}

function triggerToRule(trigger: TriggerRule, at: Path, ctx: BuildContext): AuthzRule {
  const paths = (trigger.includedPaths ?? []).map((m, i) => authzPath(m, [...at, 'includedPaths', i], ctx));
  const notPaths = (trigger.excludedPaths ?? []).map((m, i) => authzPath(m, [...at, 'excludedPaths', i], ctx));
  const keep = (xs: (string | undefined)[]) => xs.filter((x): x is string => x !== undefined);
  const operation = {
    hosts: [],
    notHosts: [],
    ports: [],
    notPorts: [],
    methods: [],
    notMethods: [],
    paths: keep(paths),
    notPaths: keep(notPaths),
  };
  const unconstrained = operation.paths.length === 0 && operation.notPaths.length === 0;
  return { from: [{ source: withoutEndUser() }], to: unconstrained ? [] : [{ operation }], when: [] };
}

function withoutEndUser() {
  return {
    principals: [],
    notPrincipals: [],
    requestPrincipals: [],
    notRequestPrincipals: ['*'],
    namespaces: [],
    notNamespaces: [],
    ipBlocks: [],
    notIpBlocks: [],
    remoteIpBlocks: [],
    notRemoteIpBlocks: [],
  };
}

function toJwtRule(jwt: LegacyJwt, at: Path, ctx: BuildContext): JwtRule {
  if (jwt.jwksUri === undefined)
    ctx.report([...at, 'jwksUri'], 'is required: meshlite fetches the JWKS itself and does no OpenID discovery');
  return {
    issuer: jwt.issuer,
    audiences: [...(jwt.audiences ?? [])],
    jwksUri: jwt.jwksUri,
    // The old API read these headers' whole value as the token, with no prefix.
    fromHeaders: (jwt.jwtHeaders ?? []).map((name) => ({ name: name.toLowerCase() })),
    fromParams: [...(jwt.jwtParams ?? [])],
    fromCookies: [],
    outputClaimToHeaders: [],
    forwardOriginalToken: false,
  };
}

/**
 * The RequestAuthentication (and, unless `originIsOptional`, the DENY
 * AuthorizationPolicy) standing for a legacy policy's origins, named
 * `<policy>-origins` in `namespace`; nothing when there are no origins.
 */
export function convertOrigins(
  spec: Record<string, unknown>,
  ctx: BuildContext,
  namespace: string,
): (RequestAuthentication | AuthorizationPolicy)[] {
  const origins = (spec.origins ?? []) as { jwt: LegacyJwt }[];
  if (origins.length === 0) {
    if (spec.principalBinding === 'USE_ORIGIN')
      ctx.report(['spec', 'principalBinding'], 'USE_ORIGIN binds the principal to the end user, but the policy lists no origins');
    if (spec.originIsOptional !== undefined) ctx.report(['spec', 'originIsOptional'], 'has no meaning without origins');
    return [];
  }
  if (Array.isArray(spec.targets) && spec.targets.length > 0) {
    ctx.report(
      ['spec', 'origins'],
      'origins on a Policy with targets cannot be converted (end-user authentication selects workloads by label): write a RequestAuthentication with a selector and an AuthorizationPolicy',
    );
    return [];
  }
  const jwtRules = origins.map((o, i) => toJwtRule(o.jwt, ['spec', 'origins', i, 'jwt'], ctx));
  const seen = new Set<string>();
  jwtRules.forEach((r, i) => {
    if (seen.has(r.issuer)) ctx.report(['spec', 'origins', i, 'jwt', 'issuer'], `issuer "${r.issuer}" appears twice`);
    seen.add(r.issuer);
  });
  const triggers = origins.map((o) => JSON.stringify(o.jwt.triggerRules ?? []));
  const differing = triggers.findIndex((t) => t !== triggers[0]);
  if (differing > 0) {
    ctx.report(
      ['spec', 'origins', differing, 'jwt', 'triggerRules'],
      'origins with different triggerRules cannot be converted (a RequestAuthentication accepts every issuer on every path)',
    );
  }
  const meta = { ...ctx.meta, name: `${ctx.meta.name}-origins`, namespace };
  const out: (RequestAuthentication | AuthorizationPolicy)[] = [
    { kind: 'RequestAuthentication', meta, source: ctx.source, spec: { jwtRules } },
  ];
  if (spec.originIsOptional === true) return out;
  const first = origins[0]!.jwt.triggerRules ?? [];
  const rules =
    first.length === 0
      ? [triggerToRule({}, ['spec', 'origins', 0, 'jwt'], ctx)]
      : first.map((t, i) => triggerToRule(t, ['spec', 'origins', 0, 'jwt', 'triggerRules', i], ctx));
  out.push({ kind: 'AuthorizationPolicy', meta, source: ctx.source, spec: { action: 'DENY', rules } });
  return out;
}
