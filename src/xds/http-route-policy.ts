// Per-route policies of a VirtualService HTTP route as Envoy expresses them:
// header operations, fault injection and percentages.
import type { HeaderOperations, Headers, HttpRoute } from '../model/view-types.js';
import { protoDuration, typed } from './common.js';
import type { AnyOf, FractionalPercent, HeaderValueOption, HTTPFault, Route } from './envoy-types/index.js';

export const FAULT_FILTER = 'envoy.filters.http.fault';
export const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

type Warn = (message: string) => void;

/**
 * A 0-100 percentage as a FractionalPercent out of a million, which keeps
 * four decimals (Istio's precision); undefined when it rounds to nothing.
 */
export function fractionalPercent(percent: number): FractionalPercent | undefined {
  const numerator = Math.round(Math.min(100, Math.max(0, percent)) * 10_000);
  return numerator > 0 ? { numerator, denominator: 'MILLION' } : undefined;
}

/** The Envoy fields of a set of header operations (on a route or a weighted cluster). */
export interface HeaderMutation {
  request_headers_to_add?: HeaderValueOption[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOption[];
  response_headers_to_remove?: string[];
  /** A `set`/`add` of `host` or `:authority`, which Envoy only allows as a host rewrite. */
  authority?: string;
}

/** The header fields Route and ClusterWeight share. */
export type HeaderMutationFields = Pick<
  Route,
  'request_headers_to_add' | 'request_headers_to_remove' | 'response_headers_to_add' | 'response_headers_to_remove'
>;

const isAuthority = (name: string) => name.toLowerCase() === 'host' || name.toLowerCase() === ':authority';
// Envoy refuses header mutations of these, rejecting the whole route configuration.
const isInternal = (name: string) => name.startsWith(':') || name.toLowerCase() === 'host';

function sortedEntries(record: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function headerValues(ops: HeaderOperations | undefined, request: boolean, where: string, warn: Warn) {
  const add: HeaderValueOption[] = [];
  const remove: string[] = [];
  let authority: string | undefined;
  if (!ops) return { add, remove, authority };
  const side = request ? 'request' : 'response';
  // `set` before `add`, each sorted, as Istio emits them; an authority from `set` wins over `add`.
  for (const [kind, record] of [
    ['set', ops.set],
    ['add', ops.add],
  ] as const) {
    for (const [key, value] of sortedEntries(record)) {
      if (request && isAuthority(key)) {
        if (kind === 'set' || authority === undefined) authority = value;
        continue;
      }
      if (isInternal(key)) {
        warn(`${where}: headers.${side}.${kind} of "${key}" dropped: Envoy does not allow modifying it`);
        continue;
      }
      // APPEND_IF_EXISTS_OR_ADD is the proto default, which canonical JSON leaves out.
      add.push(kind === 'set' ? { header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' } : { header: { key, value } });
    }
  }
  for (const key of ops.remove) {
    if (isInternal(key)) warn(`${where}: headers.${side}.remove of "${key}" dropped: Envoy does not allow removing it`);
    else remove.push(key);
  }
  return { add, remove, authority };
}

export function headerMutation(headers: Headers | undefined, where: string, warn: Warn): HeaderMutation {
  const req = headerValues(headers?.request, true, where, warn);
  const resp = headerValues(headers?.response, false, where, warn);
  const out: HeaderMutation = {};
  if (req.add.length) out.request_headers_to_add = req.add;
  if (req.remove.length) out.request_headers_to_remove = req.remove;
  if (resp.add.length) out.response_headers_to_add = resp.add;
  if (resp.remove.length) out.response_headers_to_remove = resp.remove;
  if (req.authority !== undefined) out.authority = req.authority;
  return out;
}

/** Concatenates two mutations (the second's authority only fills a gap, as Istio does for a sole destination). */
export function mergeMutations(a: HeaderMutation, b: HeaderMutation): HeaderMutation {
  const out: HeaderMutation = {};
  for (const key of [
    'request_headers_to_add',
    'request_headers_to_remove',
    'response_headers_to_add',
    'response_headers_to_remove',
  ] as const) {
    const joined = [...(a[key] ?? []), ...(b[key] ?? [])];
    if (joined.length) (out as Record<string, unknown>)[key] = joined;
  }
  const authority = a.authority ?? b.authority;
  if (authority !== undefined) out.authority = authority;
  return out;
}

/** The mutation's Envoy fields, in the order Route and ClusterWeight declare them. */
export function mutationFields(m: HeaderMutation): HeaderMutationFields {
  const out: HeaderMutationFields = {};
  if (m.request_headers_to_add) out.request_headers_to_add = m.request_headers_to_add;
  if (m.request_headers_to_remove) out.request_headers_to_remove = m.request_headers_to_remove;
  if (m.response_headers_to_add) out.response_headers_to_add = m.response_headers_to_add;
  if (m.response_headers_to_remove) out.response_headers_to_remove = m.response_headers_to_remove;
  return out;
}

/**
 * The route's HTTPFault, or undefined when it injects nothing. As in Istio
 * (and Envoy, whose FaultDelay/FaultAbort default to 0%), a delay or abort
 * without a percentage affects no request, so it is left out with a warning.
 */
export function faultConfig(fault: HttpRoute['fault'], where: string, warn: Warn): AnyOf<typeof FAULT_TYPE> | undefined {
  if (!fault) return undefined;
  const out: HTTPFault = {};
  if (fault.delay) {
    const percentage = fault.delay.percentage === undefined ? undefined : fractionalPercent(fault.delay.percentage);
    const fixedDelay = protoDuration(fault.delay.fixedDelay);
    if (fault.delay.percentage === undefined) warn(`${where}: fault.delay has no percentage, so it delays no request`);
    else if (fixedDelay === '0s')
      warn(`${where}: fault.delay.fixedDelay "${fault.delay.fixedDelay}" is not a positive duration; delay dropped`);
    else if (percentage) out.delay = { fixed_delay: fixedDelay, percentage };
  }
  if (fault.abort) {
    const percentage = fault.abort.percentage === undefined ? undefined : fractionalPercent(fault.abort.percentage);
    const status = fault.abort.httpStatus;
    if (fault.abort.percentage === undefined) warn(`${where}: fault.abort has no percentage, so it aborts no request`);
    else if (!(status >= 200 && status < 600)) warn(`${where}: fault.abort.httpStatus ${status} is outside 200-599; abort dropped`);
    else if (percentage) out.abort = { http_status: status, percentage };
  }
  return out.delay || out.abort ? typed(FAULT_TYPE, out) : undefined;
}
