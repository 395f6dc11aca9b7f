// The access-control step of an inbound request or connection, through the
// RBAC evaluator: HTTP filters with the per-filter config of the virtual host
// and route the request takes (meshlite keeps HTTP policies there, so they
// change over RDS), network filters for the connection. A deny the evaluator
// could not really decide is unpredictable, not a 403.
import type { JsonObject } from './dump-index.js';
import { evaluateHttpFilters, evaluateNetworkFilters, type RbacDecision, type RequestFacts } from './rbac-evaluator.js';

export type AccessStep = { verdict: 'allow' | 'deny' | 'unknown'; reason: string };

export function httpAccess(hcm: JsonObject, perFilterConfig: Record<string, unknown>, facts: RequestFacts): AccessStep {
  const filters = Array.isArray(hcm.http_filters) ? hcm.http_filters : [];
  return step(evaluateHttpFilters(filters, facts, { perFilterConfig }));
}

export function networkAccess(filters: readonly unknown[], facts: RequestFacts): AccessStep {
  return step(evaluateNetworkFilters(filters, facts));
}

function step(decision: RbacDecision): AccessStep {
  if (decision.undetermined) return { verdict: 'unknown', reason: decision.reason };
  const by = decision.decidedBy;
  const where = by ? ` (${by.filter})` : '';
  return { verdict: decision.verdict, reason: `${decision.reason}${where}` };
}
