// Soak benchmark: one meshlite serving N simulated Envoys (the push
// benchmark's workers) whose streams keep closing and reopening for M minutes
// while the mesh-wide policy flips every 30 s. meshlite's heap and RSS are
// sampled after a full GC every 10 s and their trend (least squares) must be
// flat; at the end meshlite must list exactly the streams the clients hold
// open, and its active handles and timers must be back at the baseline.
//
//   npm run bench:soak
//   node --expose-gc dist/bench/soak.js --proxies 300 --minutes 2
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenAuthority } from '../src/identity/proxy-token.js';
import { runBenchmark } from './bench-util.js';
import { type MtlsMode, writeMeshMode, writePushMesh } from './push-config.js';
import { freePort, MeshliteProcess } from './push-meshlite.js';
import { clock, type FromWorker, type WorkerStats } from './push-protocol.js';
import { WorkerHandle } from './push-workers.js';
import { parseSoakOptions, printSoakReport, type SoakReport, soakJson } from './soak-report.js';

const HEAP_SUMMARY = fileURLToPath(new URL('./heap-summary.js', import.meta.url));
const log = (msg: string) => process.stderr.write(`[soak] ${msg}\n`);
const pause = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Active handles and timers, the least of three looks a second apart: one-off work (a file read) is not a leak. */
async function settledResources(ml: MeshliteProcess): Promise<Record<string, number>> {
  const looks: Record<string, number>[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await pause(1000);
    await ml.gc();
    looks.push(await ml.activeResources());
  }
  const kinds = new Set(looks.flatMap((l) => Object.keys(l)));
  return Object.fromEntries([...kinds].map((k) => [k, Math.min(...looks.map((l) => l[k] ?? 0))]));
}

async function main(): Promise<number> {
  const opts = parseSoakOptions(process.argv.slice(2));
  const root = mkdtempSync(join(tmpdir(), 'meshlite-soak-'));
  const mesh = writePushMesh(join(root, 'config'), { proxies: opts.proxies, services: Math.ceil(opts.proxies / 5), namespaces: 0 });
  const ml = new MeshliteProcess(mesh.dir, join(root, 'state'), await freePort(), await freePort());
  const workers: WorkerHandle[] = [];
  process.on('exit', () => {
    ml.killNow();
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    if (!opts.keep) rmSync(root, { recursive: true, force: true });
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));
  const r: SoakReport = {
    opts,
    samples: [],
    changes: [],
    reconnects: 0,
    streamFailures: 0,
    resources: {},
    load: { start: loadavg()[0]!, end: 0, cpus: cpus().length },
  };
  const stats = async (): Promise<WorkerStats[]> => {
    const seq = Math.floor(Math.random() * 1e9);
    const replies = workers.map((h) => {
      h.send({ cmd: 'stats', seq });
      return h.next<Extract<FromWorker, { evt: 'stats' }>>((m) => m.evt === 'stats' && m.seq === seq, 30_000, 'stats');
    });
    return (await Promise.all(replies)).map((x) => x.stats);
  };
  const adszCount = async () => {
    const res = await fetch(`${ml.adminUrl}/debug/adsz`);
    if (res.status !== 200) throw new Error(`/debug/adsz answered ${res.status}`);
    const streams = (await res.json()) as { proxy: string; stream: number; connectedAt: string }[];
    const seen = new Map<string, number>();
    for (const s of streams) seen.set(s.proxy, (seen.get(s.proxy) ?? 0) + 1);
    r.extraStreams = streams.filter((s) => (seen.get(s.proxy) ?? 0) > 1).slice(0, 20);
    return streams.length;
  };

  try {
    ml.start([], undefined, { MESHLITE_BENCH_TRACK_ASYNC: '1' });
    await ml.waitReady(120_000);
    await ml.waitIdle(500, 60_000);
    const authority = await TokenAuthority.loadOrCreate(ml.stateDir);
    const tokens = await Promise.all(mesh.proxies.map((p) => authority.issue(p.id)));
    const rootPem = readFileSync(join(ml.stateDir, 'ca', 'root-cert.pem'), 'utf8');
    for (let w = 0; w < opts.workers; w++) workers.push(new WorkerHandle(w));
    await Promise.all(
      workers.map((h, w) => {
        const clients = mesh.proxies.map((p, i) => ({ id: p.id, token: tokens[i]!, i })).filter((c) => c.i % opts.workers === w);
        h.send({
          cmd: 'init',
          worker: w,
          adsAddress: ml.adsAddress,
          rootPem,
          clients,
          streamsPerChannel: opts.streamsPerChannel,
          selfCheck: false,
        });
        return h.next((m) => m.evt === 'ready', 30_000, 'ready');
      }),
    );
    const connectStart = clock();
    const synced = workers.map((h) => h.next((m) => m.evt === 'synced', 600_000, 'full sync of every client'));
    for (const h of workers) h.send({ cmd: 'connect' });
    await Promise.all(synced);
    r.connectMs = clock() - connectStart;
    log(`all ${opts.proxies} streams synced in ${r.connectMs.toFixed(0)} ms`);
    await ml.waitIdle(1000, 120_000);
    r.resources.baseline = await settledResources(ml);
    if (opts.heapSnapshots) await ml.heapSnapshot(join(root, 'baseline.heapsnapshot'));

    // ---- churn, changes and samples on one schedule ----
    for (const h of workers) h.send({ cmd: 'churn', perSecond: opts.reconnectsPerS / opts.workers });
    const start = clock();
    const end = start + opts.minutes * 60_000;
    let nextSample = start;
    let nextChange = start + opts.changeEveryS * 1000;
    const pending: Promise<void>[] = [];
    while (clock() < end) {
      const now = clock();
      if (now >= nextSample) {
        nextSample += opts.sampleEveryS * 1000;
        const { memory } = await ml.gc();
        const minute = (clock() - start) / 60_000;
        r.samples.push({ minute, rss: ml.proc().rssBytes, heapUsed: memory.heapUsed, external: memory.external });
        log(
          `${minute.toFixed(2)} min: RSS ${(ml.proc().rssBytes / 2 ** 20).toFixed(1)} MiB, heap ${(memory.heapUsed / 2 ** 20).toFixed(1)} MiB`,
        );
      }
      if (now >= nextChange) {
        nextChange += opts.changeEveryS * 1000;
        const index = r.changes.length + 1;
        const mode: MtlsMode = index % 2 === 1 ? 'PERMISSIVE' : 'STRICT';
        const change: SoakReport['changes'][number] = { index, mode };
        r.changes.push(change);
        const replies = workers.map((h) => {
          h.send({ cmd: 'await-mode', seq: index, mode });
          return h.next((m) => m.evt === 'mode' && m.seq === index, opts.changeEveryS * 1000 - 500, `change ${index}`);
        });
        const t0 = clock();
        writeMeshMode(mesh.policyFile, mode);
        pending.push(
          Promise.all(replies).then(
            () => {
              change.allAckedMs = clock() - t0;
            },
            () => {
              log(`change ${index} (${mode}) did not reach every proxy before the next one`);
            },
          ),
        );
      }
      await pause(Math.min(nextSample, nextChange, end) - clock());
    }
    for (const h of workers) h.send({ cmd: 'churn', perSecond: 0 });
    await Promise.all(pending);
    // ---- end: every reopened stream settled, meshlite idle ----
    await ml.waitIdle(1000, 120_000);
    const deadline = clock() + 30_000;
    for (;;) {
      const open = (await stats()).reduce((n, s) => n + s.openStreams, 0);
      r.adszStreams = await adszCount();
      r.liveClients = open;
      if (r.adszStreams === open || clock() > deadline) break;
      await pause(500);
    }
    r.resources.end = await settledResources(ml);
    if (opts.heapSnapshots) {
      await ml.heapSnapshot(join(root, 'end.heapsnapshot'));
      const reopened = (await stats()).reduce((n, s) => n + s.reconnects, 0);
      const files = [join(root, 'baseline.heapsnapshot'), join(root, 'end.heapsnapshot')];
      r.heapGrowth = execFileSync(process.execPath, [HEAP_SUMMARY, ...files, '--per', String(Math.max(1, reopened)), '--top', '25'], {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
    }
  } catch (err) {
    r.error = err instanceof Error ? err.message : String(err);
    log(`FAILED: ${r.error}`);
  }
  try {
    const final = await stats();
    r.reconnects = final.reduce((n, s) => n + s.reconnects, 0);
  } catch {
    // a worker is gone
  }
  r.streamFailures = workers.reduce((n, h) => n + h.streamFailures.length, 0);
  r.load.end = loadavg()[0]!;
  for (const w of workers) w.stop();
  await ml.stop();
  if (!opts.keep) rmSync(root, { recursive: true, force: true });
  printSoakReport(r);
  process.stdout.write(`BENCH_JSON ${JSON.stringify(soakJson(r))}\n`);
  return r.error ? 1 : 0;
}

runBenchmark('soak benchmark', main);
