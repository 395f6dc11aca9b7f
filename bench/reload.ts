// Reload benchmark: how responsive `meshlite serve` stays while it starts on,
// and fully reloads, the synthetic bench mesh (default 1,000 services, 5,000
// workloads, 2,000 policies, 1,000 AuthorizationPolicies) with N proxies
// connected, and whether memory comes back after a 50 MB file is removed.
//
//   npm run bench:reload
//   node --expose-gc dist/bench/reload.js --proxies 500 --reloads 3
//   node --expose-gc dist/bench/reload.js --dist /path/to/other/checkout/dist   # the same run against another build
//
// Figures: event-loop delay (perf_hooks.monitorEventLoopDelay, 1 ms
// resolution) max and p99 per phase, the slowest /healthz answer to a probe
// sent every 10 ms, the phase's wall time, and heapUsed / RSS around the large file.
// Proxies are connected through the control plane's own entry point
// (proxyConnected, what an ADS stream triggers), so every reload rebuilds
// their snapshots; the gRPC write path is bench:push's subject.
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load-config.js';
import { buildMeshModel } from '../src/model/mesh-model.js';
import { sidecarProxies } from '../src/translate/translator.js';
import { mb, parseCommandLine, runGc } from './bench-util.js';
import { generateMesh } from './synthetic-mesh.js';

interface Running {
  adminPort: number;
  controlPlane: { proxyConnected(id: string): Promise<void>; idle(): Promise<void>; configStatus?: { generation: number } };
  reload(): void;
  stop(): Promise<void>;
}
type Start = (options: Record<string, unknown>) => Promise<Running>;

interface Phase {
  phase: string;
  wallMs: number;
  loopMaxMs: number;
  loopP99Ms: number;
  healthzMaxMs: number;
  healthzProbes: number;
  /** The longest garbage-collection pause (PerformanceObserver 'gc' entries): part of the loop delay no slicing can remove. */
  gcMaxMs: number;
}

const USAGE = `usage: npm run bench:reload -- [options]
  --services N --workloads N --policies N --authz N   the synthetic mesh (defaults 1000, 5000, 2000, 1000)
  --proxies N          connected proxies (default 1000)
  --reloads N          full reloads to measure (default 3)
  --large-file-mb N    the large file's size (default 50)
  --dist DIR           measure another build's dist (before/after comparisons)
  --json               the phases as JSON too`;
const { values: args } = parseCommandLine(
  'bench:reload',
  {
    services: { type: 'string', default: '1000' },
    workloads: { type: 'string', default: '5000' },
    policies: { type: 'string', default: '2000' },
    authz: { type: 'string', default: '1000' },
    proxies: { type: 'string', default: '1000' },
    reloads: { type: 'string', default: '3' },
    'large-file-mb': { type: 'string', default: '50' },
    dist: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  USAGE,
);
const num = (name: keyof typeof args) => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} needs a non-negative integer`);
  return n;
};

/** Event-loop delay and /healthz latency while `work` runs. */
async function measure(phase: string, adminPort: () => number | undefined, work: () => Promise<void>): Promise<Phase> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let gcMaxMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMaxMs = Math.max(gcMaxMs, entry.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  const healthz: number[] = [];
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const port = adminPort();
      const sent = performance.now();
      if (port) {
        try {
          await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(30_000) });
          healthz.push(performance.now() - sent);
        } catch {
          healthz.push(performance.now() - sent);
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  histogram.enable();
  const started = performance.now();
  await work();
  const wallMs = performance.now() - started;
  // A stall that lasted until the end of the work is recorded when the histogram's timer fires after it.
  await new Promise((r) => setTimeout(r, 5));
  histogram.disable();
  gc.disconnect();
  probing = false;
  await probe;
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  return {
    phase,
    wallMs: Math.round(wallMs),
    loopMaxMs: ms(histogram.max),
    loopP99Ms: ms(histogram.percentile(99)),
    healthzMaxMs: Math.round(Math.max(0, ...healthz)),
    healthzProbes: healthz.length,
    gcMaxMs: Math.round(gcMaxMs),
  };
}

async function waitForGeneration(running: Running, generation: number): Promise<void> {
  while ((running.controlPlane.configStatus?.generation ?? 0) < generation) await new Promise((r) => setTimeout(r, 5));
  await running.controlPlane.idle();
}

async function main(): Promise<void> {
  const dist = resolve(args.dist ?? join(dirname(new URL(import.meta.url).pathname), '..'));
  const { startMeshlite } = (await import(pathToFileURL(join(dist, 'src/control-plane/start-meshlite.js')).href)) as {
    startMeshlite: Start;
  };
  const root = mkdtempSync(join(tmpdir(), 'meshlite-bench-reload-'));
  const configDir = join(root, 'config');
  const mesh = generateMesh({
    services: num('services'),
    workloads: num('workloads'),
    policies: num('policies'),
    authz: num('authz'),
    namespaces: Math.max(1, Math.round(num('services') / 20)),
    seed: 42,
  });
  for (const f of mesh.files) {
    mkdirSync(dirname(join(configDir, f.name)), { recursive: true });
    writeFileSync(join(configDir, f.name), f.text);
  }
  process.stderr.write(`[reload] ${mesh.files.length} files, ${mb(mesh.bytes)}, build ${dist}\n`);
  const phases: Phase[] = [];
  let running: Running | undefined;
  try {
    phases.push(
      await measure(
        'startup (load, CA, listen)',
        () => running?.adminPort,
        async () => {
          running = await startMeshlite({
            configPaths: [configDir],
            stateDir: join(root, 'state'),
            adsAddress: '127.0.0.1:0',
            adminAddress: '127.0.0.1:0',
            insecure: true,
            logger: pino({ level: 'warn' }),
            debounceMs: 100,
          });
        },
      ),
    );
    const r = running!;
    // Before any proxy connects, so heapUsed compares like with like.
    if (num('large-file-mb') > 0) await largeFile(r, configDir, num('large-file-mb'), phases);
    const proxies = sidecarIds(configDir).slice(0, num('proxies'));
    phases.push(
      await measure(
        `connect ${proxies.length} proxies`,
        () => r.adminPort,
        async () => {
          await Promise.all(proxies.map((id) => r.controlPlane.proxyConnected(id)));
          await r.controlPlane.idle();
        },
      ),
    );
    for (let i = 1; i <= num('reloads'); i++) {
      const generation = (r.controlPlane.configStatus?.generation ?? 0) + 1;
      phases.push(
        await measure(
          `full reload ${i} (${proxies.length} proxies rebuilt)`,
          () => r.adminPort,
          async () => {
            r.reload();
            await waitForGeneration(r, generation);
          },
        ),
      );
    }
  } finally {
    await running?.stop();
    rmSync(root, { recursive: true, force: true });
  }
  if (args.json) process.stdout.write(`${JSON.stringify(phases, null, 2)}\n`);
  else {
    process.stdout.write(
      `${'phase'.padEnd(44)} ${'wall ms'.padStart(8)} ${'loop max'.padStart(9)} ${'loop p99'.padStart(9)} ${'healthz max'.padStart(12)} ${'gc max'.padStart(7)}\n`,
    );
    for (const p of phases) {
      process.stdout.write(
        `${p.phase.padEnd(44)} ${String(p.wallMs).padStart(8)} ${p.loopMaxMs.toFixed(1).padStart(9)} ${p.loopP99Ms.toFixed(1).padStart(9)} ${String(p.healthzMaxMs).padStart(12)} ${String(p.gcMaxMs).padStart(7)}\n`,
      );
    }
  }
}

/** The sidecar proxies of the mesh (its config and model are dropped again, so they do not weigh on the figures). */
function sidecarIds(configDir: string): string[] {
  const loaded = loadConfig([configDir]);
  if (!loaded.ok) throw new Error(`the synthetic mesh does not load: ${loaded.issues[0]?.message}`);
  return sidecarProxies(buildMeshModel(loaded.config)).map((w) => w.id);
}

/** A 50 MB file dropped in and removed again: heapUsed and RSS before, while it is there, and after. */
async function largeFile(r: Running, configDir: string, megabytes: number, phases: Phase[]): Promise<void> {
  const memory = () => {
    runGc();
    const m = process.memoryUsage();
    return `heapUsed ${mb(m.heapUsed)}, rss ${mb(m.rss)}`;
  };
  const before = memory();
  const path = join(configDir, 'large.yaml');
  const doc =
    'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: large, namespace: ns-0}\nspec: {hosts: [large.example.com], resolution: NONE}\n';
  writeFileSync(path, `${`# ${'x'.repeat(97)}\n`.repeat(Math.floor((megabytes * 1024 * 1024) / 100))}${doc}`);
  const generation = r.controlPlane.configStatus?.generation ?? 0;
  phases.push(
    await measure(
      `${megabytes} MB file added (reload)`,
      () => r.adminPort,
      async () => {
        r.reload();
        // Rejected (over --max-file-bytes) or applied: either way the reload is done once the status moves on.
        const status = () => r.controlPlane.configStatus as { generation: number; state?: string; rejectedAt?: number } | undefined;
        const seen = status();
        while (status() === seen) await new Promise((res) => setTimeout(res, 5));
      },
    ),
  );
  const during = memory();
  unlinkSync(path);
  phases.push(
    await measure(
      `${megabytes} MB file removed (reload)`,
      () => r.adminPort,
      async () => {
        r.reload();
        await waitForGeneration(r, generation + 1);
      },
    ),
  );
  const after = memory();
  process.stdout.write(
    `memory before the large file: ${before}\nwhile it is there:            ${during}\nafter it is removed:          ${after}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`bench:reload failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
