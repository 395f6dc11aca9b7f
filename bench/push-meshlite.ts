// The meshlite under test, as a child process of its own: start it, wait until
// it serves, ask its preloaded agent (push-agent.ts) for GC / usage / CPU
// profiles, read /proc and /metrics, and stop it (always).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ActiveResources, AgentReply, AgentRequest, AgentUsage } from './push-agent.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const AGENT = fileURLToPath(new URL('./push-agent.js', import.meta.url));
const CLK_TCK = 100; // USER_HZ on Linux

/** A free TCP port on 127.0.0.1 (closed again before meshlite binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface ProcSample {
  /** utime + stime, milliseconds. */
  cpuMs: number;
  rssBytes: number;
  hwmBytes: number;
}

export class MeshliteProcess {
  readonly adsAddress: string;
  readonly adminUrl: string;
  private child: ChildProcess | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, (reply: AgentReply) => void>();
  private exited: Promise<number | null> = Promise.resolve(null);
  private stderrTail = '';

  constructor(
    configDir: string,
    readonly stateDir: string,
    adsPort: number,
    adminPort: number,
    /** Where the config comes from: `-c <configDir>` unless given (e.g. `--store <url> --store-key-file <f>`). */
    private readonly sourceArgs: readonly string[] = ['-c', configDir],
  ) {
    this.adsAddress = `127.0.0.1:${adsPort}`;
    this.adminUrl = `http://127.0.0.1:${adminPort}`;
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  start(extraNodeFlags: string[] = [], patch?: string, env: Record<string, string> = {}): void {
    const args = ['--expose-gc', '--import', AGENT, ...extraNodeFlags, MAIN, 'serve', ...this.sourceArgs, '--state-dir', this.stateDir];
    args.push(
      '--ads-address',
      this.adsAddress,
      '--admin-address',
      this.adminUrl.slice('http://'.length),
      '--log-level',
      process.env.BENCH_MESHLITE_LOG_LEVEL ?? 'warn',
    );
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      env: { ...process.env, ...env, MESHLITE_BENCH_PATCH: patch ?? '' },
    });
    this.child = child;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-4000);
      process.stderr.write(chunk.replace(/^/gm, '[meshlite] '));
    });
    child.on('message', (msg: AgentReply) => {
      if (msg?.agent !== 'reply') return;
      this.waiting.get(msg.id)?.(msg);
      this.waiting.delete(msg.id);
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    void this.exited.then((code) => {
      for (const done of this.waiting.values()) done({ agent: 'reply', id: -1, ok: false, error: `meshlite exited (${code})` });
      this.waiting.clear();
    });
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once /ready answers 200 and (unless `rootFile` is false: a store holds it) the CA root file exists. */
  async waitReady(timeoutMs: number, rootFile = true): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`meshlite exited during startup:\n${this.stderrTail}`);
      try {
        const res = await fetch(`${this.adminUrl}/ready`);
        if (res.status === 200 && (!rootFile || existsSync(`${this.stateDir}/ca/root-cert.pem`))) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`meshlite not ready after ${timeoutMs} ms`);
  }

  private agent(req: Omit<AgentRequest, 'id'>, timeoutMs = 120_000): Promise<AgentReply & { ok: true }> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`meshlite agent: no answer to ${req.agent}`));
      }, timeoutMs);
      this.waiting.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.ok) resolve(reply);
        else reject(new Error(`meshlite agent: ${reply.error}`));
      });
      this.child!.send({ ...req, id });
    });
  }

  async gc(): Promise<AgentUsage> {
    return (await this.agent({ agent: 'gc' })).usage!;
  }

  async usage(): Promise<AgentUsage> {
    return (await this.agent({ agent: 'usage' })).usage!;
  }

  async profileStart(): Promise<void> {
    await this.agent({ agent: 'profile-start' });
  }

  async profileStop(file: string): Promise<void> {
    await this.agent({ agent: 'profile-stop', file } as Omit<AgentRequest, 'id'>);
  }

  /** Active handles and timers by kind (after a GC, so closed ones are gone). */
  async activeResources(): Promise<ActiveResources> {
    return (await this.agent({ agent: 'resources' })).resources!;
  }

  /** A V8 heap snapshot of meshlite (stops it for a few seconds), for bench/heap-summary.ts. */
  async heapSnapshot(file: string): Promise<void> {
    await this.agent({ agent: 'heap-snapshot', file } as Omit<AgentRequest, 'id'>, 600_000);
  }

  /** CPU and memory from /proc: costs meshlite nothing, unlike a scrape. */
  proc(): ProcSample {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (key: string) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0) * 1024;
    return { cpuMs, rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') };
  }

  /**
   * Waits until meshlite used less than `maxBusy` of one core over the last
   * `windowMs` (sampled from /proc every 100 ms). Returns when that quiet
   * window began, i.e. when meshlite stopped working.
   */
  async waitIdle(windowMs: number, timeoutMs: number, maxBusy = 0.05): Promise<{ idleAt: number; cpuMs: number }> {
    const deadline = Date.now() + timeoutMs;
    const samples: { at: number; cpuMs: number }[] = [];
    for (;;) {
      const at = performance.timeOrigin + performance.now();
      samples.push({ at, cpuMs: this.proc().cpuMs });
      while (samples.length > 1 && samples[1]!.at <= at - windowMs) samples.shift();
      const first = samples[0]!;
      const last = samples[samples.length - 1]!;
      if (last.at - first.at >= windowMs * 0.95 && last.cpuMs - first.cpuMs <= maxBusy * (last.at - first.at))
        return { idleAt: first.at, cpuMs: first.cpuMs };
      if (Date.now() > deadline) throw new Error(`meshlite still busy after ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async metrics(): Promise<string> {
    const res = await fetch(`${this.adminUrl}/metrics`);
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
    return res.text();
  }

  /** SIGTERM (meshlite closes its streams and exits; a CPU profile is written), SIGKILL after a grace period. */
  async stop(graceMs = 8000): Promise<number | null> {
    const child = this.child;
    if (!child || !this.running) return child?.exitCode ?? null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** Last resort (process exit handler): synchronous. */
  killNow(): void {
    if (this.running) this.child!.kill('SIGKILL');
  }
}

// ---- Prometheus text ----

export interface Histogram {
  count: number;
  sum: number;
  /** Cumulative counts by upper bound, ascending (+Inf last). */
  buckets: [number, number][];
}

/** Plain samples by full series name (`name{labels}`). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** A histogram summed over all its label sets other than `le`. */
export function histogram(samples: Map<string, number>, name: string): Histogram {
  const byLe = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const [series, value] of samples) {
    if (series.startsWith(`${name}_bucket`)) {
      const le = series.match(/le="([^"]+)"/)?.[1] ?? '+Inf';
      const bound = le === '+Inf' ? Infinity : Number(le);
      byLe.set(bound, (byLe.get(bound) ?? 0) + value);
    } else if (series === `${name}_count` || series.startsWith(`${name}_count{`)) count += value;
    else if (series === `${name}_sum` || series.startsWith(`${name}_sum{`)) sum += value;
  }
  return { count, sum, buckets: [...byLe].sort((a, b) => a[0] - b[0]) };
}

export function histogramDelta(after: Histogram, before: Histogram): Histogram {
  const prior = new Map(before.buckets);
  return {
    count: after.count - before.count,
    sum: after.sum - before.sum,
    buckets: after.buckets.map(([le, c]) => [le, c - (prior.get(le) ?? 0)]),
  };
}

/** Quantile as Prometheus' histogram_quantile does: linear within the bucket. */
export function histogramQuantile(h: Histogram, q: number): number {
  if (h.count === 0) return NaN;
  const rank = q * h.count;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, c] of h.buckets) {
    if (c >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1e-12, c - prevCount);
    }
    prevLe = le;
    prevCount = c;
  }
  return prevLe;
}
