// Push benchmark: one meshlite (its own process) serving N simulated Envoys
// (SotW ADS over TLS, one token each) that run in worker processes.
// Measures: time until every proxy has ACKed a full config, meshlite's memory
// per connected proxy, and time from a policy file change until every proxy
// ACKed the LDS that reflects it (p50/p99 over several changes), with
// meshlite's CPU time and its own convergence / push->ACK histograms.
//
//   npm run bench:push
//   node --expose-gc dist/bench/push.js --proxies 50 --changes 4
//   node --expose-gc dist/bench/push.js --cpu-prof      # profile meshlite (connect, changes)
//   node --expose-gc dist/bench/push.js --help
//
// Each change starts once meshlite is idle again; how long it stayed busy after
// a change (and the CPU it used) is reported next to the ACK times.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenAuthority } from '../src/identity/proxy-token.js';
import { runBenchmark } from './bench-util.js';
import { WorkerHandle } from './push-workers.js';
import { type MtlsMode, writeMeshMode, writePushMesh } from './push-config.js';
import { freePort, histogram, histogramDelta, MeshliteProcess, parseMetrics } from './push-meshlite.js';
import { clock, type ClientSync, type FromWorker, type TypeCounts, type WorkerStats, XDS_TYPES } from './push-protocol.js';
import { benchJson, dist, type MemorySnapshot, parsePushOptions, printReport, type Report } from './push-report.js';

const PROFILE_SUMMARY = fileURLToPath(new URL('./profile-summary.js', import.meta.url));
const HEAP_SUMMARY = fileURLToPath(new URL('./heap-summary.js', import.meta.url));
const log = (msg: string) => process.stderr.write(`[push] ${msg}\n`);

async function memorySnapshot(ml: MeshliteProcess): Promise<MemorySnapshot> {
  const { memory } = await ml.gc();
  const proc = ml.proc();
  const samples = parseMetrics(await ml.metrics());
  return {
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    procRss: proc.rssBytes,
    procHwm: proc.hwmBytes,
    metricsRss: samples.get('meshlite_process_resident_memory_bytes') ?? NaN,
    metricsHeapUsed: samples.get('meshlite_nodejs_heap_size_used_bytes') ?? NaN,
  };
}

function sumCounts(stats: WorkerStats[]): TypeCounts {
  const out = Object.fromEntries(XDS_TYPES.map((t) => [t, 0])) as TypeCounts;
  for (const s of stats) for (const t of XDS_TYPES) out[t] += s.responses[t];
  return out;
}

function diffCounts(after: TypeCounts, before: TypeCounts): TypeCounts {
  return Object.fromEntries(XDS_TYPES.map((t) => [t, after[t] - before[t]])) as TypeCounts;
}

async function main(): Promise<number> {
  const opts = parsePushOptions(process.argv.slice(2));
  const root = mkdtempSync(join(tmpdir(), 'meshlite-push-'));
  const mesh = writePushMesh(join(root, 'config'), opts);
  const ml = new MeshliteProcess(mesh.dir, join(root, 'state'), await freePort(), await freePort());
  const workers: WorkerHandle[] = [];
  const killAll = () => {
    ml.killNow();
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    if (!opts.keep) rmSync(root, { recursive: true, force: true });
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

  const r: Report = {
    opts,
    setup: { configFiles: mesh.files, configBytes: mesh.bytes, channels: 0, tokensMs: 0, startupMs: 0 },
    memory: {},
    changes: [],
    hist: {},
    workers: [],
    checks: [],
    streamFailures: [],
    profiles: {},
    load: { start: loadavg()[0]!, end: 0, cpus: cpus().length },
  };
  const hist = (name: string, a: Map<string, number>, b: Map<string, number>) => histogramDelta(histogram(b, name), histogram(a, name));
  const stats = async (): Promise<WorkerStats[]> => {
    const seq = Math.floor(Math.random() * 1e9);
    const replies = workers.map((h) => {
      h.send({ cmd: 'stats', seq });
      return h.next<Extract<FromWorker, { evt: 'stats' }>>((m) => m.evt === 'stats' && m.seq === seq, 30_000, 'stats');
    });
    return (await Promise.all(replies)).map((x) => x.stats);
  };
  const stopProfile = async (name: 'connect' | 'changes') => {
    const dir = join(root, 'profile');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `meshlite-${name}.cpuprofile`);
    await ml.profileStop(file);
    r.profiles[name] = execFileSync(process.execPath, [PROFILE_SUMMARY, file, '--top', '25'], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (opts.keep) r.profiles[name] += `(profile kept at ${file})\n`;
  };

  try {
    log(`config: ${mesh.proxies.length} proxies, ${opts.services} services, ${opts.namespaces} namespaces in ${root}`);
    const startedAt = clock();
    ml.start([], opts.patchConvergence ? 'convergence' : undefined);
    await ml.waitReady(120_000);
    r.setup.startupMs = clock() - startedAt;
    log(`meshlite pid ${ml.pid} ready in ${r.setup.startupMs.toFixed(0)} ms (ADS ${ml.adsAddress}, admin ${ml.adminUrl})`);
    await ml.waitIdle(opts.settleMs, 60_000);
    r.memory.baseline = await memorySnapshot(ml);
    if (opts.heapSnapshots) await ml.heapSnapshot(join(root, 'baseline.heapsnapshot'));

    const tokensStart = clock();
    const authority = await TokenAuthority.loadOrCreate(ml.stateDir);
    const tokens = await Promise.all(mesh.proxies.map((p) => authority.issue(p.id)));
    r.setup.tokensMs = clock() - tokensStart;
    const rootPem = readFileSync(join(ml.stateDir, 'ca', 'root-cert.pem'), 'utf8');
    for (let w = 0; w < opts.workers; w++) workers.push(new WorkerHandle(w));
    const ready = workers.map((h, w) => {
      const clients = mesh.proxies.map((p, i) => ({ id: p.id, token: tokens[i]!, i })).filter((c) => c.i % opts.workers === w);
      h.send({
        cmd: 'init',
        worker: w,
        adsAddress: ml.adsAddress,
        rootPem,
        clients,
        streamsPerChannel: opts.streamsPerChannel,
        selfCheck: w === 0,
      });
      return h.next<Extract<FromWorker, { evt: 'ready' }>>((m) => m.evt === 'ready', 30_000, 'ready');
    });
    for (const x of await Promise.all(ready)) r.setup.channels += x.channels;

    // ---- connect: every stream opened at once ----
    if (opts.cpuProf) await ml.profileStart();
    const m0 = parseMetrics(await ml.metrics());
    const cpu0 = ml.proc().cpuMs;
    const connectStart = clock();
    log(`connecting ${opts.proxies} streams over ${r.setup.channels} channels from ${opts.workers} worker(s)...`);
    const syncedMsgs = workers.map((h) =>
      h.next<Extract<FromWorker, { evt: 'synced' }>>((m) => m.evt === 'synced', opts.connectTimeout * 1000, 'full sync of every client'),
    );
    for (const h of workers) h.send({ cmd: 'connect' });
    const synced: ClientSync[] = (await Promise.all(syncedMsgs)).flatMap((m) => m.clients);
    const connectCpu = ml.proc().cpuMs - cpu0;
    if (opts.cpuProf) await stopProfile('connect');
    const allSynced = Math.max(...synced.map((c) => c.syncedAt)) - connectStart;
    log(`all ${synced.length} synced in ${allSynced.toFixed(0)} ms`);
    const afterConnect = await stats();
    r.connect = {
      allSynced,
      busy: 0,
      synced: dist(synced.map((c) => c.syncedAt - c.openedAt)),
      firstResponse: dist(synced.map((c) => c.firstResponseAt - c.openedAt)),
      meshliteCpuMs: connectCpu,
      responseBytes: afterConnect.reduce((n, x) => n + x.responseBytes, 0),
      responses: sumCounts(afterConnect),
    };
    const connectIdle = await ml.waitIdle(opts.settleMs, opts.connectTimeout * 1000);
    r.connect.busy = connectIdle.idleAt - connectStart;
    r.memory.connected = await memorySnapshot(ml);
    if (opts.heapSnapshots) {
      const [before, after] = [join(root, 'baseline.heapsnapshot'), join(root, 'connected.heapsnapshot')];
      await ml.heapSnapshot(after);
      r.profiles.heap = execFileSync(process.execPath, [HEAP_SUMMARY, before, after, '--per', String(opts.proxies), '--top', '30'], {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
    }
    const m1 = parseMetrics(await ml.metrics());
    r.hist.connectPushAck = hist('meshlite_xds_push_ack_seconds', m0, m1);

    // ---- policy changes ----
    if (opts.cpuProf) await ml.profileStart();
    let before = await stats();
    for (let i = 1; i <= opts.changes; i++) {
      const mode: MtlsMode = i % 2 === 1 ? 'PERMISSIVE' : 'STRICT';
      const reply = workers.map((h) => {
        h.send({ cmd: 'await-mode', seq: i, mode });
        return h.next<Extract<FromWorker, { evt: 'mode' }>>(
          (m) => m.evt === 'mode' && m.seq === i,
          opts.changeTimeout * 1000,
          `change ${i} (${mode}) everywhere`,
        );
      });
      const cpuBefore = ml.proc().cpuMs;
      const t0 = clock();
      writeMeshMode(mesh.policyFile, mode);
      const acks = (await Promise.all(reply)).flatMap((m) => m.ackAt).map((at) => at - t0);
      const cpuConverged = ml.proc().cpuMs;
      // The next change starts from an idle meshlite; how long it stayed busy is reported.
      const idle = await ml.waitIdle(opts.settleMs, opts.changeTimeout * 1000);
      const after = await stats();
      const d = dist(acks);
      r.changes.push({
        index: i,
        mode,
        firstAck: d.min,
        p50Ack: d.p50,
        p99Ack: d.p99,
        allAcked: d.max,
        lastAck: Math.max(...after.map((x) => x.lastAckAt)) - t0,
        busy: idle.idleAt - t0,
        meshliteCpuMs: cpuConverged - cpuBefore,
        meshliteCpuIdleMs: idle.cpuMs - cpuBefore,
        responses: diffCounts(sumCounts(after), sumCounts(before)),
        streamFailures: after.reduce((n, x) => n + x.errors, 0) - before.reduce((n, x) => n + x.errors, 0),
      });
      log(
        `change ${i} -> ${mode}: all ${acks.length} ACKed after ${d.max.toFixed(0)} ms (first ${d.min.toFixed(0)} ms), meshlite busy ${(idle.idleAt - t0).toFixed(0)} ms, CPU ${(idle.cpuMs - cpuBefore).toFixed(0)} ms`,
      );
      before = after;
    }
    if (opts.cpuProf && opts.changes > 0) await stopProfile('changes');
    const m2 = parseMetrics(await ml.metrics());
    r.memory.afterPushes = await memorySnapshot(ml);
    r.hist.pushPushAck = hist('meshlite_xds_push_ack_seconds', m1, m2);
    r.hist.convergence = hist('meshlite_convergence_seconds', m1, m2);
    r.hist.configApply = hist('meshlite_config_apply_seconds', m1, m2);
    r.hist.snapshotBuild = hist('meshlite_snapshot_build_seconds', m1, m2);
  } catch (err) {
    r.error = err instanceof Error ? err.message : String(err);
    log(`FAILED: ${r.error}`);
  }
  try {
    const final = await stats();
    r.workers = final.map((x) => ({ cpuMs: (x.cpu.user + x.cpu.system) / 1000, rssBytes: x.rssBytes, openStreams: x.openStreams }));
  } catch {
    // a worker is gone; its figures too
  }
  r.checks = workers.flatMap((h) =>
    h.drain<Extract<FromWorker, { evt: 'check' }>>((m) => m.evt === 'check').map((c) => `${c.ok ? 'ok' : 'MISMATCH'}: ${c.message}`),
  );
  r.streamFailures = workers.flatMap((h) => h.streamFailures);
  r.load.end = loadavg()[0]!;
  for (const w of workers) w.stop();
  const code = await ml.stop();
  log(`meshlite stopped (exit ${code})`);
  if (!opts.keep) rmSync(root, { recursive: true, force: true });
  else log(`kept ${root}`);
  printReport(r);
  process.stdout.write(`BENCH_JSON ${JSON.stringify(benchJson(r))}\n`);
  return r.error ? 1 : 0;
}

runBenchmark('push benchmark', main);
