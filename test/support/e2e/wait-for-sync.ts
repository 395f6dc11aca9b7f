// Waits for meshlite to serve a config generation and for every connected
// proxy to have ACKed it (the e2e tests never sleep for a fixed time).
import { setTimeout as sleep } from 'node:timers/promises';
import { adminJson, type ConfigStatus, configz } from './meshlite.js';

export interface SyncOptions {
  /** Wait until /debug/configz reports state ok at this generation or later. */
  generation?: number;
  /** These proxies must be connected (and synced) too. */
  proxies?: readonly string[];
  timeoutMs?: number;
  intervalMs?: number;
}

interface TypeSync {
  type: string;
  state: string;
  nacked?: { message: string };
}
interface ProxySync {
  proxy: string;
  synced: boolean;
  types: TypeSync[];
}

export async function waitForSync(adminUrl: string, options: SyncOptions = {}): Promise<ProxySync[]> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing polled yet';
  for (;;) {
    try {
      const status = await configz(adminUrl);
      if (options.generation !== undefined && !(status.state === 'ok' && (status.generation ?? 0) >= options.generation)) {
        last = `configz is ${describeStatus(status)}, waiting for generation ${options.generation}`;
      } else {
        // In store mode the endpoint answers {proxies, mesh}: this replica's proxies are under `proxies`.
        const answer = await adminJson<ProxySync[] | { proxies: ProxySync[] }>(adminUrl, '/debug/syncz');
        const syncz = Array.isArray(answer) ? answer : answer.proxies;
        const connected = new Set(syncz.map((p) => p.proxy));
        const missing = (options.proxies ?? []).filter((p) => !connected.has(p));
        const unsynced = syncz.filter((p) => !p.synced);
        if (missing.length === 0 && unsynced.length === 0) return syncz;
        const parts: string[] = [];
        if (missing.length) parts.push(`not connected: ${missing.join(', ')}`);
        for (const p of unsynced) {
          const types = p.types.map((t) => `${t.type}=${t.state}${t.nacked ? ` (NACK: ${t.nacked.message})` : ''}`).join(' ');
          parts.push(`${p.proxy} unsynced [${types}]`);
        }
        last = `configz ${describeStatus(status)}; ${parts.join('; ')}`;
      }
    } catch (err) {
      last = `admin not answering: ${(err as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`waitForSync: not synced after ${timeoutMs} ms: ${last}`);
    await sleep(options.intervalMs ?? 50);
  }
}

/** Polls /debug/configz until `accept` holds. */
export async function waitForConfigz(
  adminUrl: string,
  accept: (s: ConfigStatus) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<ConfigStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: ConfigStatus | string = 'nothing polled yet';
  for (;;) {
    try {
      const status = await configz(adminUrl);
      if (accept(status)) return status;
      last = status;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`waitForConfigz: ${what} not reached after ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await sleep(50);
  }
}

function describeStatus(s: ConfigStatus): string {
  return s.state === 'ok' ? `ok@${s.generation}` : s.state === 'rejected' ? `rejected (serving ${s.servingGeneration})` : s.state;
}

/** Current generation being served (0 when none). */
export async function currentGeneration(adminUrl: string): Promise<number> {
  const s = await configz(adminUrl);
  return s.state === 'ok' ? (s.generation ?? 0) : (s.servingGeneration ?? 0);
}
