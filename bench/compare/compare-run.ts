// One server's turn in the side-by-side benchmark: fresh simulated Envoys
// (bench/push-client.ts workers) connect all at once, then the mesh changes
// W + K times, alternating the two states, each change from an idle server.
// The first W warm the server up (a JIT-compiled server runs its push path
// cold the first times); they are reported apart, not in the figures.
import { clock, type FromWorker } from '../push-protocol.js';
import { WorkerHandle } from '../push-workers.js';
import { dist } from '../push-report.js';
import { procUsage, type Target, waitIdle } from './compare-targets.js';
import { STATE_MODES } from './snapshot-file.js';

export interface RunOptions {
  clients: { id: string; token: string }[];
  rootPem: string;
  workers: number;
  streamsPerChannel: number;
  changes: number;
  /** Changes made first and reported apart (warm-up). */
  warmup: number;
  /** The server is idle after this long under 5% of a core (ms). */
  settleMs: number;
  connectTimeoutMs: number;
  changeTimeoutMs: number;
}

export interface ChangeFigures {
  state: number;
  /** A warm-up change: not in the figures. */
  warmup: boolean;
  /** From the change being made (file written / swap asked for), ms. */
  firstAck: number;
  p50Ack: number;
  p99Ack: number;
  allAcked: number;
  /** Server CPU from the change until it was idle again, ms. */
  cpuMs: number;
}

export interface ServerFigures {
  server: string;
  proxies: number;
  /** From opening every stream until the last proxy ACKed a full config, ms. */
  allSynced: number;
  /** Server CPU over that time, ms. */
  connectCpuMs: number;
  /** RSS after a full GC, before any stream and with all of them open. */
  rssIdleBytes: number;
  rssConnectedBytes: number;
  rssPerStreamBytes: number;
  changes: ChangeFigures[];
  streamFailures: number;
  error?: string;
}

const log = (msg: string) => process.stderr.write(`[compare] ${msg}\n`);

async function stopWorkers(workers: WorkerHandle[]): Promise<void> {
  await Promise.all(
    workers.map((w) => {
      if (w.child.exitCode !== null || w.child.signalCode !== null) return undefined;
      const exited = new Promise((resolve) => w.child.once('exit', resolve));
      w.stop();
      return exited;
    }),
  );
}

/** A server's figures before anything was measured (NaN: not measured). */
export function emptyFigures(server: string, proxies: number): ServerFigures {
  return {
    server,
    proxies,
    allSynced: NaN,
    connectCpuMs: NaN,
    rssIdleBytes: NaN,
    rssConnectedBytes: NaN,
    rssPerStreamBytes: NaN,
    changes: [],
    streamFailures: 0,
  };
}

export async function runAgainst(target: Target, opts: RunOptions): Promise<ServerFigures> {
  const n = opts.clients.length;
  const out = emptyFigures(target.name, n);
  const workers: WorkerHandle[] = [];
  try {
    await target.gc();
    out.rssIdleBytes = procUsage(target.pid).rssBytes;
    for (let w = 0; w < Math.min(opts.workers, n); w++) workers.push(new WorkerHandle(w));
    const ready = workers.map((h, w) => {
      h.send({
        cmd: 'init',
        worker: w,
        adsAddress: target.adsAddress,
        rootPem: opts.rootPem,
        clients: opts.clients.filter((_, i) => i % workers.length === w),
        streamsPerChannel: opts.streamsPerChannel,
        selfCheck: w === 0,
      });
      return h.next((m) => m.evt === 'ready', 30_000, 'ready');
    });
    await Promise.all(ready);

    const synced = workers.map((h) =>
      h.next<Extract<FromWorker, { evt: 'synced' }>>((m) => m.evt === 'synced', opts.connectTimeoutMs, 'full sync of every client'),
    );
    const cpu0 = procUsage(target.pid).cpuMs;
    const start = clock();
    for (const h of workers) h.send({ cmd: 'connect' });
    const clients = (await Promise.all(synced)).flatMap((m) => m.clients);
    out.connectCpuMs = procUsage(target.pid).cpuMs - cpu0;
    out.allSynced = Math.max(...clients.map((c) => c.syncedAt)) - start;
    log(`${target.name}: all ${n} synced in ${out.allSynced.toFixed(0)} ms, CPU ${out.connectCpuMs.toFixed(0)} ms`);
    await waitIdle(target.pid, opts.settleMs, opts.changeTimeoutMs);
    await target.gc();
    out.rssConnectedBytes = procUsage(target.pid).rssBytes;
    out.rssPerStreamBytes = (out.rssConnectedBytes - out.rssIdleBytes) / n;

    for (let i = 1; i <= opts.warmup + opts.changes; i++) {
      const warmup = i <= opts.warmup;
      const state = i % 2;
      const acked = workers.map((h) => {
        h.send({ cmd: 'await-mode', seq: i, mode: STATE_MODES[state]! });
        return h.next<Extract<FromWorker, { evt: 'mode' }>>((m) => m.evt === 'mode' && m.seq === i, opts.changeTimeoutMs, `change ${i}`);
      });
      const cpuBefore = procUsage(target.pid).cpuMs;
      const t0 = clock();
      await target.change(state);
      const acks = (await Promise.all(acked)).flatMap((m) => m.ackAt).map((at) => at - t0);
      const idle = await waitIdle(target.pid, opts.settleMs, opts.changeTimeoutMs);
      const d = dist(acks);
      out.changes.push({ state, warmup, firstAck: d.min, p50Ack: d.p50, p99Ack: d.p99, allAcked: d.max, cpuMs: idle.cpuMs - cpuBefore });
      log(
        `${target.name}: change ${i} -> ${STATE_MODES[state]}${warmup ? ' (warm-up)' : ''}: all ACKed after ${d.max.toFixed(0)} ms, CPU ${(idle.cpuMs - cpuBefore).toFixed(0)} ms`,
      );
    }
  } catch (err) {
    out.error = err instanceof Error ? err.message : String(err);
    log(`${target.name}: FAILED: ${out.error}`);
  }
  out.streamFailures = workers.reduce((sum, w) => sum + w.streamFailures.length, 0);
  // The first client cross-checks the clients' quick parsing against the full proto decoder.
  const mismatches = workers
    .flatMap((h) => h.drain<Extract<FromWorker, { evt: 'check' }>>((m) => m.evt === 'check'))
    .filter((c) => !c.ok)
    .map((c) => c.message);
  if (mismatches.length > 0 && !out.error) out.error = `client self-check: ${mismatches.join('; ')}`;
  await stopWorkers(workers);
  return out;
}
