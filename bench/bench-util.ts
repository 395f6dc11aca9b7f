// Small helpers for the benchmarks: options, timing, percentiles, memory.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { MeshShape } from './synthetic-mesh.js';

/** The synthetic mesh's shape, plus how the benchmark runs. */
export interface BenchOptions extends MeshShape {
  /** Proxies whose output is validated and encoded through the protos. */
  encodeSample: number;
  /** Proxies whose outputs are kept alive together to measure retained heap. */
  retainSample: number;
  /** Translate at most this many proxies (0 = all); for quick profiling runs. */
  maxProxies: number;
  /** Memory is sampled after every this many proxies. */
  memEvery: number;
}

const DEFAULTS: BenchOptions = {
  services: 1000,
  workloads: 5000,
  policies: 2000,
  authz: 1000,
  namespaces: 0,
  seed: 42,
  sidecars: 0,
  encodeSample: 200,
  retainSample: 20,
  maxProxies: 0,
  memEvery: 100,
};

const ENV: Record<keyof BenchOptions, string> = {
  services: 'BENCH_SERVICES',
  workloads: 'BENCH_WORKLOADS',
  policies: 'BENCH_POLICIES',
  authz: 'BENCH_AUTHZ',
  namespaces: 'BENCH_NAMESPACES',
  seed: 'BENCH_SEED',
  sidecars: 'BENCH_SIDECARS',
  encodeSample: 'BENCH_ENCODE_SAMPLE',
  retainSample: 'BENCH_RETAIN_SAMPLE',
  maxProxies: 'BENCH_MAX_PROXIES',
  memEvery: 'BENCH_MEM_EVERY',
};

const USAGE = `usage: node dist/bench/translate.js [options]
  --services N        ServiceEntries (default 1000)          env BENCH_SERVICES
  --workloads N       WorkloadEntries (default 5000)         env BENCH_WORKLOADS
  --policies N        PeerAuthentication + DestinationRule (default 2000)  env BENCH_POLICIES
  --authz N           AuthorizationPolicies, + a RequestAuthentication per namespace (default 1000)  env BENCH_AUTHZ
  --namespaces N      namespaces (default services/20, at least 1)         env BENCH_NAMESPACES
  --seed N            generator seed (default 42)            env BENCH_SEED
  --sidecars N        1: a Sidecar per namespace importing "./*" and the next namespace (default 0)  env BENCH_SIDECARS
  --encode-sample N   proxies encoded through protos (default 200)         env BENCH_ENCODE_SAMPLE
  --retain-sample N   proxy outputs kept alive to size them (default 20)   env BENCH_RETAIN_SAMPLE
  --max-proxies N     translate only the first N proxies (default 0 = all) env BENCH_MAX_PROXIES
  --mem-every N       sample memory every N proxies (default 100)          env BENCH_MEM_EVERY`;

/** A bad command line: reported as a message, not a stack trace. */
export class OptionError extends Error {}

/**
 * node:util's parseArgs for a benchmark's command line: --help prints the
 * header comment's usage and exits 0; an unknown or malformed option prints
 * what is wrong and the usage, and exits 2 (never a stack trace).
 */
export function parseCommandLine<T extends ParseArgsConfig['options']>(name: string, options: T, usage: string) {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  try {
    return parseArgs({ options, strict: true, allowPositionals: false });
  } catch (err) {
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n${usage}\n`);
    process.exit(2);
  }
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Options from defaults, then environment, then argv (`--name N` or `--name=N`). */
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const opts: BenchOptions = { ...DEFAULTS };
  const set = (key: string, raw: string | undefined, from: string): void => {
    if (!(key in DEFAULTS)) throw new OptionError(`unknown option ${from}\n${USAGE}`);
    const value = Number(raw);
    if (raw === undefined || raw === '' || !Number.isInteger(value) || value < 0)
      throw new OptionError(`${from} needs a non-negative integer, got ${raw}`);
    opts[key as keyof BenchOptions] = value;
  };
  for (const [key, name] of Object.entries(ENV)) if (env[name] !== undefined) set(key, env[name], name);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (!arg.startsWith('--')) throw new OptionError(`unexpected argument "${arg}"\n${USAGE}`);
    const eq = arg.indexOf('=');
    if (eq > 0) set(camel(arg.slice(2, eq)), arg.slice(eq + 1), arg);
    else set(camel(arg.slice(2)), argv[++i], arg);
  }
  if (opts.namespaces === 0) opts.namespaces = Math.max(1, Math.round(opts.services / 20));
  if (opts.memEvery === 0) opts.memEvery = 100;
  return opts;
}

/**
 * `--name N`, `--name=N` and boolean `flags` over `defaults` (a new object);
 * `integers`: numbers must be whole. Unknown options and bad numbers are
 * OptionErrors; --help prints `usage` and exits.
 */
export function parseLongOptions<T extends { [K in keyof T]: number | boolean }>(
  argv: readonly string[],
  defaults: T,
  usage: string,
  integers: boolean,
): T {
  const o: Record<string, number | boolean> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    }
    const eq = arg.indexOf('=');
    const key = camel(eq > 0 ? arg.slice(2, eq) : arg.slice(2));
    if (!arg.startsWith('--') || !(key in o)) throw new OptionError(`unknown option ${arg}\n${usage}`);
    if (typeof o[key] === 'boolean') {
      o[key] = true;
      continue;
    }
    const raw = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    const value = Number(raw);
    if (!(integers ? Number.isInteger(value) : Number.isFinite(value)) || value < 0)
      throw new OptionError(`${arg} needs a non-negative ${integers ? 'integer' : 'number'}, got ${raw}`);
    o[key] = value;
  }
  return o as T;
}

/** Runs a benchmark's main and exits with its code; a bad command line is one message, anything else a stack. */
export function runBenchmark(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(
        err instanceof OptionError ? `${err.message}\n` : `${name} failed: ${err instanceof Error ? err.stack : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}

export function now(): bigint {
  return process.hrtime.bigint();
}

export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Runs `fn` and returns its result with the elapsed milliseconds. */
export function timed<T>(fn: () => T): [T, number] {
  const start = now();
  const result = fn();
  return [result, msSince(start)];
}

export interface Distribution {
  count: number;
  total: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles over `values` (sorted in place). */
export function distribution(values: Float64Array | number[]): Distribution {
  const sorted = values instanceof Float64Array ? values.sort() : Float64Array.from(values).sort();
  const n = sorted.length;
  const at = (q: number): number => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!);
  let total = 0;
  for (const v of sorted) total += v;
  return {
    count: n,
    total,
    mean: n ? total / n : 0,
    min: n ? sorted[0]! : 0,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: n ? sorted[n - 1]! : 0,
  };
}

export function runGc(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return false;
  gc();
  gc();
  return true;
}

export interface MemoryPeak {
  rss: number;
  heapUsed: number;
  rssAt: string;
  heapUsedAt: string;
  samples: number;
}

/** Tracks the largest rss and heapUsed seen, and where (phase label) they were seen. */
export class MemorySampler {
  readonly peak: MemoryPeak = { rss: 0, heapUsed: 0, rssAt: '', heapUsedAt: '', samples: 0 };
  readonly phasePeaks = new Map<string, { rss: number; heapUsed: number }>();

  sample(label: string): NodeJS.MemoryUsage {
    const m = process.memoryUsage();
    this.peak.samples++;
    if (m.rss > this.peak.rss) {
      this.peak.rss = m.rss;
      this.peak.rssAt = label;
    }
    if (m.heapUsed > this.peak.heapUsed) {
      this.peak.heapUsed = m.heapUsed;
      this.peak.heapUsedAt = label;
    }
    const phase = label.split(':')[0]!;
    const prev = this.phasePeaks.get(phase) ?? { rss: 0, heapUsed: 0 };
    this.phasePeaks.set(phase, { rss: Math.max(prev.rss, m.rss), heapUsed: Math.max(prev.heapUsed, m.heapUsed) });
    return m;
  }
}

export const MB = 1024 * 1024;

export function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MiB`;
}

export function ms(value: number): string {
  if (value >= 10_000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 1) return `${value.toFixed(2)} ms`;
  return `${(value * 1000).toFixed(0)} µs`;
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Rounds every number in a distribution for the JSON summary. */
export function roundDist(d: Distribution): Distribution {
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, round(v)])) as unknown as Distribution;
}

export function pad(label: string, width = 34): string {
  return label.length >= width ? `${label} ` : label + ' '.repeat(width - label.length);
}
