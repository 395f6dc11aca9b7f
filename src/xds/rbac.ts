// AuthorizationPolicies -> Envoy RBAC filter configs (HTTP and network),
// following Istio's translation: one Envoy policy per rule, `from` sources
// OR'd as principals, `to` operations OR'd as permissions, `when` ANDed in.
// What cannot be translated fails closed: an ALLOW or AUDIT rule is dropped
// (it allows less), a DENY rule loses only the offending field (it denies more).
import type {
  AuthorizationAction,
  AuthorizationPolicy,
  AuthzCondition,
  AuthzOperation,
  AuthzRule,
  AuthzSource,
} from '../model/view-types.js';
import { type HttpOrNetworkFilter, typed } from './common.js';
import type {
  envoy_config_rbac_v3_RBAC as RbacRules,
  envoy_config_rbac_v3_RBAC_Action,
  Permission,
  Policy,
  Principal,
} from './envoy-types/index.js';
import {
  type Built,
  cidrRange,
  claimIds,
  filterMetadataIds,
  headerMatcher,
  hostRules,
  isPathTemplate,
  isUntranslatable,
  namespaceId,
  pathRules,
  pathTemplateRules,
  portNumber,
  principalIds,
  requestPrincipalId,
  serviceAccountIds,
  stringMatch,
} from './rbac-matchers.js';

export interface RbacContext {
  trustDomains: readonly string[];
  /** 'http' for HCM chains, 'tcp' for tcp_proxy chains */
  protocol: 'http' | 'tcp';
  /** A proxyless gRPC server evaluates the rules: it verifies no JWT and sees no SNI. */
  grpc?: boolean;
}

const GRPC_CANNOT = 'a gRPC server verifies no JWT';

export const RBAC_TYPE = {
  http: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
  tcp: 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC',
} as const;
export const RBAC_FILTER_NAME = { http: 'envoy.filters.http.rbac', tcp: 'envoy.filters.network.rbac' } as const;

const ENVOY_ACTION: Readonly<Record<'AUDIT' | 'DENY' | 'ALLOW', envoy_config_rbac_v3_RBAC_Action>> = {
  AUDIT: 'LOG',
  DENY: 'DENY',
  ALLOW: 'ALLOW',
};
const FILTER_ORDER = ['AUDIT', 'DENY', 'ALLOW'] as const;

/** One field's matchers (OR'd), or why it cannot be translated here. */
type TranslatedField = { field: string; negate: boolean; ids: Built[] };
type Field = TranslatedField | { field: string; skip: string };

const CONDITION_PRINCIPAL = /^(source\.|remote\.|request\.)/;

function sourceFields(s: AuthzSource, ctx: RbacContext): Field[] {
  const f = (field: string, values: readonly string[], negate: boolean, build: (v: string) => Built[]): Field | undefined =>
    values.length === 0 ? undefined : { field, negate, ids: values.flatMap(build) };
  const http = (field: string, values: readonly string[], negate: boolean, build: (v: string) => Built[]) =>
    ctx.protocol === 'tcp' && values.length > 0
      ? { field, skip: 'HTTP-only' }
      : ctx.grpc && values.length > 0
        ? { field, skip: GRPC_CANNOT }
        : f(field, values, negate, build);
  const principal = (v: string) => principalIds(v, ctx.trustDomains);
  return [
    f('principals', s.principals, false, principal),
    f('notPrincipals', s.notPrincipals, true, principal),
    f('serviceAccounts', s.serviceAccounts, false, (v) => serviceAccountIds(v, ctx.trustDomains)),
    f('notServiceAccounts', s.notServiceAccounts, true, (v) => serviceAccountIds(v, ctx.trustDomains)),
    http('requestPrincipals', s.requestPrincipals, false, (v) => [requestPrincipalId(v)]),
    http('notRequestPrincipals', s.notRequestPrincipals, true, (v) => [requestPrincipalId(v)]),
    f('namespaces', s.namespaces, false, (v) => [namespaceId(v)]),
    f('notNamespaces', s.notNamespaces, true, (v) => [namespaceId(v)]),
    f('ipBlocks', s.ipBlocks, false, (v) => [ip('direct_remote_ip', v)]),
    f('notIpBlocks', s.notIpBlocks, true, (v) => [ip('direct_remote_ip', v)]),
    f('remoteIpBlocks', s.remoteIpBlocks, false, (v) => [ip('remote_ip', v)]),
    f('notRemoteIpBlocks', s.notRemoteIpBlocks, true, (v) => [ip('remote_ip', v)]),
  ].filter((x): x is Field => x !== undefined);
}

function ip(kind: 'direct_remote_ip' | 'remote_ip' | 'destination_ip', value: string): Built {
  const range = cidrRange(value);
  return isUntranslatable(range) ? range : { [kind]: range };
}

function port(value: string): Built {
  const n = portNumber(value);
  return typeof n === 'number' ? { destination_port: n } : n;
}

/** Path templates need Envoy's URI template extension, which a gRPC server does not have. */
function paths(ctx: RbacContext): (v: string) => Built[] {
  return (v) =>
    !isPathTemplate(v)
      ? pathRules(v)
      : ctx.grpc
        ? [{ reason: `a gRPC server cannot match the path template "${v}"` }]
        : pathTemplateRules(v);
}

function operationFields(operation: AuthzOperation, ctx: RbacContext): Field[] {
  const f = (field: string, values: readonly string[], negate: boolean, build: (v: string) => Built[]): Field | undefined => {
    if (values.length === 0) return undefined;
    if (ctx.protocol === 'tcp' && field !== 'ports' && field !== 'notPorts') return { field, skip: 'HTTP-only' };
    return { field, negate, ids: values.flatMap(build) };
  };
  return [
    f('hosts', operation.hosts, false, hostRules),
    f('notHosts', operation.notHosts, true, hostRules),
    f('ports', operation.ports, false, (v) => [port(v)]),
    f('notPorts', operation.notPorts, true, (v) => [port(v)]),
    f('methods', operation.methods, false, (v) => [headerMatcher(':method', v)]),
    f('notMethods', operation.notMethods, true, (v) => [headerMatcher(':method', v)]),
    f('paths', operation.paths, false, paths(ctx)),
    f('notPaths', operation.notPaths, true, paths(ctx)),
  ].filter((x): x is Field => x !== undefined);
}

/** The bracketed parts of `request.auth.claims[a][b]` -> ['a', 'b']. */
function bracketPath(rest: string): string[] | undefined {
  const parts = [...rest.matchAll(/\[([^\][]+)\]/g)].map((m) => m[1]!);
  return parts.length > 0 && parts.map((p) => `[${p}]`).join('') === rest ? parts : undefined;
}

/** How each condition value of a key becomes matchers; undefined for an unknown key. */
const FILTER_CONDITION = /^experimental\.(envoy\.filters\.[a-z0-9_.]+)\[([^\][]+)\]$/;

function conditionBuilder(key: string, ctx: RbacContext): ((v: string) => Built[]) | undefined {
  const filterKey = FILTER_CONDITION.exec(key);
  if (filterKey) return (v) => [filterMetadataIds(filterKey[1]!, filterKey[2]!, v)];
  if (key.startsWith('request.headers')) {
    const path = bracketPath(key.slice('request.headers'.length));
    return path?.length === 1 ? (v) => [headerMatcher(path[0]!.toLowerCase(), v)] : undefined;
  }
  if (key.startsWith('request.auth.claims')) {
    const path = bracketPath(key.slice('request.auth.claims'.length));
    return path ? (v) => claimIds(path, v) : undefined;
  }
  switch (key) {
    case 'source.ip':
      return (v) => [ip('direct_remote_ip', v)];
    case 'remote.ip':
      return (v) => [ip('remote_ip', v)];
    case 'source.namespace':
      return (v) => [namespaceId(v)];
    case 'source.principal':
      return (v) => principalIds(v, ctx.trustDomains);
    case 'request.auth.principal':
      return (v) => [requestPrincipalId(v)];
    case 'request.auth.audiences':
      return (v) => claimIds(['aud'], v);
    case 'request.auth.presenter':
      return (v) => claimIds(['azp'], v);
    case 'destination.ip':
      return (v) => [ip('destination_ip', v)];
    case 'destination.port':
      return (v) => [port(v)];
    case 'connection.sni':
      return (v) => [{ requested_server_name: stringMatch(v) }];
    default:
      return undefined;
  }
}

function conditionFields(c: AuthzCondition, ctx: RbacContext): Field[] {
  const field = `when ${c.key}`;
  if (ctx.protocol === 'tcp' && c.key.startsWith('request.')) return [{ field, skip: 'HTTP-only' }];
  if (ctx.grpc && c.key.startsWith('request.auth.')) return [{ field, skip: GRPC_CANNOT }];
  if (ctx.grpc && c.key === 'connection.sni') return [{ field, skip: 'a gRPC server does not see the SNI' }];
  if (ctx.grpc && c.key.startsWith('experimental.')) return [{ field, skip: 'a gRPC server has no filter metadata' }];
  const build = conditionBuilder(c.key, ctx);
  if (!build) return [{ field, skip: 'unsupported condition key' }];
  const out: Field[] = [];
  if (c.values.length > 0) out.push({ field, negate: false, ids: c.values.flatMap(build) });
  if (c.notValues.length > 0) out.push({ field: `${field} notValues`, negate: true, ids: c.notValues.flatMap(build) });
  return out;
}

type Kind = 'principal' | 'permission';
type MatcherOf = { principal: Principal; permission: Permission };
const RBAC_FIELD_NAMES = {
  principal: { or: 'or_ids', and: 'and_ids', not: 'not_id', list: 'ids' },
  permission: { or: 'or_rules', and: 'and_rules', not: 'not_rule', list: 'rules' },
} as const;

/** A field's matchers OR'd (negated for notX); `and` of all fields; `any` when there is none. */
// The field names differ by side (RBAC_FIELD_NAMES) but the shapes are the same, hence the casts.
function combine<K extends Kind>(kind: K, fields: readonly (readonly MatcherOf[K][])[]): MatcherOf[K] {
  const s = RBAC_FIELD_NAMES[kind];
  const all = fields.flat();
  return (all.length === 0 ? { any: true } : { [s.and]: { [s.list]: all } }) as MatcherOf[K];
}

function fieldMatcher<K extends Kind>(kind: K, f: TranslatedField): MatcherOf[K] {
  const s = RBAC_FIELD_NAMES[kind];
  const or = { [s.or]: { [s.list]: f.ids } } as MatcherOf[K];
  return (f.negate ? { [s.not]: or } : or) as MatcherOf[K];
}

/** Builds one rule's Envoy policy; undefined when the rule must be dropped. */
function buildRule(
  rule: AuthzRule,
  action: 'AUDIT' | 'DENY' | 'ALLOW',
  ctx: RbacContext,
  where: string,
  warnings: string[],
): Policy | undefined {
  const sources = rule.from.map((f) => sourceFields(f.source, ctx));
  const operations = rule.to.map((t) => operationFields(t.operation, ctx));
  const conditions = rule.when.flatMap((c) => conditionFields(c, ctx).map((f) => ({ f, kind: conditionKind(c.key) })));

  const problems: string[] = [];
  const keep = (f: Field): f is TranslatedField => {
    if ('skip' in f) {
      problems.push(`${f.field} (${f.skip}${f.skip === 'HTTP-only' ? ` on ${ctx.protocol}` : ''})`);
      return false;
    }
    const bad = f.ids.filter(isUntranslatable);
    if (bad.length > 0) {
      problems.push(`${f.field} (${bad.map((b) => b.reason).join(', ')})`);
      return false;
    }
    return true;
  };
  const kept = {
    sources: sources.map((fs) => fs.filter(keep)),
    operations: operations.map((fs) => fs.filter(keep)),
    conditions: conditions.filter((c) => keep(c.f)),
  };
  if (problems.length > 0) {
    if (action !== 'DENY') {
      warnings.push(
        `${where}: rule dropped (${action === 'AUDIT' ? 'not audited here' : 'allows less'}), cannot translate ${problems.join('; ')}`,
      );
      return undefined;
    }
    warnings.push(`${where}: ignoring ${problems.join('; ')} (denies more)`);
  }

  const conditionMatchers = <K extends Kind>(kind: K) =>
    kept.conditions.filter((c) => c.kind === kind).map((c) => fieldMatcher(kind, c.f as TranslatedField));
  const side = <K extends Kind>(kind: K, groups: TranslatedField[][]): MatcherOf[K][] => {
    const extra = conditionMatchers(kind);
    if (groups.length === 0) return [combine(kind, [extra])];
    return groups.map((g) => combine(kind, [g.map((f) => fieldMatcher(kind, f)), extra]));
  };
  return {
    permissions: side('permission', kept.operations as TranslatedField[][]),
    principals: side('principal', kept.sources as TranslatedField[][]),
  };
}

function conditionKind(key: string): Kind {
  return CONDITION_PRINCIPAL.test(key) ? 'principal' : 'permission';
}

/** Istio's stat prefixes of dry-run (shadow) rules, per action: Envoy counts `<prefix>shadow_allowed` and `<prefix>shadow_denied`. */
export const DRY_RUN_STAT_PREFIX = { DENY: 'istio_dry_run_deny_', ALLOW: 'istio_dry_run_allow_' } as const;

/** The rules of one action: enforced ones (undefined when no enforced policy has it) and dry-run ones. */
type ActionRules = { enforced?: { [name: string]: Policy }; shadow?: { [name: string]: Policy } };

function rbacFilter(action: 'AUDIT' | 'DENY' | 'ALLOW', built: ActionRules, ctx: RbacContext): HttpOrNetworkFilter {
  // Canonical proto3 JSON: ALLOW (the enum default) and an empty policy map are omitted.
  // `rules` stays present even when empty (an enforced ALLOW whose rules were all dropped denies all);
  // it is absent only when every policy of this action is a dry run (then nothing is enforced).
  const rulesOf = (policies: { [name: string]: Policy }): RbacRules => ({
    ...(action === 'ALLOW' ? {} : { action: ENVOY_ACTION[action] }),
    ...(Object.keys(policies).length > 0 ? { policies } : {}),
  });
  const fields = {
    ...(built.enforced ? { rules: rulesOf(built.enforced) } : {}),
    ...(built.shadow && action !== 'AUDIT'
      ? { shadow_rules: rulesOf(built.shadow), shadow_rules_stat_prefix: DRY_RUN_STAT_PREFIX[action] }
      : {}),
  };
  const config = ctx.protocol === 'http' ? typed(RBAC_TYPE.http, fields) : typed(RBAC_TYPE.tcp, { ...fields, stat_prefix: 'tcp.' });
  return { name: RBAC_FILTER_NAME[ctx.protocol], typed_config: config };
}

/**
 * One RBAC config per action present (AUDIT -> action LOG, DENY, ALLOW), in filter order AUDIT, DENY, ALLOW;
 * policies sorted by namespace/name; keys `ns[<ns>]-policy[<name>]-rule[<i>]`. Dry-run ALLOW and DENY
 * policies go to `shadow_rules` of their action's filter; dry-run AUDIT ones are left out (with a warning).
 */
export function buildRbacFilters(
  policies: readonly AuthorizationPolicy[],
  ctx: RbacContext,
): { filters: HttpOrNetworkFilter[]; warnings: string[] } {
  const warnings: string[] = [];
  const byAction = new Map<AuthorizationAction, ActionRules>();
  const sorted = [...policies].sort((a, b) => a.meta.namespace.localeCompare(b.meta.namespace) || a.meta.name.localeCompare(b.meta.name));
  for (const p of sorted) {
    const { action } = p.spec;
    const where = `AuthorizationPolicy ${p.meta.namespace}/${p.meta.name}`;
    // CUSTOM policies are enforced by ext_authz (ext-authz.ts), before the DENY and ALLOW filters built here.
    if (action === 'CUSTOM') continue;
    if (p.spec.dryRun && action === 'AUDIT') {
      warnings.push(`${where}: dry-run AUDIT policy ignored (an audit decides nothing, so there is nothing to rehearse)`);
      continue;
    }
    const built = byAction.get(action) ?? {};
    byAction.set(action, built);
    const slot = p.spec.dryRun ? 'shadow' : 'enforced';
    const out = built[slot] ?? {};
    built[slot] = out;
    p.spec.rules.forEach((rule, i) => {
      const rulePolicy = buildRule(rule, action, ctx, `${where} rule ${i}`, warnings);
      if (rulePolicy) out[`ns[${p.meta.namespace}]-policy[${p.meta.name}]-rule[${i}]`] = rulePolicy;
    });
  }
  const filters = FILTER_ORDER.filter((a) => byAction.has(a)).map((a) => rbacFilter(a, byAction.get(a)!, ctx));
  return { filters, warnings };
}
