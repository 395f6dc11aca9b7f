// Options and the printed report of the push benchmark.
import { type Distribution, distribution, mb, ms, OptionError, pad, parseLongOptions, round } from './bench-util.js';
import { type Histogram, histogramQuantile } from './push-meshlite.js';
import type { TypeCounts } from './push-protocol.js';

export interface PushOptions {
  proxies: number;
  services: number;
  namespaces: number;
  changes: number;
  workers: number;
  streamsPerChannel: number;
  /** Seconds. */
  connectTimeout: number;
  changeTimeout: number;
  /** meshlite counts as idle after this long below 5% of a core (ms); each change starts from an idle meshlite. */
  settleMs: number;
  cpuProf: boolean;
  /** Heap snapshots of meshlite at baseline and once connected (in the kept directory), summarised per stream. */
  heapSnapshots: boolean;
  keep: boolean;
  /** Experiment: run meshlite with the listConnections memo (see push-agent.ts). */
  patchConvergence: boolean;
}

const USAGE = `usage: node --expose-gc dist/bench/push.js [options]
  --proxies N              simulated Envoys / sidecar WorkloadEntries (default 1000)
  --services N             ServiceEntries (default proxies/5, at least 1)
  --namespaces N           namespaces (default services/10, at least 1)
  --changes N              mesh-wide PeerAuthentication flips STRICT<->PERMISSIVE (default 10)
  --workers N              client processes (default 2)
  --streams-per-channel N  ADS streams sharing one gRPC channel / TLS connection (default 50; 1 = one each)
  --connect-timeout S      seconds for all proxies to sync (default 600)
  --change-timeout S       seconds for one change to reach every proxy (default 300)
  --settle-ms N            meshlite is idle after N ms under 5% CPU; each change waits for it (default 500)
  --cpu-prof               CPU-profile meshlite during connect and during the changes (and summarise)
  --heap-snapshots         heap snapshots of meshlite at baseline and connected; prints what each stream added
  --patch-convergence      EXPERIMENT: patch meshlite at runtime (memoise AdsServer.listConnections)
  --keep                   keep the temp config / state / profile directory`;

export function parsePushOptions(argv: readonly string[]): PushOptions {
  const o = parseLongOptions<PushOptions>(
    argv,
    {
      proxies: 1000,
      services: 0,
      namespaces: 0,
      changes: 10,
      workers: 2,
      streamsPerChannel: 50,
      connectTimeout: 600,
      changeTimeout: 300,
      settleMs: 500,
      cpuProf: false,
      heapSnapshots: false,
      keep: false,
      patchConvergence: false,
    },
    USAGE,
    true,
  );
  if (o.proxies < 1 || o.workers < 1) throw new OptionError('--proxies and --workers must be at least 1');
  if (o.services === 0) o.services = Math.max(1, Math.ceil(o.proxies / 5));
  if (o.namespaces === 0) o.namespaces = Math.max(1, Math.ceil(o.services / 10));
  o.workers = Math.min(o.workers, o.proxies);
  return o;
}

export interface MemorySnapshot {
  /** After two full GCs in meshlite (via the agent). */
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** /proc VmRSS and VmHWM (peak). */
  procRss: number;
  procHwm: number;
  /** From meshlite's /metrics, scraped right after. */
  metricsRss: number;
  metricsHeapUsed: number;
}

export interface ChangeResult {
  index: number;
  mode: string;
  /** All relative to the file write, ms. */
  firstAck: number;
  p50Ack: number;
  p99Ack: number;
  allAcked: number;
  /** Latest ACK of any type by any proxy (read once meshlite is idle again). */
  lastAck: number;
  /** Until meshlite was idle again. */
  busy: number;
  /** meshlite CPU from the file write until every proxy ACKed, and until it was idle again. */
  meshliteCpuMs: number;
  meshliteCpuIdleMs: number;
  responses: TypeCounts;
  /** Streams that failed (and reconnected) between the write and meshlite being idle again. */
  streamFailures: number;
}

export function histSummary(h: Histogram): { count: number; mean: number; p50: number; p99: number } {
  return {
    count: h.count,
    mean: h.count ? round(h.sum / h.count, 4) : 0,
    p50: round(histogramQuantile(h, 0.5), 4),
    p99: round(histogramQuantile(h, 0.99), 4),
  };
}

export function dist(values: number[]): Distribution {
  return distribution(values.slice());
}

const line = (label: string, value: string) => process.stdout.write(`  ${pad(label, 44)}${value}\n`);
const dms = (d: Distribution) => `p50 ${ms(d.p50)}  p99 ${ms(d.p99)}  min ${ms(d.min)}  max ${ms(d.max)}  mean ${ms(d.mean)}`;
const hs = (h: Histogram | undefined) => {
  if (!h) return 'not measured';
  const s = histSummary(h);
  return s.count === 0
    ? 'no observations'
    : `n=${s.count}  mean ${ms(s.mean * 1000)}  ~p50 ${ms(s.p50 * 1000)}  ~p99 ${ms(s.p99 * 1000)} (bucket-interpolated)`;
};

type HistName = 'connectPushAck' | 'pushPushAck' | 'convergence' | 'configApply' | 'snapshotBuild';

/** Filled in as the run goes; a failed run reports what it got. */
export interface Report {
  opts: PushOptions;
  setup: { configFiles: number; configBytes: number; channels: number; tokensMs: number; startupMs: number };
  connect?: {
    allSynced: number;
    busy: number;
    synced: Distribution;
    firstResponse: Distribution;
    meshliteCpuMs: number;
    responseBytes: number;
    responses: TypeCounts;
  };
  memory: { baseline?: MemorySnapshot; connected?: MemorySnapshot; afterPushes?: MemorySnapshot };
  changes: ChangeResult[];
  hist: Partial<Record<HistName, Histogram>>;
  workers: { cpuMs: number; rssBytes: number; openStreams: number }[];
  checks: string[];
  /** Streams that failed during the run (each client reconnected). */
  streamFailures: string[];
  profiles: { connect?: string; changes?: string; heap?: string };
  /** 1-minute load average of the host at start and end (other processes skew the figures). */
  load: { start: number; end: number; cpus: number };
  error?: string;
}

function printMemory(r: Report): void {
  const { baseline, connected, afterPushes } = r.memory;
  if (!baseline) return;
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const cell = (snap: MemorySnapshot | undefined, pick: (s: MemorySnapshot) => number) => pad(snap ? mb(pick(snap)) : '-', 16);
  out('\nmeshlite memory (after 2 full GCs)        baseline        connected       after changes   per proxy (connected - baseline)');
  const row = (label: string, pick: (s: MemorySnapshot) => number) => {
    const per = connected ? `${((pick(connected) - pick(baseline)) / r.opts.proxies / 1024).toFixed(1)} KiB` : '-';
    out(`  ${pad(label, 40)}${cell(baseline, pick)}${cell(connected, pick)}${cell(afterPushes, pick)}${per}`);
  };
  row('RSS', (s) => s.rss);
  row('V8 heap used', (s) => s.heapUsed);
  row('V8 heap total', (s) => s.heapTotal);
  row('external (incl. ArrayBuffers)', (s) => s.external);
  row('/proc VmHWM (peak RSS so far)', (s) => s.procHwm);
  row('/metrics resident_memory_bytes', (s) => s.metricsRss);
  row('/metrics nodejs_heap_size_used_bytes', (s) => s.metricsHeapUsed);
}

function printChanges(r: Report): void {
  const ch = r.changes;
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(
    `\npolicy file change -> every proxy ACKed the LDS with the new inbound chains (${ch.length} of ${r.opts.changes} changes done, STRICT<->PERMISSIVE)`,
  );
  out('  (times from the file write; "busy" = until meshlite was idle again; CPU = meshlite CPU until all ACKed / until idle)');
  out('   #  mode        first ACK   p50 proxy   p99 proxy   all ACKed   last ACK    busy        CPU (all ACKed / idle)  responses');
  for (const c of ch) {
    let resp = Object.entries(c.responses)
      .filter(([, n]) => n > 0)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ');
    if (c.streamFailures > 0) resp += `; ${c.streamFailures} streams reset`;
    const times = [c.firstAck, c.p50Ack, c.p99Ack, c.allAcked, c.lastAck, c.busy].map((v) => ms(v).padEnd(11)).join(' ');
    out(
      `  ${String(c.index).padStart(2)}  ${c.mode.padEnd(11)} ${times} ${`${ms(c.meshliteCpuMs)} / ${ms(c.meshliteCpuIdleMs)}`.padEnd(23)} ${resp}`,
    );
  }
  if (ch.length > 0) {
    line('all ACKed (file write -> last proxy)', dms(dist(ch.map((c) => c.allAcked))));
    line('first ACK (file write -> first proxy)', dms(dist(ch.map((c) => c.firstAck))));
    line('spread (first -> last proxy)', dms(dist(ch.map((c) => c.allAcked - c.firstAck))));
    line('meshlite busy per change (until idle)', dms(dist(ch.map((c) => c.busy))));
    line('meshlite CPU per change (until all ACKed)', dms(dist(ch.map((c) => c.meshliteCpuMs))));
    line('meshlite CPU per change (until idle)', dms(dist(ch.map((c) => c.meshliteCpuIdleMs))));
  }
  line('meshlite_convergence_seconds (changes)', hs(r.hist.convergence));
  line('meshlite_xds_push_ack_seconds (changes)', hs(r.hist.pushPushAck));
  line('meshlite_config_apply_seconds (changes)', hs(r.hist.configApply));
  line('meshlite_snapshot_build_seconds (changes)', hs(r.hist.snapshotBuild));
}

export function printReport(r: Report): void {
  const { opts } = r;
  const out = (s = '') => process.stdout.write(`${s}\n`);
  out(`\nmeshlite push benchmark: ${opts.proxies} simulated Envoys (SotW ADS over TLS, per-proxy tokens)`);
  if (r.error) out(`  !! RUN FAILED: ${r.error} (partial results below)`);
  out(
    `  mesh: ${opts.services} ServiceEntries, ${opts.proxies} sidecar WorkloadEntries, ${opts.namespaces} namespaces, 1 mesh-wide PeerAuthentication (${r.setup.configFiles} files, ${mb(r.setup.configBytes)})`,
  );
  out(
    `  clients: ${opts.workers} worker process(es), ${opts.streamsPerChannel} streams per gRPC channel -> ${r.setup.channels} TLS connections; meshlite alone in its own process`,
  );
  if (opts.patchConvergence)
    out('  !! meshlite PATCHED at runtime (--patch-convergence: AdsServer.listConnections memoised); not the stock behaviour');
  out(`  host: ${r.load.cpus} CPUs, load average ${r.load.start.toFixed(2)} at start, ${r.load.end.toFixed(2)} at end`);
  out(`  meshlite startup to /ready: ${ms(r.setup.startupMs)}; ${opts.proxies} tokens minted in ${ms(r.setup.tokensMs)}`);
  for (const c of r.checks) out(`  self check: ${c}`);
  if (r.streamFailures.length > 0)
    out(`  !! ${r.streamFailures.length} stream failure(s), clients reconnected; first: ${r.streamFailures.slice(0, 3).join(' | ')}`);

  const c = r.connect;
  if (c) {
    out('\nconnect (all streams opened at once; synced = first full config of all 5 types ACKed)');
    line('all proxies synced after', ms(c.allSynced));
    line('per proxy, open -> synced', dms(c.synced));
    line('per proxy, open -> first response', dms(c.firstResponse));
    line(
      'meshlite CPU during connect',
      `${ms(c.meshliteCpuMs)} (${((100 * c.meshliteCpuMs) / c.allSynced).toFixed(0)}% of one core); idle again after ${ms(c.busy)}`,
    );
    line(
      'responses received',
      `${Object.entries(c.responses)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')}; ${mb(c.responseBytes)}`,
    );
    line('meshlite push->ACK (metrics, connect)', hs(r.hist.connectPushAck));
  }
  printMemory(r);
  if (c) printChanges(r);
  out('\nclient workers');
  r.workers.forEach((w, i) => line(`worker ${i}`, `CPU ${ms(w.cpuMs)}, RSS ${mb(w.rssBytes)}, ${w.openStreams} streams open at the end`));
  if (r.profiles.connect) out(`\nmeshlite CPU profile of the connect phase\n${r.profiles.connect}`);
  if (r.profiles.changes) out(`\nmeshlite CPU profile of the change phase\n${r.profiles.changes}`);
  if (r.profiles.heap) out(`\nmeshlite heap per connected proxy (connected - baseline snapshot)\n${r.profiles.heap}`);
}

export function benchJson(r: Report): Record<string, unknown> {
  const d = (x: Distribution) => ({ p50: round(x.p50), p99: round(x.p99), min: round(x.min), max: round(x.max), mean: round(x.mean) });
  const { baseline, connected, afterPushes } = r.memory;
  const mem = (s: MemorySnapshot | undefined) => (s ? { rss: s.rss, heapUsed: s.heapUsed, external: s.external } : undefined);
  const perProxy = (pick: (s: MemorySnapshot) => number) =>
    baseline && connected ? Math.round((pick(connected) - pick(baseline)) / r.opts.proxies) : undefined;
  const ch = r.changes;
  const h = (x: Histogram | undefined) => (x ? histSummary(x) : undefined);
  return {
    bench: 'push',
    ok: r.error === undefined,
    error: r.error,
    proxies: r.opts.proxies,
    services: r.opts.services,
    namespaces: r.opts.namespaces,
    workers: r.opts.workers,
    streamsPerChannel: r.opts.streamsPerChannel,
    connections: r.setup.channels,
    patchedMeshlite: r.opts.patchConvergence,
    loadAverage: r.load,
    streamFailures: r.streamFailures.length,
    connectMs: r.connect
      ? {
          allSynced: round(r.connect.allSynced),
          busy: round(r.connect.busy),
          perProxy: d(r.connect.synced),
          meshliteCpu: round(r.connect.meshliteCpuMs),
          responseBytes: r.connect.responseBytes,
        }
      : undefined,
    memoryBytes: {
      baseline: mem(baseline),
      connected: mem(connected),
      afterChanges: mem(afterPushes),
      perProxy: { rss: perProxy((s) => s.rss), heapUsed: perProxy((s) => s.heapUsed), external: perProxy((s) => s.external) },
    },
    pushMs: ch.length
      ? {
          changes: ch.length,
          allAcked: d(dist(ch.map((c) => c.allAcked))),
          firstAck: d(dist(ch.map((c) => c.firstAck))),
          perProxyP50: d(dist(ch.map((c) => c.p50Ack))),
          busy: d(dist(ch.map((c) => c.busy))),
          meshliteCpuUntilAcked: d(dist(ch.map((c) => c.meshliteCpuMs))),
          meshliteCpuUntilIdle: d(dist(ch.map((c) => c.meshliteCpuIdleMs))),
          perChange: ch.map((c) => ({
            mode: c.mode,
            firstAck: round(c.firstAck),
            allAcked: round(c.allAcked),
            busy: round(c.busy),
            meshliteCpu: round(c.meshliteCpuIdleMs),
            streamFailures: c.streamFailures,
          })),
          responsesPerChange: ch[ch.length - 1]!.responses,
        }
      : undefined,
    metrics: {
      convergenceSeconds: h(r.hist.convergence),
      pushAckSecondsConnect: h(r.hist.connectPushAck),
      pushAckSecondsChanges: h(r.hist.pushPushAck),
      configApplySeconds: h(r.hist.configApply),
    },
  };
}
