// A meshlite with a gateway Envoy and some sidecar Envoys, for gateway e2e
// tests: started and synced, with `meshlite diff`, live config edits, and
// checks of what the gateway Envoy really holds (listener active, not
// warming, with these filter chains; these secrets served).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../paths.js';
import { type ConfigDir, writeConfigFile } from './config-dir.js';
import { type Envoy, startEnvoy } from './envoy.js';
import { activeSecret, type Sections, waitForEnvoyConfig, warmingClusters } from './envoy-state.js';
import { CLI, type Meshlite, startMeshlite } from './meshlite.js';
import type { ProcessManager } from './process-manager.js';
import { currentGeneration, waitForSync } from './wait-for-sync.js';

type Json = Record<string, any>;

export interface GatewayMesh {
  cfg: ConfigDir;
  stateDir: string;
  meshlite: Meshlite;
  gateway: Envoy;
  /** Every Envoy by proxy id (the gateway's too). */
  envoys: Map<string, Envoy>;
  proxies: string[];
  /** Writes a config file atomically, waits for the next generation to be ACKed by every proxy; returns it. */
  edit(file: string, text: string): Promise<number>;
  /** `meshlite diff` (live, against meshlite's admin) for `proxy`: stdout and exit status. */
  diff(proxy: string): { stdout: string; status: number | null };
}

export const DIFF_MATCH = 'Clusters Match\nListeners Match\nRoutes Match\nSecrets Match\n';

export interface GatewayMeshOptions {
  gatewayId: string;
  sidecars?: readonly string[];
  secretsDir?: string;
}

/** meshlite on `cfg` (with `--secrets-dir` if given), the gateway's Envoy and the sidecars' Envoys, all synced. */
export async function startGatewayMesh(pm: ProcessManager, cfg: ConfigDir, o: GatewayMeshOptions): Promise<GatewayMesh> {
  const stateDir = join(pm.dir, 'state');
  const meshlite = await startMeshlite(pm, { configDir: cfg.dir, stateDir, secretsDir: o.secretsDir });
  const proxies = [o.gatewayId, ...(o.sidecars ?? [])].sort();
  const envoys = new Map<string, Envoy>();
  // allSettled: on a failure, no start is still in flight when the test cleans up.
  const started = await Promise.allSettled(proxies.map((id) => startEnvoy(pm, id, { configDir: cfg.dir, stateDir, adsAddress: meshlite.adsAddress })));
  for (const s of started) {
    if (s.status === 'rejected') throw s.reason;
    envoys.set(s.value.name, s.value);
  }
  await waitForSync(meshlite.adminUrl, { proxies, generation: 1, timeoutMs: 45_000 });
  return {
    cfg,
    stateDir,
    meshlite,
    gateway: envoys.get(o.gatewayId)!,
    envoys,
    proxies,
    async edit(file, text) {
      const before = await currentGeneration(meshlite.adminUrl);
      writeConfigFile(cfg, file, text);
      await waitForSync(meshlite.adminUrl, { proxies, generation: before + 1, timeoutMs: 30_000 });
      return before + 1;
    },
    diff(proxy) {
      const envoy = envoys.get(proxy);
      if (!envoy) throw new Error(`no Envoy for ${proxy}`);
      const r = spawnSync(process.execPath, [CLI, 'diff', '--proxy', proxy, '--envoy-admin', envoy.adminUrl, '--meshlite-admin', meshlite.adminUrl], { cwd: REPO_ROOT, encoding: 'utf8' });
      return { stdout: r.stdout + r.stderr, status: r.status };
    },
  };
}

/** A dynamic listener's states by name (undefined when Envoy has no such listener). */
export function dynamicListener(s: Sections, name: string): { active?: Json; warming?: Json } | undefined {
  const l = (s.ListenersConfigDump?.dynamic_listeners ?? []).find((x: Json) => x.name === name);
  return l ? { active: l.active_state?.listener, warming: l.warming_state?.listener } : undefined;
}

export interface GatewayExpectation {
  listener: string;
  /** Filter chain names of the active listener, in order. */
  chains: readonly string[];
  /** SDS secrets that must be active. */
  secrets?: readonly string[];
  /** Accept a warming listener update (a referenced secret is not served). */
  allowWarming?: boolean;
}

/** Check for waitForEnvoyConfig: the listener is active with exactly these chains, not warming, and its secrets are served. */
export function gatewayHolds(want: GatewayExpectation): (s: Sections) => string | undefined {
  return (s) => {
    const l = dynamicListener(s, want.listener);
    if (!l?.active) return `listener ${want.listener} is not active`;
    if (l.warming && !want.allowWarming) return `listener ${want.listener} is warming (chains ${chainNames(l.warming).join(', ')})`;
    const chains = chainNames(l.active);
    if (chains.join('\n') !== want.chains.join('\n')) return `listener ${want.listener} has chains ${chains.join(', ')}`;
    for (const secret of want.secrets ?? []) if (!activeSecret(s, secret)) return `secret ${secret} is not active`;
    const warming = warmingClusters(s);
    if (warming.length > 0) return `clusters warming: ${warming.join(', ')}`;
    return undefined;
  };
}

export function chainNames(listener: Json | undefined): string[] {
  return (listener?.filter_chains ?? []).map((c: Json) => String(c.name));
}

export function waitForGateway(envoy: Envoy, want: GatewayExpectation, timeoutMs = 20_000): Promise<Sections> {
  return waitForEnvoyConfig(envoy, `${want.listener} with ${want.chains.join(', ')}`, gatewayHolds(want), timeoutMs);
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

export interface CredentialzReport {
  directory: string | null;
  credentials: { name: string; certificate?: { serialNumber: string; subjectAltNames: string[] }; referencedBy: Record<string, string[]>; errors: string[] }[];
  missing: { secretName: string; reason: string; proxies: string[] }[];
}

/** Polls meshlite's /debug/credentialz until `check` returns undefined (or what is still missing). */
export async function waitForCredentialz(meshlite: Meshlite, what: string, check: (r: CredentialzReport) => string | undefined, timeoutMs = 15_000): Promise<CredentialzReport> {
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing polled yet';
  for (;;) {
    try {
      const res = await fetch(`${meshlite.adminUrl}/debug/credentialz`, { signal: AbortSignal.timeout(3000) });
      const report = (await res.json()) as CredentialzReport;
      const missing = check(report);
      if (missing === undefined) return report;
      last = missing;
    } catch (err) {
      last = `admin not answering: ${(err as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`credentialz: ${what} not reached after ${timeoutMs} ms: ${last}`);
    await sleep(50);
  }
}
