// Shared by the agent's Envoy tests: a logger that keeps what it was told,
// polling with a deadline, a static bootstrap whose listener is live at once,
// and a supervisor whose Envoy is always stopped when the test ends.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvoySupervisor, type EnvoySupervisorOptions } from '../../src/agent/envoy-supervisor.js';
import type { Logger } from '../../src/util/logger.js';
import { envoyOrThrow } from '../support/envoy-binary.js';

export interface LogEntry {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

export function memoryLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: string) => (fields: object, msg?: string) =>
    void entries.push({ level, msg: msg ?? '', fields: fields as Record<string, unknown> });
  return { entries, info: at('info'), warn: at('warn'), debug: at('debug'), error: at('error') };
}

/** Polls `probe` until it returns a value other than undefined; throws with `what` after timeoutMs. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A bootstrap with only an admin and one listener answering every request with 200 "up <name>". */
export function writeStaticBootstrap(path: string, o: { adminPort: number; listenerHost: string; listenerPort: number; name: string }) {
  const bootstrap = {
    node: { id: o.name, cluster: o.name },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: o.adminPort } } },
    static_resources: {
      listeners: [
        {
          name: 'up',
          address: { socket_address: { address: o.listenerHost, port_value: o.listenerPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'up',
                    route_config: {
                      virtual_hosts: [
                        {
                          name: 'all',
                          domains: ['*'],
                          routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: `up ${o.name}` } } }],
                        },
                      ],
                    },
                    http_filters: [
                      {
                        name: 'envoy.filters.http.router',
                        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    },
  };
  writeFileSync(path, JSON.stringify(bootstrap, null, 2), { mode: 0o600 });
}

/** Supervisors made here are stopped (SIGKILL if need be) by stopAll, pass or fail. */
export class Supervisors {
  private readonly all: EnvoySupervisor[] = [];

  make(o: Omit<EnvoySupervisorOptions, 'envoyBin' | 'logger'> & Partial<Pick<EnvoySupervisorOptions, 'envoyBin' | 'logger'>>) {
    const supervisor = new EnvoySupervisor({ envoyBin: envoyOrThrow(), logger: memoryLogger(), stopGraceMs: 5000, ...o });
    this.all.push(supervisor);
    return supervisor;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.all.map((s) => s.stop('SIGTERM')));
  }
}

/** Body of GET url, or undefined when nothing answers. */
export async function getText(url: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
