// Checks of the AuthorizationPolicy fields of Istio's current API: service
// accounts, path templates, filter-metadata conditions and target references.
// Each returns the problem as a sentence, or undefined when the value is good.
import type { AuthzTargetRef } from '../authz-types.js';

/** Istio caps the service account lists at 16 entries of at most 320 characters. */
export const MAX_SERVICE_ACCOUNTS = 16;
const MAX_SERVICE_ACCOUNT_LENGTH = 320;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SA_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** `<namespace>/<serviceaccount>`, both plain names: no wildcard, no trust domain, nothing else. */
export function serviceAccountProblem(value: string): string | undefined {
  if (value.length > MAX_SERVICE_ACCOUNT_LENGTH) return `longer than ${MAX_SERVICE_ACCOUNT_LENGTH} characters`;
  const parts = value.split('/');
  if (parts.length !== 2 || !DNS_LABEL.test(parts[0]!) || !SA_NAME.test(parts[1]!)) {
    return `"${value}": a service account must be written <namespace>/<serviceaccount> (lower-case names, no wildcard)`;
  }
  return undefined;
}

const ONE_SEGMENT = '{*}';
const REST = '{**}';
/** Envoy refuses longer templates. */
const MAX_TEMPLATE_LENGTH = 256;

/** A path using `{*}` or `{**}` is a template; any other value keeps the usual exact/prefix/suffix forms. */
export const isPathTemplate = (value: string): boolean => value.includes(ONE_SEGMENT) || value.includes(REST);

/**
 * Istio's rules for a path template: it starts with `/`; `{*}` (one segment)
 * and `{**}` (everything that follows) each fill a whole segment; `{**}` comes
 * once, after every `{*}`; no other `*` and no other `{...}` appear.
 */
export function pathTemplateProblem(value: string): string | undefined {
  const bad = (why: string) => `"${value}" is not a valid path template: ${why}`;
  if (!value.startsWith('/')) return bad('it must start with "/"');
  if (value.length > MAX_TEMPLATE_LENGTH) return bad(`longer than ${MAX_TEMPLATE_LENGTH} characters`);
  let restSeen = false;
  for (const segment of value.slice(1).split('/')) {
    if (segment === ONE_SEGMENT || segment === REST) {
      if (restSeen) return bad('"{**}" must be the last operator');
      restSeen = segment === REST;
      continue;
    }
    if (segment.includes('{') || segment.includes('}') || segment.includes('*')) {
      return bad('"{*}" and "{**}" must fill a whole segment, and no other "*" or "{...}" may appear');
    }
  }
  return undefined;
}

const FILTER_CONDITION = /^experimental\.(envoy\.filters\.[a-z0-9_]+(?:\.[a-z0-9_]+)*)\[([^\][]+)\]$/;

/** `experimental.envoy.filters.<name>[<key>]` -> the filter's metadata namespace and the key in it. */
export function filterMetadataKey(key: string): { filter: string; field: string } | undefined {
  const m = FILTER_CONDITION.exec(key);
  return m ? { filter: m[1]!, field: m[2]! } : undefined;
}

export const FILTER_CONDITION_PREFIX = 'experimental.envoy.filters.';

/** A value of a filter-metadata condition: `v` (a string) or `[v]` (a list containing v), v non-empty. */
export function filterValueProblem(value: string): string | undefined {
  const inner = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  if (inner === '') return `"${value}": the value is empty`;
  if (/[\][]/.test(inner)) return `"${value}": write a list value as [v], with no other brackets`;
  return undefined;
}

const SERVICE_KINDS: Readonly<Record<string, { groups: readonly string[]; kind: AuthzTargetRef['kind'] }>> = {
  Service: { groups: ['', 'core'], kind: 'Service' },
  ServiceEntry: { groups: ['networking.istio.io'], kind: 'ServiceEntry' },
};

/**
 * A target reference as meshlite can honour it, or why not. Gateway API
 * objects (Gateway, GatewayClass) do not exist outside Kubernetes; a
 * Service is the ServiceEntry of that name, in the policy's own namespace.
 */
export function targetRefOf(
  raw: { group?: string; kind: string; name: string; namespace?: string },
  policyNamespace: string,
): AuthzTargetRef | { problem: string; field: 'kind' | 'group' | 'namespace' } {
  const known = SERVICE_KINDS[raw.kind];
  if (!known) {
    const why =
      raw.kind === 'Gateway' || raw.kind === 'GatewayClass'
        ? `there are no Gateway API objects outside Kubernetes: select the gateway's workloads with spec.selector instead`
        : "only Service and ServiceEntry (a ServiceEntry of the policy's namespace) can be targeted";
    return { problem: `kind ${raw.kind} cannot be targeted: ${why}`, field: 'kind' };
  }
  const group = raw.group ?? '';
  if (!known.groups.includes(group)) {
    return { problem: `kind ${raw.kind} belongs to group "${known.groups[0]}", not "${group}"`, field: 'group' };
  }
  if (raw.namespace !== undefined && raw.namespace !== policyNamespace) {
    return { problem: `a policy can only target objects of its own namespace "${policyNamespace}"`, field: 'namespace' };
  }
  return { kind: known.kind, name: raw.name };
}
