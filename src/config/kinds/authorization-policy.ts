// security.istio.io AuthorizationPolicy (v1 and v1beta1): schema, semantic
// checks and the typed shape the model selects per workload.
import type { AuthorizationAction, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource, AuthzTargetRef } from '../authz-types.js';
import { list, obj, oneOf, str, type Schema } from '../schema.js';
import {
  FILTER_CONDITION_PREFIX,
  filterMetadataKey,
  filterValueProblem,
  isPathTemplate,
  MAX_SERVICE_ACCOUNTS,
  pathTemplateProblem,
  serviceAccountProblem,
  targetRefOf,
} from './authorization-policy-fields.js';
import { subnetProblem, toLabels, WORKLOAD_SELECTOR } from './common-fields.js';
import type { BuildContext, KindHandler } from './kind-handler.js';

const strings = () => list(str());
const SOURCE_FIELDS = [
  'principals',
  'notPrincipals',
  'serviceAccounts',
  'notServiceAccounts',
  'requestPrincipals',
  'notRequestPrincipals',
  'namespaces',
  'notNamespaces',
  'ipBlocks',
  'notIpBlocks',
  'remoteIpBlocks',
  'notRemoteIpBlocks',
] as const;
const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

const RULE: Schema = obj({
  from: list(obj({ source: obj(Object.fromEntries(SOURCE_FIELDS.map((f) => [f, strings()]))) }, { required: ['source'] })),
  to: list(obj({ operation: obj(Object.fromEntries(OPERATION_FIELDS.map((f) => [f, strings()]))) }, { required: ['operation'] })),
  when: list(obj({ key: str({ nonEmpty: true }), values: strings(), notValues: strings() }, { required: ['key'] })),
});

/** Condition keys Istio defines (request.headers[...] and request.auth.claims[...] take a name). */
const TARGET_REF: Schema = obj(
  { group: str(), kind: str({ nonEmpty: true }), name: str({ nonEmpty: true }), namespace: str() },
  { required: ['kind', 'name'] },
);

const CONDITION_KEYS = [
  'source.ip',
  'remote.ip',
  'source.namespace',
  'source.principal',
  'request.auth.principal',
  'request.auth.audiences',
  'request.auth.presenter',
  'destination.ip',
  'destination.port',
  'connection.sni',
];
const NAMED_CONDITION = /^request\.(headers|auth\.claims)\[[^\]]+\](\[[^\]]+\])*$/;

/** `*` alone, or one `*` at the start or the end: the only wildcards Istio matches. */
function wildcardProblem(value: string): string | undefined {
  if (value === '*') return undefined;
  const stars = value.split('*').length - 1;
  if (stars === 0) return undefined;
  if (stars === 1 && (value.startsWith('*') || value.endsWith('*'))) return undefined;
  return `"${value}": a wildcard may only be "*", a prefix "x*" or a suffix "*x"`;
}

function strs(raw: Record<string, unknown> | undefined, field: string): string[] {
  return [...((raw?.[field] as string[] | undefined) ?? [])];
}

function toRule(raw: Record<string, unknown>, path: (string | number)[], ctx: BuildContext): AuthzRule {
  const from = ((raw.from ?? []) as Record<string, unknown>[]).map((entry, i) => {
    const source = entry.source as Record<string, unknown>;
    const p = [...path, 'from', i, 'source'];
    if (SOURCE_FIELDS.every((k) => strs(source, k).length === 0)) ctx.report(p, 'a source needs at least one field');
    for (const k of ['principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces'] as const) {
      strs(source, k).forEach((v, j) => {
        const problem = wildcardProblem(v);
        if (problem) ctx.report([...p, k, j], problem);
      });
    }
    for (const k of ['serviceAccounts', 'notServiceAccounts'] as const) {
      const values = strs(source, k);
      if (values.length > MAX_SERVICE_ACCOUNTS) ctx.report([...p, k], `at most ${MAX_SERVICE_ACCOUNTS} service accounts`);
      values.forEach((v, j) => {
        const problem = serviceAccountProblem(v);
        if (problem) ctx.report([...p, k, j], problem);
      });
      const clash = (['principals', 'notPrincipals', 'namespaces', 'notNamespaces'] as const).find((o) => strs(source, o).length > 0);
      if (values.length > 0 && clash) ctx.report([...p, k], `cannot be set together with ${clash} in the same source`);
    }
    for (const k of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const) {
      strs(source, k).forEach((v, j) => {
        const problem = subnetProblem(v);
        if (problem) ctx.report([...p, k, j], problem);
      });
    }
    return { source: Object.fromEntries(SOURCE_FIELDS.map((k) => [k, strs(source, k)])) as unknown as AuthzSource };
  });
  const to = ((raw.to ?? []) as Record<string, unknown>[]).map((entry, i) => {
    const operation = entry.operation as Record<string, unknown>;
    const p = [...path, 'to', i, 'operation'];
    if (OPERATION_FIELDS.every((k) => strs(operation, k).length === 0)) ctx.report(p, 'an operation needs at least one field');
    for (const k of ['ports', 'notPorts'] as const) {
      strs(operation, k).forEach((v, j) => {
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) ctx.report([...p, k, j], `"${v}" is not a port number`);
      });
    }
    for (const k of ['paths', 'notPaths', 'hosts', 'notHosts'] as const) {
      strs(operation, k).forEach((v, j) => {
        const problem = k.endsWith('aths') && isPathTemplate(v) ? pathTemplateProblem(v) : wildcardProblem(v);
        if (problem) ctx.report([...p, k, j], problem);
      });
    }
    return { operation: Object.fromEntries(OPERATION_FIELDS.map((k) => [k, strs(operation, k)])) as unknown as AuthzOperation };
  });
  const when = ((raw.when ?? []) as Record<string, unknown>[]).map((w, i): AuthzCondition => {
    const key = w.key as string;
    const p = [...path, 'when', i];
    const condition = { key, values: strs(w, 'values'), notValues: strs(w, 'notValues') };
    if (key.startsWith(FILTER_CONDITION_PREFIX)) {
      if (!filterMetadataKey(key)) {
        ctx.report([...p, 'key'], `"${key}": expected ${FILTER_CONDITION_PREFIX}<filter name>[<metadata key>]`);
      }
      for (const k of ['values', 'notValues'] as const) {
        condition[k].forEach((v, j) => {
          const problem = filterValueProblem(v) ?? wildcardProblem(v.replace(/^\[(.*)\]$/, '$1'));
          if (problem) ctx.report([...p, k, j], problem);
        });
      }
    } else if (!CONDITION_KEYS.includes(key) && !NAMED_CONDITION.test(key)) {
      ctx.report([...p, 'key'], `unknown condition key "${key}"`);
    }
    if (condition.values.length === 0 && condition.notValues.length === 0) ctx.report(p, 'a condition needs values or notValues');
    return condition;
  });
  return { from, to, when };
}

/** Istio's annotation for a policy that is only evaluated and counted (shadow rules), never enforced. */
export const DRY_RUN_ANNOTATION = 'istio.io/dry-run';

// The spellings Go's strconv.ParseBool accepts, which is how Istio reads the annotation.
const TRUE_VALUES = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE_VALUES = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

/**
 * Whether the policy is a dry run. A value that is not a boolean is an error:
 * Istio would log it and enforce the policy, which for a shadow ALLOW denies
 * everything else.
 */
function isDryRun(ctx: BuildContext): boolean {
  const value = ctx.meta.annotations[DRY_RUN_ANNOTATION];
  if (value === undefined || FALSE_VALUES.includes(value)) return false;
  if (TRUE_VALUES.includes(value)) return true;
  ctx.report(['metadata', 'annotations', DRY_RUN_ANNOTATION], `expected a boolean ("true" or "false"), got "${value}"`);
  return false;
}

type RawTargetRef = { group?: string; kind: string; name: string; namespace?: string };

/** `targetRef` or `targetRefs` (never both, never with `selector`), each checked by targetRefOf. */
function targetRefsOf(spec: Record<string, unknown>, ctx: BuildContext): AuthzTargetRef[] | undefined {
  const one = spec.targetRef as RawTargetRef | undefined;
  const many = spec.targetRefs as RawTargetRef[] | undefined;
  if (one && many) ctx.report(['spec', 'targetRefs'], 'set targetRef or targetRefs, not both');
  if ((one || many) && spec.selector) ctx.report(['spec', 'selector'], 'selector cannot be set together with targetRef or targetRefs');
  if (many && many.length === 0) ctx.report(['spec', 'targetRefs'], 'an empty list targets nothing: leave it out or name a target');
  const entries: [RawTargetRef, (string | number)[]][] = one
    ? [[one, ['spec', 'targetRef']]]
    : (many ?? []).map((r, i) => [r, ['spec', 'targetRefs', i]]);
  if (entries.length === 0) return undefined;
  return entries.flatMap(([raw, path]) => {
    const ref = targetRefOf(raw, ctx.meta.namespace);
    if ('problem' in ref) {
      ctx.report([...path, ref.field], ref.problem);
      return [];
    }
    return [ref];
  });
}

export const authorizationPolicy = {
  group: 'security.istio.io',
  versions: ['v1', 'v1beta1'],
  kind: 'AuthorizationPolicy',
  specSchema: obj({
    selector: WORKLOAD_SELECTOR,
    action: oneOf('ALLOW', 'DENY', 'AUDIT', 'CUSTOM'),
    provider: obj({ name: str({ nonEmpty: true }) }, { required: ['name'] }),
    rules: list(RULE),
    targetRef: TARGET_REF,
    targetRefs: list(TARGET_REF),
  }),
  build(spec, ctx) {
    const dryRun = isDryRun(ctx);
    const action = ((spec.action as string | undefined) ?? 'ALLOW') as AuthorizationAction;
    const provider = (spec.provider as { name?: string } | undefined)?.name;
    if (action === 'CUSTOM' && !provider)
      ctx.report(['spec', 'provider'], 'action CUSTOM needs provider.name (an extension provider of the mesh config)');
    if (action !== 'CUSTOM' && provider) ctx.report(['spec', 'provider'], 'provider only applies to action CUSTOM');
    const selector = spec.selector ? toLabels((spec.selector as Record<string, unknown>).matchLabels) : undefined;
    const rules = ((spec.rules ?? []) as Record<string, unknown>[]).map((r, i) => toRule(r, ['spec', 'rules', i], ctx));
    const targetRefs = targetRefsOf(spec, ctx);
    return {
      kind: 'AuthorizationPolicy',
      meta: ctx.meta,
      source: ctx.source,
      spec: {
        selector: selector && Object.keys(selector).length ? selector : undefined,
        ...(targetRefs ? { targetRefs } : {}),
        action,
        provider,
        rules,
        ...(dryRun ? { dryRun: true as const } : {}),
      },
    };
  },
} satisfies KindHandler;
