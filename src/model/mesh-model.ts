// The resolved mesh: registry plus policy indexes, built once per config set
// and shared (read-only) by every per-proxy translation.
import type { ConfigSet, MeshConfigSpec } from '../config/types.js';
import { AuthorizationIndex } from './authorization.js';
import { DestinationRuleIndex } from './destination-rules.js';
import { GatewayIndex } from './gateways.js';
import { PeerAuthenticationIndex } from './peer-authentication.js';
import { Registry } from './registry.js';

export interface MeshModel {
  config: ConfigSet;
  mesh: MeshConfigSpec;
  registry: Registry;
  peerAuthn: PeerAuthenticationIndex;
  destinationRules: DestinationRuleIndex;
  gateways: GatewayIndex;
  authz: AuthorizationIndex;
  /**
   * JWKS documents meshlite fetched for RequestAuthentication `jwksUri`s (by
   * URI): an input like the config, so translation stays pure.
   */
  jwks: ReadonlyMap<string, string>;
}

/**
 * `registry`: the previous model's, when the caller knows the services,
 * workloads and MeshConfig it was built from are the very same documents.
 */
export function buildMeshModel(
  config: ConfigSet,
  jwks: ReadonlyMap<string, string> = new Map(),
  registry: Registry = new Registry(config),
): MeshModel {
  return {
    config,
    mesh: config.mesh,
    registry,
    peerAuthn: new PeerAuthenticationIndex(config, registry),
    destinationRules: new DestinationRuleIndex(config, registry),
    gateways: new GatewayIndex(config),
    authz: new AuthorizationIndex(config),
    jwks,
  };
}
