// Which outbound cluster a VirtualService destination means.
import type { Destination } from '../config/types.js';
import type { MeshModel } from './mesh-model.js';
import { clusterName } from './names.js';

/**
 * The cluster for `destination` (host written in `namespace`), when it exists
 * among `known`: the port may be omitted for single-port services; a subset
 * must be defined by the DestinationRule the client sees.
 */
export function destinationCluster(
  model: MeshModel,
  known: ReadonlySet<string>,
  destination: Destination,
  namespace: string,
): string | undefined {
  const host = model.registry.resolveHost(destination.host, namespace);
  const service = model.registry.service(host);
  const port = destination.port ?? (service?.ports.length === 1 ? service.ports[0]!.number : undefined);
  if (port === undefined) return undefined;
  const name = clusterName('outbound', port, destination.subset ?? '', host);
  return known.has(name) ? name : undefined;
}
