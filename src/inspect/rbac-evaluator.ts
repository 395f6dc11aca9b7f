// Offline evaluation of the RBAC filters of a translated Envoy config (in
// config_dump JSON shape) for one request or connection, in filter order as
// Envoy runs them: a LOG filter never decides, a DENY filter denies when a
// policy matches, an ALLOW filter denies unless a policy matches (no policies
// deny all); a policy matches when a permission and a principal both match.
// Shadow rules are evaluated and reported, never deciding. Whatever cannot be
// evaluated (an unknown matcher, an external authorizer) denies, saying why.
import { type FilterMetadata, jwtMetadata, matches, matchMetadata, type MatchInput } from './rbac-matchers.js';
import type { RequestFacts } from './request-facts.js';
import { CannotEvaluate, isObj, type Obj } from './string-matcher.js';

export type { RequestFacts } from './request-facts.js';

export type RbacVerdict = 'allow' | 'deny';
export interface RbacDecision {
  verdict: RbacVerdict;
  /** Which RBAC filter and policy decided; undefined when no filter has a say (no RBAC filters). */
  decidedBy?: { filter: string; action: 'ALLOW' | 'DENY'; policy?: string };
  /** One sentence saying why. */
  reason: string;
  /** Dry-run (shadow) results, reported but never deciding. */
  shadow?: { action: 'ALLOW' | 'DENY'; policy?: string; wouldDeny: boolean; undetermined?: string }[];
  /** Set when the verdict is a fail-closed deny because something could not be evaluated offline. */
  undetermined?: string;
}

export interface EvaluateOptions {
  /**
   * The merged `typed_per_filter_config` of the virtual host and route the
   * request takes (the route's entries win): an RBACPerRoute entry replaces
   * that filter's own rules and shadow rules.
   */
  perFilterConfig?: Record<string, unknown>;
}

const TYPES = {
  httpRbac: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
  networkRbac: 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC',
  rbacPerRoute: 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute',
  httpExtAuthz: 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
  networkExtAuthz: 'type.googleapis.com/envoy.extensions.filters.network.ext_authz.v3.ExtAuthz',
} as const;
/** The metadata namespace Envoy's RBAC filters write under, whatever the filter is named in the chain. */
const RBAC_NAMESPACE = { http: 'envoy.filters.http.rbac', network: 'envoy.filters.network.rbac' } as const;

type Action = 'ALLOW' | 'DENY' | 'LOG';
/** The first matching policy by name (Envoy keeps policies in a sorted map), or why none could be decided. */
type EngineResult = { matched?: string; unknown?: string };

function runEngine(rules: Obj, input: MatchInput, where: string): EngineResult {
  if (rules.policies !== undefined && !isObj(rules.policies)) throw new CannotEvaluate(`${where}: policies is not a map`);
  const policies = (rules.policies ?? {}) as Obj;
  let unknown: string | undefined;
  for (const name of Object.keys(policies).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const here = `${where} policy ${name}`;
    try {
      const p = policies[name];
      if (!isObj(p)) throw new CannotEvaluate(`${here}: not an object`);
      if (p.condition !== undefined || p.checked_condition !== undefined) throw new CannotEvaluate(`${here}: CEL condition`);
      const list = (key: string) => {
        const v = p[key] ?? [];
        if (!Array.isArray(v)) throw new CannotEvaluate(`${here}: ${key} is not a list`);
        return v;
      };
      const permitted = list('permissions').some((m, i) => matches('permission', m, input, `${here} permission[${i}]`));
      if (permitted && list('principals').some((m, i) => matches('principal', m, input, `${here} principal[${i}]`)))
        return { matched: name };
    } catch (e) {
      if (!(e instanceof CannotEvaluate)) throw e;
      unknown ??= e.message;
    }
  }
  return unknown ? { unknown } : {};
}

function actionOf(rules: Obj, where: string): Action {
  const a = rules.action ?? 'ALLOW';
  if (a === 'ALLOW' || a === 'DENY' || a === 'LOG') return a;
  throw new CannotEvaluate(`${where}: unknown RBAC action ${String(a)}`);
}

interface Walk {
  input: MatchInput;
  shadow: NonNullable<RbacDecision['shadow']>;
  /** The last ALLOW filter that let the request through, and any DENY filter that looked. */
  allowedBy?: { filter: string; policy: string };
  denyLooked?: string;
  enforcing: boolean;
}

const deny = (w: Walk, reason: string, decidedBy?: RbacDecision['decidedBy'], undetermined?: string): RbacDecision => ({
  verdict: 'deny',
  ...(decidedBy ? { decidedBy } : {}),
  reason,
  ...(w.shadow.length > 0 ? { shadow: w.shadow } : {}),
  ...(undetermined ? { undetermined } : {}),
});

/** One RBAC filter; a decision when it denies, undefined when the request goes on. */
function rbacStep(filter: string, own: Obj, override: Obj | undefined, kind: 'http' | 'network', w: Walk): RbacDecision | undefined {
  const config = override ?? own;
  if (config.matcher !== undefined || config.shadow_matcher !== undefined) {
    const why = `${filter}: RBAC in matcher form`;
    return deny(w, `cannot evaluate ${why}; denying`, { filter, action: 'DENY' }, why);
  }
  if (isObj(config.shadow_rules)) {
    const action = actionOf(config.shadow_rules, filter);
    const result = runEngine(config.shadow_rules, w.input, `${filter} shadow_rules`);
    if (action !== 'LOG') {
      const wouldDeny = action === 'DENY' ? result.matched !== undefined : result.matched === undefined;
      const unsure = result.matched === undefined && result.unknown ? { undetermined: result.unknown } : {};
      w.shadow.push({ action, ...(result.matched ? { policy: result.matched } : {}), wouldDeny, ...unsure });
    }
    if (result.matched) {
      const prefix = typeof own.shadow_rules_stat_prefix === 'string' ? own.shadow_rules_stat_prefix : '';
      const ns = (w.input.metadata[RBAC_NAMESPACE[kind]] ??= {});
      ns[`${prefix}shadow_effective_policy_id`] = result.matched;
    }
  }
  if (!isObj(config.rules)) return undefined;
  w.enforcing = true;
  const action = actionOf(config.rules, filter);
  if (action === 'LOG') return undefined;
  const result = runEngine(config.rules, w.input, filter);
  if (action === 'DENY') {
    if (result.matched) return deny(w, `denied by DENY policy ${result.matched}`, { filter, action, policy: result.matched });
    if (result.unknown) return deny(w, `cannot evaluate ${result.unknown}; denying`, { filter, action }, result.unknown);
    w.denyLooked = filter;
    return undefined;
  }
  if (result.matched) {
    w.allowedBy = { filter, policy: result.matched };
    return undefined;
  }
  if (result.unknown) return deny(w, `cannot evaluate ${result.unknown}; denying`, { filter, action }, result.unknown);
  const none =
    isObj(config.rules.policies) && Object.keys(config.rules.policies).length > 0
      ? 'no ALLOW policy matched'
      : 'an ALLOW filter without policies denies all';
  return deny(w, none, { filter, action });
}

/** An ext_authz filter asks a server we cannot ask: if it would run, fail closed. */
function extAuthzStep(filter: string, config: Obj, w: Walk): RbacDecision | undefined {
  const gate = config.filter_enabled_metadata;
  if (gate !== undefined && !(isObj(gate) && matchMetadata(gate, w.input.metadata, filter))) return undefined;
  const policy = isObj(gate) && typeof gate.filter === 'string' ? policyIdFrom(w.input.metadata, gate) : undefined;
  const why = `${filter}: an external authorizer decides${policy ? ` (CUSTOM rule ${policy})` : ''}, which cannot be asked offline`;
  return deny(w, `cannot evaluate ${why}; denying`, { filter, action: 'DENY', ...(policy ? { policy } : {}) }, why);
}

function policyIdFrom(metadata: FilterMetadata, gate: Obj): string | undefined {
  const ns = metadata[gate.filter as string];
  const path = Array.isArray(gate.path) ? gate.path : [];
  const key = isObj(path[0]) ? path[0].key : undefined;
  const v = ns && typeof key === 'string' ? ns[key] : undefined;
  return typeof v === 'string' ? v : undefined;
}

function evaluate(filters: readonly unknown[], facts: RequestFacts, kind: 'http' | 'network', options: EvaluateOptions): RbacDecision {
  const metadata: FilterMetadata = { ...structuredClone(facts.filterMetadata ?? {}), ...jwtMetadata(facts.jwtPayload) };
  const w: Walk = { input: { facts, http: kind === 'http', metadata }, shadow: [], enforcing: false };
  const rbacType = kind === 'http' ? TYPES.httpRbac : TYPES.networkRbac;
  const extAuthzType = kind === 'http' ? TYPES.httpExtAuthz : TYPES.networkExtAuthz;
  try {
    for (const f of filters) {
      if (!isObj(f) || typeof f.name !== 'string') throw new CannotEvaluate('a filter without a name');
      if (f.disabled === true) continue;
      const config = f.typed_config;
      if (!isObj(config)) {
        if (/rbac|authz/i.test(f.name)) throw new CannotEvaluate(`${f.name}: no inline typed_config (discovered or missing config)`);
        continue;
      }
      const type = config['@type'];
      let step: RbacDecision | undefined;
      if (type === rbacType) step = rbacStep(f.name, config, perRouteRules(f.name, options), kind === 'http' ? 'http' : 'network', w);
      else if (type === extAuthzType) step = extAuthzStep(f.name, config, w);
      else if (/rbac|ext_authz/i.test(`${f.name} ${String(type)}`)) throw new CannotEvaluate(`${f.name}: filter of type ${String(type)}`);
      if (step) return step;
    }
  } catch (e) {
    if (!(e instanceof CannotEvaluate)) throw e;
    return deny(w, `cannot evaluate ${e.message}; denying`, undefined, e.message);
  }
  const shadow = w.shadow.length > 0 ? { shadow: w.shadow } : {};
  if (w.allowedBy) {
    const { filter, policy } = w.allowedBy;
    return { verdict: 'allow', decidedBy: { filter, action: 'ALLOW', policy }, reason: `allowed by ALLOW policy ${policy}`, ...shadow };
  }
  if (w.denyLooked)
    return { verdict: 'allow', decidedBy: { filter: w.denyLooked, action: 'DENY' }, reason: 'allowed: no DENY policy matched', ...shadow };
  const reason = w.enforcing ? 'allowed: no RBAC policy decides' : 'allowed: no RBAC filter enforces a policy on this chain';
  return { verdict: 'allow', reason, ...shadow };
}

/** The RBACPerRoute override of a filter, when the route or virtual host has one. */
function perRouteRules(filter: string, options: EvaluateOptions): Obj | undefined {
  const entry = options.perFilterConfig?.[filter];
  if (entry === undefined) return undefined;
  if (!isObj(entry) || entry['@type'] !== TYPES.rbacPerRoute) throw new CannotEvaluate(`${filter}: per-route config of another type`);
  return isObj(entry.rbac) ? entry.rbac : {};
}

/** Evaluates the RBAC http filters of an HCM (its `http_filters` array, in config_dump JSON shape) in order, as Envoy does. */
export function evaluateHttpFilters(httpFilters: readonly unknown[], facts: RequestFacts, options: EvaluateOptions = {}): RbacDecision {
  return evaluate(httpFilters, facts, 'http', options);
}

/** Evaluates the network RBAC filters of a filter chain (its `filters` array) for a TCP connection. */
export function evaluateNetworkFilters(filters: readonly unknown[], facts: RequestFacts): RbacDecision {
  return evaluate(filters, facts, 'network', {});
}
