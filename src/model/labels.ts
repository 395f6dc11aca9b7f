import type { Labels } from '../config/types.js';

/** True when every selector label is present with the same value (an empty selector matches all). */
export function matchesSelector(selector: Labels, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector)) if (labels[key] !== value) return false;
  return true;
}

/** Istio's own label marking a workload that runs a sidecar. */
export const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

export function hasSidecar(labels: Labels): boolean {
  return labels[TLS_MODE_LABEL] === 'istio';
}
