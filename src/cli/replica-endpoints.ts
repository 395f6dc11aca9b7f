// The ADS addresses of every replica, for a bootstrap or an agent that should
// fail over between them: given as a list, or read from the store's registry.
import type { MeshView } from '../store/replica-registry.js';
import { exitWith } from './state.js';

export interface Endpoint {
  host: string;
  port: number;
}

/** `a:1,b:2` -> endpoints; throws one line naming the entry that is not a host:port. */
export function parseEndpointList(text: string, flag: string): Endpoint[] {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) throw new Error(`${flag}: list at least one host:port`);
  return entries.map((entry) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry);
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535) throw new Error(`${flag}: "${entry}" is not a host:port`);
    return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
  });
}

/** For `bootstrap -c`: the --control-plane list, or undefined (--ads-address then applies). */
export function replicaEndpointsOrExit(opts: { controlPlane?: string }): Endpoint[] | undefined {
  if (opts.controlPlane === undefined) return undefined;
  return endpointsOrExit(opts.controlPlane, '--control-plane');
}

/** The ADS address of every replica registered in the store (each once), or one line and exit 1 when there is none. */
export function registeredEndpointsOrExit(mesh: MeshView, where: string): Endpoint[] {
  if (mesh.replicas.length === 0) exitWith(`meshlite bootstrap: no replica is registered in ${where}; start meshlite serve --store first`);
  return endpointsOrExit([...new Set(mesh.replicas.map((r) => r.adsAddress))].join(','), 'the registered ADS addresses');
}

function endpointsOrExit(text: string, flag: string): Endpoint[] {
  try {
    return parseEndpointList(text, flag);
  } catch (err) {
    return exitWith(`meshlite bootstrap: ${(err as Error).message}`);
  }
}
