// The registry of config kinds meshlite reads: one plug-in per kind in this folder.
import { authorizationPolicy } from './authorization-policy.js';
import { destinationRule } from './destination-rule.js';
import { gateway } from './gateway.js';
import type { KindHandler } from './kind-handler.js';
import { legacyMeshPolicy, legacyPolicy } from './legacy-authentication-policy.js';
import { meshConfig } from './mesh-config.js';
import { peerAuthentication } from './peer-authentication.js';
import { requestAuthentication } from './request-authentication.js';
import { serviceEntry } from './service-entry.js';
import { sidecar } from './sidecar.js';
import { virtualService } from './virtual-service.js';
import { workloadEntry } from './workload-entry.js';
import { workloadGroup } from './workload-group.js';

export type { KindHandler, LoadedResource } from './kind-handler.js';

export const KIND_HANDLERS: readonly KindHandler[] = [
  peerAuthentication,
  destinationRule,
  serviceEntry,
  workloadEntry,
  workloadGroup,
  meshConfig,
  legacyPolicy,
  legacyMeshPolicy,
  gateway,
  virtualService,
  authorizationPolicy,
  requestAuthentication,
  sidecar,
];

/** Istio kinds meshlite knows of but does not translate yet: refused, never silently ignored. */
export const UNSUPPORTED_KINDS: ReadonlyMap<string, string> = new Map([
  ['EnvoyFilter', 'networking.istio.io'],
  ['ProxyConfig', 'networking.istio.io'],
  ['Telemetry', 'telemetry.istio.io'],
  ['WasmPlugin', 'extensions.istio.io'],
]);

export function findHandler(group: string, kind: string): KindHandler | undefined {
  return KIND_HANDLERS.find((h) => h.group === group && h.kind === kind);
}
