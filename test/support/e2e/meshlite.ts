// `meshlite serve` as a child process, and small clients for its admin API.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../paths.js';
import type { ManagedProcess, ProcessManager } from './process-manager.js';

export const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const execFileAsync = promisify(execFile);

export interface MeshliteOptions {
  /** `-c <configDir>`; ignored when `source` is given. */
  configDir: string;
  /** Where the config comes from instead of `-c configDir`, e.g. `--store etcd://... --store-key-file f`. */
  source?: readonly string[];
  /** The process name in logs (several replicas in one test). */
  name?: string;
  stateDir: string;
  /** e.g. `20s`; meshlite's default (24h) otherwise. */
  certTtl?: string;
  logLevel?: string;
  /** `--secrets-dir`: credentials for `credentialName` (keep it outside `configDir`). */
  secretsDir?: string;
  /** `--jwks-refresh`, e.g. `1s`. */
  jwksRefresh?: string;
  /** More `serve` flags (e.g. `--max-connection-age 3s`). */
  extraArgs?: readonly string[];
}

export interface Meshlite {
  adsPort: number;
  adminPort: number;
  adsAddress: string;
  adminUrl: string;
  /** The current process (a new one after restart). */
  process: ManagedProcess;
  /** Every log line so far, across restarts. */
  logs(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** Start again with the same ports and state directory (stops first if running). */
  restart(): Promise<void>;
}

const SERVING = /"msg":"meshlite serving"/;

/** Starts meshlite on free ports (the first run asks for port 0 and reads the real ones from its log). */
export async function startMeshlite(pm: ProcessManager, options: MeshliteOptions): Promise<Meshlite> {
  let adsPort = 0;
  let adminPort = 0;
  const runs: ManagedProcess[] = [];
  const launch = async (): Promise<ManagedProcess> => {
    const args = [
      CLI,
      'serve',
      ...(options.source ?? ['-c', options.configDir]),
      '--state-dir',
      options.stateDir,
      '--ads-address',
      `127.0.0.1:${adsPort}`,
      '--admin-address',
      `127.0.0.1:${adminPort}`,
      '--debounce',
      '100',
      '--log-level',
      options.logLevel ?? 'info',
      ...(options.certTtl ? ['--cert-ttl', options.certTtl] : []),
      ...(options.secretsDir ? ['--secrets-dir', options.secretsDir] : []),
      ...(options.jwksRefresh ? ['--jwks-refresh', options.jwksRefresh] : []),
      ...(options.extraArgs ?? []),
    ];
    const p = pm.start(options.name ?? 'meshlite', process.execPath, args, { cwd: REPO_ROOT });
    runs.push(p);
    await p.waitForLog(SERVING, 20_000);
    const line = p
      .log()
      .split('\n')
      .find((l) => SERVING.test(l))!;
    const serving = JSON.parse(line) as { ads: string; admin: string };
    adsPort = Number(serving.ads.split(':').pop());
    adminPort = Number(serving.admin.split(':').pop());
    return p;
  };
  const handle: Meshlite = {
    adsPort: 0,
    adminPort: 0,
    adsAddress: '',
    adminUrl: '',
    process: await launch(),
    logs: () => runs.map((r) => r.log()).join(''),
    async stop() {
      await handle.process.stop(5000);
    },
    async restart() {
      await handle.stop();
      handle.process = await launch();
    },
  };
  Object.assign(handle, { adsPort, adminPort, adsAddress: `127.0.0.1:${adsPort}`, adminUrl: `http://127.0.0.1:${adminPort}` });
  return handle;
}

/** Runs a one-shot meshlite command (bootstrap, token) and returns its stdout. */
export async function meshliteCli(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`meshlite ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

async function get(url: string, timeoutMs = 3000): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
}

export async function adminJson<T = any>(adminUrl: string, path: string): Promise<T> {
  const res = await get(`${adminUrl}${path}`);
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`GET ${adminUrl}${path}: ${res.status} ${text.slice(0, 200)}`);
  }
}

export async function adminText(adminUrl: string, path: string): Promise<string> {
  return (await get(`${adminUrl}${path}`)).text();
}

export interface ConfigStatus {
  state: 'ok' | 'rejected' | 'not loaded';
  generation?: number;
  servingGeneration?: number;
  errors?: string[];
}

export const configz = (adminUrl: string) => adminJson<ConfigStatus>(adminUrl, '/debug/configz');

/** The value of one unlabelled Prometheus sample, or undefined. */
export async function metricValue(adminUrl: string, name: string): Promise<number | undefined> {
  const text = await adminText(adminUrl, '/metrics');
  const m = new RegExp(`^${name}(?:\\{\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}
