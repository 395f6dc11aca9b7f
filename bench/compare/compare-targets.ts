// The xDS servers the side-by-side benchmark drives: meshlite serve-only
// (serve-snapshots.ts), meshlite end to end (`meshlite serve` on the config
// directory, changed by rewriting the policy file), and the go-control-plane
// program (./go) with one or two cores. Each is a process of its own, whose
// CPU time and RSS are read from /proc.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeMeshMode } from '../push-config.js';
import { freePort, MeshliteProcess } from '../push-meshlite.js';
import { CERT_FILE, KEY_FILE, SNAPSHOT_FILE, STATE_MODES } from './snapshot-file.js';

const SERVE_SNAPSHOTS = fileURLToPath(new URL('./serve-snapshots.js', import.meta.url));
const CLK_TCK = 100; // USER_HZ on Linux

export interface ProcUsage {
  cpuMs: number;
  rssBytes: number;
}

export function procUsage(pid: number): ProcUsage {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  const rss = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m)?.[1];
  return { cpuMs, rssBytes: Number(rss ?? 0) * 1024 };
}

/**
 * Resolves once the process used less than `maxBusy` of a core over the last
 * `windowMs` (sampled every 50 ms), with the CPU time at the start of that
 * quiet window: the work a change caused, without the idle tail.
 */
export async function waitIdle(pid: number, windowMs: number, timeoutMs: number, maxBusy = 0.05): Promise<ProcUsage & { idleAt: number }> {
  const deadline = Date.now() + timeoutMs;
  const samples: { at: number; cpuMs: number }[] = [];
  for (;;) {
    const at = performance.timeOrigin + performance.now();
    samples.push({ at, cpuMs: procUsage(pid).cpuMs });
    while (samples.length > 1 && samples[1]!.at <= at - windowMs) samples.shift();
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    if (last.at - first.at >= windowMs * 0.95 && last.cpuMs - first.cpuMs <= maxBusy * (last.at - first.at))
      return { idleAt: first.at, cpuMs: first.cpuMs, rssBytes: procUsage(pid).rssBytes };
    if (Date.now() > deadline) throw new Error(`server still busy after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Target {
  readonly name: string;
  readonly adsAddress: string;
  readonly pid: number;
  /** Makes the change that brings every proxy to state `state` (0 STRICT, 1 PERMISSIVE); resolves when it was made. */
  change(state: number): Promise<void>;
  /** Full garbage collection, so that RSS then says what is live. */
  gc(): Promise<void>;
  stop(): Promise<void>;
}

/** What every target is made from: the exported snapshots and TLS material, the config and state of meshlite. */
export interface TargetInputs {
  exportDir: string;
  configDir: string;
  stateDir: string;
  policyFile: string;
}

/** A server answering the control protocol of serve-snapshots.ts and the Go program. */
class ControlledProcess implements Target {
  private stderrTail = '';
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly adsAddress: string,
    private readonly controlUrl: string,
  ) {
    let partial = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) process.stderr.write(`[${name}] ${line}\n`);
    });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`${this.name} exited during startup:\n${this.stderrTail}`);
      try {
        if ((await fetch(`${this.controlUrl}/ready`)).status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms`);
  }

  private async post(path: string): Promise<void> {
    const res = await fetch(`${this.controlUrl}${path}`, { method: 'POST' });
    if (res.status !== 200) throw new Error(`${this.name} ${path}: ${res.status} ${await res.text()}`);
  }

  change(state: number): Promise<void> {
    return this.post(`/swap?state=${state}`);
  }

  gc(): Promise<void> {
    return this.post('/gc');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Last resort (process exit handler): synchronous. */
  killNow(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

const live = new Set<{ killNow(): void }>();
process.on('exit', () => {
  for (const t of live) t.killNow();
});

async function controlled(
  name: string,
  command: string,
  args: (ads: string, control: string) => string[],
  env: NodeJS.ProcessEnv,
): Promise<Target> {
  const ads = `127.0.0.1:${await freePort()}`;
  const control = `127.0.0.1:${await freePort()}`;
  const child = spawn(command, args(ads, control), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  const target = new ControlledProcess(name, child, ads, `http://${control}`);
  live.add(target);
  child.once('exit', () => live.delete(target));
  await target.waitReady(300_000);
  return target;
}

/** `nodeFlags`: extra flags for the node process, e.g. `--cpu-prof --cpu-prof-dir <dir>` (a profile is written when it stops). */
export function startServeOnly(inputs: TargetInputs, nodeFlags: readonly string[] = []): Promise<Target> {
  const file = (f: string) => join(inputs.exportDir, f);
  return controlled(
    'meshlite serve-only',
    process.execPath,
    (ads, control) => ['--expose-gc', ...nodeFlags, SERVE_SNAPSHOTS, file(SNAPSHOT_FILE), file(CERT_FILE), file(KEY_FILE), ads, control],
    {},
  );
}

export function startGoControlPlane(inputs: TargetInputs, binary: string, cores: number): Promise<Target> {
  const file = (f: string) => join(inputs.exportDir, f);
  return controlled(
    `go-control-plane ${cores} core${cores === 1 ? '' : 's'}`,
    binary,
    (ads, control) => [
      '-snapshots',
      file(SNAPSHOT_FILE),
      '-cert',
      file(CERT_FILE),
      '-key',
      file(KEY_FILE),
      '-ads',
      ads,
      '-control',
      control,
    ],
    { GOMAXPROCS: String(cores) },
  );
}

/** `meshlite serve` on the config directory: a change is the policy file rewritten, translation included. */
export async function startEndToEnd(inputs: TargetInputs, nodeFlags: readonly string[] = []): Promise<Target> {
  const ml = new MeshliteProcess(inputs.configDir, inputs.stateDir, await freePort(), await freePort());
  writeMeshMode(inputs.policyFile, STATE_MODES[0]!);
  ml.start([...nodeFlags]);
  const handle = { killNow: () => ml.killNow() };
  live.add(handle);
  await ml.waitReady(300_000);
  await ml.waitIdle(500, 120_000);
  return {
    name: 'meshlite end to end',
    adsAddress: ml.adsAddress,
    pid: ml.pid,
    change: async (state) => writeMeshMode(inputs.policyFile, STATE_MODES[state]!),
    gc: async () => void (await ml.gc()),
    stop: async () => {
      await ml.stop();
      live.delete(handle);
    },
  };
}
