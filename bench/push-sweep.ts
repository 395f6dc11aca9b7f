// Runs the push benchmark at several sizes, one after the other, and prints
// one line per size plus the largest size whose every change reached every
// proxy within the target (default 2 s). Extra options go to each push run.
//
//   node --expose-gc dist/bench/push-sweep.js --sizes 1000,2000,3000,5000 --changes 3
//   node --expose-gc dist/bench/push-sweep.js --sizes 500,1000 --target-ms 1000 --services 200
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ms, OptionError, pad } from './bench-util.js';

const PUSH = fileURLToPath(new URL('./push.js', import.meta.url));
const log = (msg: string) => process.stderr.write(`[sweep] ${msg}\n`);

interface PushJson {
  ok: boolean;
  error?: string;
  proxies: number;
  loadAverage: { start: number; end: number };
  connectMs?: { allSynced: number; meshliteCpu: number };
  memoryBytes: { perProxy: { rss?: number } };
  pushMs?: { allAcked: { p50: number; max: number }; meshliteCpuUntilIdle: { p50: number } };
}

function runPush(proxies: number, extra: readonly string[]): Promise<PushJson | { ok: false; proxies: number; error: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', PUSH, '--proxies', String(proxies), ...extra], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (line) resolve(JSON.parse(line.slice('BENCH_JSON '.length)) as PushJson);
      else resolve({ ok: false, proxies, error: `push exited ${code} without BENCH_JSON` });
    });
  });
}

function parseArgs(argv: readonly string[]): { sizes: number[]; targetMs: number; extra: string[] } {
  const extra: string[] = [];
  let sizes = [1000, 2000, 3000, 5000];
  let targetMs = 2000;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--sizes') {
      sizes = (argv[++i] ?? '').split(',').map(Number);
      if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1))
        throw new OptionError('--sizes needs a comma-separated list of positive integers');
    } else if (arg === '--target-ms') {
      targetMs = Number(argv[++i]);
      if (!(targetMs > 0)) throw new OptionError('--target-ms needs a positive number');
    } else if (arg === '--proxies') throw new OptionError('--proxies is set by --sizes');
    else extra.push(arg);
  }
  return { sizes, targetMs, extra };
}

async function main(): Promise<void> {
  const { sizes, targetMs, extra } = parseArgs(process.argv.slice(2));
  const rows: PushJson[] = [];
  for (const n of sizes) {
    log(`push --proxies ${n} ${extra.join(' ')}`);
    const r = await runPush(n, extra);
    rows.push(r as PushJson);
    process.stdout.write(`BENCH_JSON ${JSON.stringify({ bench: 'push-sweep-size', ...r })}\n`);
  }
  const converged = (r: PushJson) => r.ok && r.pushMs !== undefined && r.pushMs.allAcked.max <= targetMs;
  const best = rows.filter(converged).reduce((m, r) => Math.max(m, r.proxies), 0);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`\npush sweep (load average now ${loadavg()[0]!.toFixed(2)}); target: every change ACKed everywhere within ${ms(targetMs)}`);
  out(
    `  ${pad('proxies', 9)}${pad('synced', 12)}${pad('CPU connect', 13)}${pad('all ACKed p50', 15)}${pad('max', 11)}${pad('CPU/change', 12)}${pad('RSS/proxy', 12)}load`,
  );
  for (const r of rows) {
    if (!r.ok && !r.connectMs) {
      out(`  ${pad(String(r.proxies), 9)}FAILED: ${r.error}`);
      continue;
    }
    const p = r.pushMs;
    out(
      `  ${pad(String(r.proxies), 9)}${pad(r.connectMs ? ms(r.connectMs.allSynced) : '-', 12)}${pad(r.connectMs ? ms(r.connectMs.meshliteCpu) : '-', 13)}` +
        `${pad(p ? ms(p.allAcked.p50) : '-', 15)}${pad(p ? ms(p.allAcked.max) : '-', 11)}${pad(p ? ms(p.meshliteCpuUntilIdle.p50) : '-', 12)}` +
        `${pad(r.memoryBytes.perProxy.rss !== undefined ? `${(r.memoryBytes.perProxy.rss / 1024).toFixed(0)} KiB` : '-', 12)}${r.loadAverage.start.toFixed(1)}-${r.loadAverage.end.toFixed(1)}${r.ok ? '' : `  FAILED: ${r.error}`}`,
    );
  }
  out(`  largest size within the target: ${best > 0 ? best : `none of ${sizes.join(', ')}`}`);
  process.stdout.write(`BENCH_JSON ${JSON.stringify({ bench: 'push-sweep', targetMs, sizes, largestWithinTarget: best })}\n`);
}

main().catch((err) => {
  process.stderr.write(
    err instanceof OptionError ? `${err.message}\n` : `push sweep failed: ${err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exit(err instanceof OptionError ? 2 : 1);
});
