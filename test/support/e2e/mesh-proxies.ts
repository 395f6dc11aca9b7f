// meshlite plus the Envoys of a few proxies (sidecars or gateways, any mix),
// started and synced: for e2e tests that need only part of an example's
// world. With `meshlite diff` per proxy, live config edits that wait for
// every proxy's ACK, and which Envoy process is running (to prove a change
// needed no restart).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../paths.js';
import { type ConfigDir, writeConfigFile } from './config-dir.js';
import { type Envoy, startEnvoy } from './envoy.js';
import { CLI, type Meshlite, startMeshlite } from './meshlite.js';
import type { ProcessManager } from './process-manager.js';
import { currentGeneration, waitForSync } from './wait-for-sync.js';

type Json = Record<string, any>;

export const DIFF_MATCH = 'Clusters Match\nListeners Match\nRoutes Match\nSecrets Match\n';

export interface MeshProxies {
  cfg: ConfigDir;
  stateDir: string;
  meshlite: Meshlite;
  /** Proxy ids, sorted. */
  proxies: string[];
  envoy(proxyId: string): Envoy;
  /** Writes a config file atomically, waits for the next generation to be ACKed by every proxy; returns it. */
  edit(file: string, text: string): Promise<number>;
  /** `meshlite diff` (live, against meshlite's admin) for `proxy`: output and exit status. */
  diff(proxy: string): { stdout: string; status: number | null };
}

export interface MeshProxiesOptions {
  proxies: readonly string[];
  /** `meshlite serve --secrets-dir`. */
  secretsDir?: string;
  /** Extra Envoy command-line options for every proxy (e.g. drain settings). */
  envoyArgs?: readonly string[];
}

/** meshlite on `cfg` and one Envoy per proxy (bootstrapped by `meshlite bootstrap`), all connected and synced. */
export async function startMeshProxies(pm: ProcessManager, cfg: ConfigDir, options: MeshProxiesOptions): Promise<MeshProxies> {
  const stateDir = join(pm.dir, 'state');
  const meshlite = await startMeshlite(pm, { configDir: cfg.dir, stateDir, secretsDir: options.secretsDir });
  const proxies = [...options.proxies].sort();
  const envoys = new Map<string, Envoy>();
  // allSettled: on a failure, no start is still in flight when the test cleans up.
  const started = await Promise.allSettled(
    proxies.map((id) => startEnvoy(pm, id, { configDir: cfg.dir, stateDir, adsAddress: meshlite.adsAddress, args: options.envoyArgs })),
  );
  for (const s of started) {
    if (s.status === 'rejected') throw s.reason;
    envoys.set(s.value.name, s.value);
  }
  await waitForSync(meshlite.adminUrl, { proxies, generation: 1, timeoutMs: 45_000 });
  const envoy = (id: string) => {
    const e = envoys.get(id);
    if (!e) throw new Error(`no Envoy for ${id}`);
    return e;
  };
  return {
    cfg,
    stateDir,
    meshlite,
    proxies,
    envoy,
    async edit(file, text) {
      const before = await currentGeneration(meshlite.adminUrl);
      writeConfigFile(cfg, file, text);
      await waitForSync(meshlite.adminUrl, { proxies, generation: before + 1, timeoutMs: 30_000 });
      return before + 1;
    },
    diff(proxy) {
      const r = spawnSync(
        process.execPath,
        [CLI, 'diff', '--proxy', proxy, '--envoy-admin', envoy(proxy).adminUrl, '--meshlite-admin', meshlite.adminUrl],
        { cwd: REPO_ROOT, encoding: 'utf8' },
      );
      return { stdout: r.stdout + r.stderr, status: r.status };
    },
  };
}

export interface EnvoyIdentity {
  pid: number | undefined;
  restartEpoch: number;
  /** Seconds since this process started (Envoy's own count). */
  uptimeSeconds: number;
}

/** Which Envoy process this is (same pid, hot-restart epoch 0, uptime growing = never restarted). */
export async function envoyIdentity(envoy: Envoy): Promise<EnvoyIdentity> {
  const info = await envoy.getJson<Json>('/server_info');
  return {
    pid: envoy.process.running ? envoy.process.pid : undefined,
    restartEpoch: Number(info.command_line_options?.restart_epoch ?? 0),
    uptimeSeconds: Number(String(info.uptime_current_epoch ?? '0').replace(/s$/, '')),
  };
}
