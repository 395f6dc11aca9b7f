// Options, the memory trend and the printed report of the soak benchmark.
import { mb, ms, OptionError, pad, parseLongOptions, round } from './bench-util.js';
import type { ActiveResources } from './push-agent.js';

export interface SoakOptions {
  proxies: number;
  /** Length of the churn phase (fractions allowed for quick runs). */
  minutes: number;
  /** Samples before this point are left out of the trend (default: a fifth of the run). */
  warmupMinutes: number;
  changeEveryS: number;
  sampleEveryS: number;
  /** Streams closed and reopened per second, over all workers. */
  reconnectsPerS: number;
  workers: number;
  streamsPerChannel: number;
  /** Heap snapshots at the baseline and at the end, summarised per reopened stream. */
  heapSnapshots: boolean;
  keep: boolean;
}

const USAGE = `usage: node --expose-gc dist/bench/soak.js [options]
  --proxies N              simulated Envoys (default 1000)
  --minutes M              churn for M minutes (default 10; fractions allowed)
  --warmup-minutes M       samples before M are not part of the trend (default minutes/5)
  --change-every-s S       mesh-wide policy flip STRICT<->PERMISSIVE every S seconds (default 30)
  --sample-every-s S       heap and RSS of meshlite (after a full GC) every S seconds (default 10)
  --reconnects-per-s N     streams closed and reopened per second (default proxies/30: each about every 30 s)
  --workers N              client processes (default 2)
  --streams-per-channel N  ADS streams per gRPC channel / TLS connection (default 50)
  --heap-snapshots         heap snapshots of meshlite at the baseline and the end; prints the growth per reopened stream
                           (a snapshot inflates RSS: the RSS trend of such a run means little)
  --keep                   keep the temp config / state directory`;

export function parseSoakOptions(argv: readonly string[]): SoakOptions {
  const o = parseLongOptions<SoakOptions>(
    argv,
    {
      proxies: 1000,
      minutes: 10,
      warmupMinutes: -1,
      changeEveryS: 30,
      sampleEveryS: 10,
      reconnectsPerS: -1,
      workers: 2,
      streamsPerChannel: 50,
      heapSnapshots: false,
      keep: false,
    },
    USAGE,
    false,
  );
  if (o.proxies < 1 || o.workers < 1 || o.minutes <= 0 || o.sampleEveryS <= 0 || o.changeEveryS <= 0)
    throw new OptionError('--proxies, --workers, --minutes, --sample-every-s and --change-every-s must be positive');
  if (o.warmupMinutes < 0) o.warmupMinutes = o.minutes / 5;
  if (o.reconnectsPerS < 0) o.reconnectsPerS = Math.max(1, Math.round(o.proxies / 30));
  o.workers = Math.min(Math.floor(o.workers), o.proxies);
  return o;
}

export interface MemorySample {
  /** Minutes since the churn began. */
  minute: number;
  rss: number;
  heapUsed: number;
  external: number;
}

export interface Trend {
  samples: number;
  mean: number;
  /** Least-squares slope, bytes per minute. */
  slopePerMinute: number;
  /** Slope over 10 minutes as a share of the mean. */
  per10MinShare: number;
  /** Growth (a fall counts as flat) under 1% of the mean per 10 minutes. */
  flat: boolean;
}

/** Least-squares line through (minute, value) of the samples after the warm-up. */
export function trend(samples: readonly MemorySample[], pick: (s: MemorySample) => number, warmup: number): Trend {
  const kept = samples.filter((s) => s.minute >= warmup);
  const n = kept.length;
  const mean = n ? kept.reduce((a, s) => a + pick(s), 0) / n : 0;
  const mx = n ? kept.reduce((a, s) => a + s.minute, 0) / n : 0;
  let sxy = 0;
  let sxx = 0;
  for (const s of kept) {
    sxy += (s.minute - mx) * (pick(s) - mean);
    sxx += (s.minute - mx) ** 2;
  }
  const slopePerMinute = sxx > 0 ? sxy / sxx : 0;
  const per10MinShare = mean > 0 ? (slopePerMinute * 10) / mean : 0;
  return { samples: n, mean, slopePerMinute, per10MinShare, flat: n >= 3 && per10MinShare < 0.01 };
}

export interface SoakReport {
  opts: SoakOptions;
  connectMs?: number;
  samples: MemorySample[];
  changes: { index: number; mode: string; allAckedMs?: number }[];
  reconnects: number;
  streamFailures: number;
  /** At the end, churn stopped and meshlite idle: streams meshlite lists vs streams the clients hold open. */
  adszStreams?: number;
  liveClients?: number;
  resources: { baseline?: ActiveResources; end?: ActiveResources };
  heapGrowth?: string;
  /** Streams of proxies that /debug/adsz lists more than once at the end (at most 20). */
  extraStreams?: { proxy: string; stream: number; connectedAt: string }[];
  load: { start: number; end: number; cpus: number };
  error?: string;
}

/** Kinds of active handles/timers with more at the end than at the baseline. */
export function resourceGrowth(r: SoakReport): Record<string, number> {
  const { baseline = {}, end = {} } = r.resources;
  const out: Record<string, number> = {};
  for (const kind of new Set([...Object.keys(baseline), ...Object.keys(end)])) {
    const d = (end[kind] ?? 0) - (baseline[kind] ?? 0);
    if (d > 0) out[kind] = d;
  }
  return out;
}

export function printSoakReport(r: SoakReport): void {
  const { opts } = r;
  const out = (s = '') => process.stdout.write(`${s}\n`);
  const line = (label: string, value: string) => out(`  ${pad(label, 44)}${value}`);
  out(`\nmeshlite soak benchmark: ${opts.proxies} streams, ${opts.minutes} min of churn (${opts.reconnectsPerS} reconnects/s)`);
  if (r.error) out(`  !! RUN FAILED: ${r.error} (partial results below)`);
  out(`  host: ${r.load.cpus} CPUs, load average ${r.load.start.toFixed(2)} at start, ${r.load.end.toFixed(2)} at end`);
  if (r.connectMs !== undefined) line('all streams synced (first connect)', ms(r.connectMs));
  line('streams reopened by the clients', String(r.reconnects));
  line('streams failed (meshlite side)', String(r.streamFailures));
  const acked = r.changes.filter((c) => c.allAckedMs !== undefined).map((c) => c.allAckedMs!);
  line(
    'policy changes during churn',
    `${r.changes.length}, ${acked.length} reached every proxy${acked.length ? `; all ACKed max ${ms(Math.max(...acked))}` : ''}`,
  );
  out('\n  minute   RSS          heap used    external');
  for (const s of r.samples)
    out(`  ${s.minute.toFixed(2).padStart(6)}   ${pad(mb(s.rss), 12)} ${pad(mb(s.heapUsed), 12)} ${mb(s.external)}`);
  for (const [label, pick] of [
    ['RSS', (s: MemorySample) => s.rss],
    ['heap used', (s: MemorySample) => s.heapUsed],
  ] as const) {
    const t = trend(r.samples, pick, opts.warmupMinutes);
    line(
      `${label} trend after ${opts.warmupMinutes} min warm-up`,
      `${(t.slopePerMinute / 1024).toFixed(1)} KiB/min over ${t.samples} samples, ${(100 * t.per10MinShare).toFixed(2)}% of the mean per 10 min: ${t.flat ? 'flat' : 'NOT flat'} (flat: grows < 1%)`,
    );
  }
  line(
    '/debug/adsz streams vs live clients',
    `${r.adszStreams ?? '-'} vs ${r.liveClients ?? '-'}${r.adszStreams === r.liveClients ? '' : '  !! MISMATCH'}`,
  );
  const growth = resourceGrowth(r);
  line(
    'active handles/timers, end vs baseline',
    Object.keys(growth).length === 0 ? `back to baseline (${JSON.stringify(r.resources.end ?? {})})` : `!! grew: ${JSON.stringify(growth)}`,
  );
  if (r.heapGrowth) out(`\nmeshlite heap growth per reopened stream (end - baseline snapshot)\n${r.heapGrowth}`);
}

export function soakJson(r: SoakReport): Record<string, unknown> {
  const t = (pick: (s: MemorySample) => number) => {
    const x = trend(r.samples, pick, r.opts.warmupMinutes);
    return { ...x, mean: Math.round(x.mean), slopePerMinute: Math.round(x.slopePerMinute), per10MinShare: round(x.per10MinShare, 5) };
  };
  return {
    bench: 'soak',
    ok: r.error === undefined,
    error: r.error,
    proxies: r.opts.proxies,
    minutes: r.opts.minutes,
    reconnectsPerS: r.opts.reconnectsPerS,
    loadAverage: r.load,
    connectMs: r.connectMs === undefined ? undefined : round(r.connectMs),
    reconnects: r.reconnects,
    streamFailures: r.streamFailures,
    changes: r.changes,
    rss: t((s) => s.rss),
    heapUsed: t((s) => s.heapUsed),
    adszStreams: r.adszStreams,
    liveClients: r.liveClients,
    resources: r.resources,
    resourceGrowth: resourceGrowth(r),
    extraStreams: r.extraStreams,
    samples: r.samples,
  };
}
