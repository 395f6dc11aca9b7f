// Route retry policies as Istio sets them: a default on every outbound and
// gateway route to a destination, a VirtualService's `retries` layered over
// that default, and a narrow policy on inbound routes.
import type { HttpRoute } from '../model/view-types.js';
import { protoDuration, typed } from './common.js';
import type { envoy_config_route_v3_RetryPolicy as RetryPolicy } from './envoy-types/index.js';
import { TYPE } from './type-urls.js';

/** Istio's retry_on when `retries.retryOn` is not given (no status codes listed, so the last one adds nothing). */
export const DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';

/** Istio's default number of retries (3 attempts in all). */
export const DEFAULT_NUM_RETRIES = 2;

export const PREVIOUS_HOSTS_PREDICATE = 'envoy.retry_host_predicates.previous_hosts';

/**
 * The policy of a route to a destination when the VirtualService says nothing
 * (and the base of one that does): retries go to an endpoint not tried yet,
 * Envoy re-picking up to 5 times to find one.
 */
export function defaultRetryPolicy(): RetryPolicy {
  return {
    retry_on: DEFAULT_RETRY_ON,
    num_retries: DEFAULT_NUM_RETRIES,
    retry_host_predicate: [{ name: PREVIOUS_HOSTS_PREDICATE, typed_config: typed(TYPE.previousHosts) }],
    // An int64, which canonical proto3 JSON writes as a string.
    host_selection_retry_max_attempts: '5',
  };
}

/**
 * Inbound routes (sidecar to its own app) retry only a request the app's
 * connection reset before any of it was sent, which is always safe to repeat.
 */
export function inboundRetryPolicy(): RetryPolicy {
  return { retry_on: 'reset-before-request', num_retries: DEFAULT_NUM_RETRIES };
}

/**
 * Istio's conversion: unset `retries` is the default policy; attempts <= 0
 * disables retries; otherwise the default with the route's attempts, and its
 * retryOn and perTryTimeout when given. Integers in retryOn (100-599) are
 * status codes, which need `retriable-status-codes` in retry_on.
 */
export function retryPolicy(retries: HttpRoute['retries']): RetryPolicy | undefined {
  if (!retries) return defaultRetryPolicy();
  if (retries.attempts <= 0) return undefined;
  const { retry_on, retry_host_predicate, host_selection_retry_max_attempts } = defaultRetryPolicy();
  const codes: number[] = [];
  let conditions = retry_on;
  if (retries.retryOn) {
    const named: string[] = [];
    for (const part of retries.retryOn.split(',').map((p) => p.trim())) {
      if (!part) continue;
      if (/^\d+$/.test(part) && Number(part) >= 100 && Number(part) <= 599) codes.push(Number(part));
      else named.push(part);
    }
    if (codes.length > 0 && !named.includes('retriable-status-codes')) named.push('retriable-status-codes');
    conditions = named.join(',');
  }
  // Fields in the order the proto declares them, as canonical JSON has them.
  const out: RetryPolicy = { retry_on: conditions, num_retries: retries.attempts };
  if (retries.perTryTimeout) out.per_try_timeout = protoDuration(retries.perTryTimeout);
  out.retry_host_predicate = retry_host_predicate;
  out.host_selection_retry_max_attempts = host_selection_retry_max_attempts;
  if (codes.length > 0) out.retriable_status_codes = codes;
  return out;
}
