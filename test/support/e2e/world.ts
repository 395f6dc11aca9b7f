// The S1 world: meshlite, an httpbin app per namespace, and an Envoy per
// sidecar workload (httpbin.foo, sleep.foo, httpbin.bar, sleep.bar), all synced.
import { join } from 'node:path';
import { REPO_ROOT } from '../paths.js';
import { call, type CallResult, matrixKey, type Matrix, NAMESPACES, type Namespace } from './client.js';
import { type ConfigDir, prepareConfigDir, readWorkloads, type WorkloadInfo } from './config-dir.js';
import { startAgentProxy } from './agent.js';
import { type Envoy, startEnvoy } from './envoy.js';
import { type Meshlite, startMeshlite } from './meshlite.js';
import type { ManagedProcess, ProcessManager } from './process-manager.js';
import { currentGeneration, waitForSync } from './wait-for-sync.js';

const HTTPBIN = join(REPO_ROOT, 'dist/test/support/apps/httpbin.js');
export const TARGET_PORT = 80;

export interface WorldOptions {
  /** A prepared config directory; a fresh copy of examples/s1-auto-mtls otherwise. */
  cfg?: ConfigDir;
  certTtl?: string;
  /** Extra Envoy command-line options for every sidecar (e.g. drain settings). */
  envoyArgs?: readonly string[];
  /** meshlite's `--jwks-refresh`. */
  jwksRefresh?: string;
  /** Extra `meshlite serve` flags. */
  meshliteArgs?: readonly string[];
  /** Run every sidecar under `meshlite agent` (keys made on the node, SDS and ADS over Unix sockets). */
  agents?: { agentArgs?: readonly string[]; tokenTtl?: string };
}

export interface World {
  pm: ProcessManager;
  cfg: ConfigDir;
  stateDir: string;
  meshlite: Meshlite;
  workloads: WorkloadInfo[];
  /** Envoys by proxy id. */
  envoys: Map<string, Envoy>;
  apps: Map<string, ManagedProcess>;
  sidecarProxies: string[];
  workload(id: string): WorkloadInfo;
  envoy(id: string): Envoy;
  /** sleep.<from> calls httpbin.<to>. */
  call(from: Namespace, to: Namespace, path?: string): Promise<CallResult>;
  /** All 9 calls of the scenarios (codes only). */
  matrix(path?: string): Promise<Matrix>;
  /** Makes a config change, then waits for the next generation and every proxy's ACK; returns the generation. */
  edit(change: () => void | Promise<void>): Promise<number>;
  /** Waits for every sidecar proxy to be connected and synced. */
  synced(generation?: number): Promise<void>;
}

export async function startWorld(pm: ProcessManager, options: WorldOptions = {}): Promise<World> {
  const cfg = options.cfg ?? (await prepareConfigDir(pm.dir));
  const stateDir = join(pm.dir, 'state');
  const workloads = readWorkloads(cfg.dir);
  const byId = new Map(workloads.map((w) => [w.id, w]));
  const workload = (id: string) => {
    const w = byId.get(id);
    if (!w) throw new Error(`no workload ${id} in ${cfg.dir}`);
    return w;
  };

  const apps = new Map<string, ManagedProcess>();
  for (const ns of NAMESPACES) {
    const w = workload(`httpbin.${ns}`);
    const address = w.sidecar ? w.applicationAddress : w.address;
    apps.set(w.id, pm.start(`app-${w.id}`, process.execPath, [HTTPBIN, address, String(TARGET_PORT)]));
  }
  const meshlite = await startMeshlite(pm, {
    configDir: cfg.dir,
    stateDir,
    certTtl: options.certTtl,
    jwksRefresh: options.jwksRefresh,
    extraArgs: options.meshliteArgs,
  });
  await Promise.all([...apps.values()].map((a) => a.waitForLog(/httpbin listening/, 10_000)));

  const sidecarProxies = workloads
    .filter((w) => w.sidecar)
    .map((w) => w.id)
    .sort();
  const envoys = new Map<string, Envoy>();
  // allSettled: on a failure, no start is still in flight when the test cleans up.
  const started = await Promise.allSettled(
    sidecarProxies.map((id) =>
      options.agents
        ? startAgentProxy(pm, id, {
            configDir: cfg.dir,
            stateDir,
            adsAddress: meshlite.adsAddress,
            envoyArgs: options.envoyArgs,
            ...options.agents,
          })
        : startEnvoy(pm, id, { configDir: cfg.dir, stateDir, adsAddress: meshlite.adsAddress, args: options.envoyArgs }),
    ),
  );
  for (const s of started) {
    if (s.status === 'rejected') throw s.reason;
    envoys.set(s.value.name, s.value);
  }

  const synced = async (generation?: number) => {
    await waitForSync(meshlite.adminUrl, { proxies: sidecarProxies, generation, timeoutMs: 45_000 });
  };
  await synced(1);

  const world: World = {
    pm,
    cfg,
    stateDir,
    meshlite,
    workloads,
    envoys,
    apps,
    sidecarProxies,
    workload,
    envoy(id) {
      const e = envoys.get(id);
      if (!e) throw new Error(`no Envoy for ${id}`);
      return e;
    },
    call(from, to, path = '/headers') {
      return call({ from: workload(`sleep.${from}`), to: workload(`httpbin.${to}`), targetPort: TARGET_PORT }, path);
    },
    async matrix(path = '/headers') {
      const cells = NAMESPACES.flatMap((from) => NAMESPACES.map((to) => [from, to] as const));
      const codes = await Promise.all(cells.map(([from, to]) => world.call(from, to, path)));
      return Object.fromEntries(cells.map(([from, to], i) => [matrixKey(from, to), codes[i]!.code]));
    },
    async edit(change) {
      const before = await currentGeneration(meshlite.adminUrl);
      await change();
      await synced(before + 1);
      return before + 1;
    },
    synced,
  };
  return world;
}
