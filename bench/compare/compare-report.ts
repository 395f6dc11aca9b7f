// The side-by-side table and the BENCH_JSON lines of bench:compare.
import { cpus, loadavg } from 'node:os';
import { distribution, pad, round } from '../bench-util.js';
import type { ServerFigures } from './compare-run.js';

export interface Summary {
  server: string;
  proxies: number;
  allSyncedMs: number;
  connectCpuMs: number;
  rssPerStreamKiB: number;
  /** The first change after connect (a warm-up one when there is any): until every proxy ACKed. */
  firstChangeAllAckedMs: number;
  /** Over the measured changes: the time until every proxy ACKed, its p50 and p99. */
  changeAllAckedP50Ms: number;
  changeAllAckedP99Ms: number;
  /** Median over the changes of the first proxy's ACK. */
  firstAckMs: number;
  /** Median over the changes of the server CPU a change cost. */
  cpuPerChangeMs: number;
  changes: number;
  warmupChanges: number;
  streamFailures: number;
  error?: string;
}

export function summarize(f: ServerFigures): Summary {
  const measured = f.changes.filter((c) => !c.warmup);
  const all = distribution(measured.map((c) => c.allAcked));
  const first = distribution(measured.map((c) => c.firstAck));
  const cpu = distribution(measured.map((c) => c.cpuMs));
  const r = (v: number) => (Number.isFinite(v) ? round(v, 1) : NaN);
  return {
    server: f.server,
    proxies: f.proxies,
    allSyncedMs: r(f.allSynced),
    connectCpuMs: r(f.connectCpuMs),
    rssPerStreamKiB: r(f.rssPerStreamBytes / 1024),
    firstChangeAllAckedMs: r(f.changes[0]?.allAcked ?? NaN),
    changeAllAckedP50Ms: r(all.p50),
    changeAllAckedP99Ms: r(all.p99),
    firstAckMs: r(first.p50),
    cpuPerChangeMs: r(cpu.p50),
    changes: measured.length,
    warmupChanges: f.changes.length - measured.length,
    streamFailures: f.streamFailures,
    ...(f.error ? { error: f.error } : {}),
  };
}

const ROWS: [string, keyof Summary][] = [
  ['connect -> all synced (ms)', 'allSyncedMs'],
  ['server CPU during connect (ms)', 'connectCpuMs'],
  ['RSS per stream after GC (KiB)', 'rssPerStreamKiB'],
  ['first change (cold) -> all ACKed (ms)', 'firstChangeAllAckedMs'],
  ['change -> all ACKed p50 (ms)', 'changeAllAckedP50Ms'],
  ['change -> all ACKed p99 (ms)', 'changeAllAckedP99Ms'],
  ['first ACK after the change (ms)', 'firstAckMs'],
  ['server CPU per change (ms)', 'cpuPerChangeMs'],
];

const LABEL_WIDTH = Math.max(...ROWS.map(([label]) => label.length)) + 2;

const isGo = (s: Summary) => s.server.startsWith('go-control-plane');

/** meshlite / go-control-plane for each pair of a meshlite server and a go-control-plane one. */
function ratioColumns(summaries: Summary[]): { label: string; a: Summary; b: Summary }[] {
  const goes = summaries.filter(isGo);
  return summaries.filter((s) => !isGo(s)).flatMap((a) => goes.map((b) => ({ label: `${short(a.server)}/${short(b.server)}`, a, b })));
}

function short(server: string): string {
  return server
    .replace('meshlite serve-only', 'serve')
    .replace('meshlite end to end', 'e2e')
    .replace(/^go-control-plane (\d) cores?$/, 'gcp$1');
}

const cell = (v: unknown, width: number) => {
  const text = typeof v === 'number' ? (Number.isFinite(v) ? String(round(v, 1)) : '-') : String(v);
  return text.padStart(width);
};

export function printTable(summaries: Summary[], opts: { proxies: number; changes: number; warmup: number }): void {
  const ratios = ratioColumns(summaries);
  const w = 12;
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out('');
  out(
    `bench:compare: ${opts.proxies} proxies, ${opts.changes} measured changes per server after ${opts.warmup} warm-up, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg()[0]!.toFixed(2)}`,
  );
  out(
    `${pad('', LABEL_WIDTH)}${summaries.map((s) => cell(short(s.server), w)).join('')}${ratios.map((r) => cell(r.label, w + 2)).join('')}`,
  );
  for (const [label, key] of ROWS) {
    const values = summaries.map((s) => cell(s[key], w)).join('');
    const ratioCells = ratios.map((r) => cell((r.a[key] as number) / (r.b[key] as number), w + 2)).join('');
    out(`${pad(label, LABEL_WIDTH)}${values}${ratioCells}`);
  }
  out('  (serve = meshlite serve-only, e2e = meshlite end to end, gcpN = go-control-plane v0.14.0 with GOMAXPROCS=N;');
  out('   ratios are meshlite / go-control-plane: below 1 means meshlite took less;');
  out('   the first change after connect is a warm-up one: shown alone, not in the p50, p99, first ACK and CPU rows)');
  for (const s of summaries) {
    if (s.error) out(`  ${s.server}: FAILED: ${s.error}`);
    if (s.streamFailures > 0) out(`  ${s.server}: ${s.streamFailures} stream failures (reconnected)`);
  }
}

export function benchJsonLines(summaries: Summary[]): string[] {
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? '?', load1: round(loadavg()[0]!, 2) };
  const lines = summaries.map((s) => ({ bench: 'compare', ...s, machine }));
  const ratios = ratioColumns(summaries).map((r) => ({
    bench: 'compare-ratio',
    meshlite: r.a.server,
    goControlPlane: r.b.server,
    ...Object.fromEntries(ROWS.map(([, key]) => [key, round((r.a[key] as number) / (r.b[key] as number), 3)])),
  }));
  return [...lines, ...ratios].map((x) => `BENCH_JSON ${JSON.stringify(x)}`);
}
