// What a node tells meshlite about itself in its metadata, beyond its id.
import type { NodeInfo } from './discovery-codec.js';

/**
 * Set ("true") by `meshlite agent` on the nodes it runs: the proxy's key is
 * made on its host and its `default` secret served there, so meshlite makes
 * no key for it and sends none.
 */
export const AGENT_NODE_METADATA = 'MESHLITE_AGENT';

export function keysOnNode(node: NodeInfo): boolean {
  const value = node.metadata[AGENT_NODE_METADATA];
  return value === true || value === 'true';
}
