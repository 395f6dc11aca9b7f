// The ADS addresses of every replica, for a bootstrap or an agent that should
// fail over between them: given as a list, or read from the store's registry.
import { readMeshOrExit } from './replicas.js';
import { exitWith } from './state.js';
import type { StoreConnectionFlags } from './store-connection.js';

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

/** For `bootstrap`: undefined when neither --control-plane nor --store was given (--ads-address then applies). */
export async function replicaEndpointsOrExit(opts: StoreConnectionFlags & { controlPlane?: string }): Promise<Endpoint[] | undefined> {
  if (opts.controlPlane !== undefined && opts.store !== undefined)
    exitWith('meshlite bootstrap: pass --control-plane or --store, not both');
  if (opts.controlPlane !== undefined) {
    try {
      return parseEndpointList(opts.controlPlane, '--control-plane');
    } catch (err) {
      return exitWith(`meshlite bootstrap: ${(err as Error).message}`);
    }
  }
  if (opts.store === undefined) return undefined;
  const mesh = await readMeshOrExit({ ...opts, store: opts.store }, 'meshlite bootstrap');
  if (mesh.replicas.length === 0)
    exitWith(`meshlite bootstrap: no replica is registered in ${opts.store}; start meshlite serve --store first`);
  const addresses = [...new Set(mesh.replicas.map((r) => r.adsAddress))].join(',');
  try {
    return parseEndpointList(addresses, 'the registered ADS addresses');
  } catch (err) {
    return exitWith(`meshlite bootstrap: ${(err as Error).message}`);
  }
}
