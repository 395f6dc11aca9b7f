// Side-by-side benchmark: meshlite and go-control-plane v0.14.0 serving the
// same resources to the same simulated Envoys, on the same machine, in one run.
//
//   npm run bench:compare
//   npm run bench:compare -- --proxies 200 --changes 4
//   node --expose-gc dist/bench/compare/compare.js --servers serve,gcp2
//
// 1. The push-bench mesh is written (N sidecars) and a real meshlite exports
//    what it serves each proxy, in both states of the mesh-wide policy, into a
//    snapshot file (export-snapshots.ts), with an ADS certificate of its CA.
// 2. The Go program in ./go is built (`go vet`, `go build`; Go must be on PATH).
// 3. Each server in turn, with fresh clients (bench/push-client.ts workers):
//    meshlite serve-only (those snapshots in meshlite's ADS server and cache),
//    meshlite end to end (`meshlite serve`, the policy file rewritten:
//    translation included), go-control-plane with GOMAXPROCS=1 and =2.
// 4. A table of each figure per server and the meshlite / go-control-plane
//    ratios, and BENCH_JSON lines.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TokenAuthority } from '../../src/identity/proxy-token.js';
import { OptionError } from '../bench-util.js';
import { writePushMesh } from '../push-config.js';
import { benchJsonLines, printTable, summarize } from './compare-report.js';
import { emptyFigures, runAgainst, type ServerFigures } from './compare-run.js';
import { startEndToEnd, startGoControlPlane, startServeOnly, type Target, type TargetInputs } from './compare-targets.js';

const GO_SOURCE = fileURLToPath(new URL('../../../bench/compare/go/', import.meta.url));
const GO_BINARY = join(GO_SOURCE, '..', '.bin', 'xds-peer');
const EXPORTER = fileURLToPath(new URL('./export-snapshots.js', import.meta.url));
const SERVERS = ['serve', 'e2e', 'gcp1', 'gcp2'] as const;
type ServerKey = (typeof SERVERS)[number];

const USAGE = `usage: npm run bench:compare -- [options]
  --proxies N              simulated Envoys (default 1000)
  --changes K              measured changes per server, alternating STRICT/PERMISSIVE (default 6)
  --warmup W               changes made first and reported apart (default 2)
  --servers LIST           of ${SERVERS.join(',')} (default all, in that order)
  --workers N              client processes (default 2)
  --streams-per-channel N  ADS streams per gRPC channel (default 50)
  --settle-ms N            a server is idle after N ms under 5% of a core (default 300)
  --cpu-prof DIR           CPU profiles of both meshlite servers (whole run) into DIR
  --keep                   keep the temp directory`;

interface Options {
  proxies: number;
  changes: number;
  warmup: number;
  servers: ServerKey[];
  workers: number;
  streamsPerChannel: number;
  settleMs: number;
  keep: boolean;
  cpuProf?: string;
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = {
    proxies: 1000,
    changes: 6,
    warmup: 2,
    servers: [...SERVERS],
    workers: 2,
    streamsPerChannel: 50,
    settleMs: 300,
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (arg === '--keep') {
      o.keep = true;
      continue;
    }
    const value = argv[++i];
    if (arg === '--cpu-prof') {
      if (!value) throw new OptionError('--cpu-prof needs a directory');
      o.cpuProf = value;
      continue;
    }
    if (arg === '--servers') {
      const list = (value ?? '').split(',').filter(Boolean);
      const bad = list.find((s) => !(SERVERS as readonly string[]).includes(s));
      if (list.length === 0 || bad !== undefined) throw new OptionError(`--servers takes a list of ${SERVERS.join(',')}, got ${value}`);
      o.servers = list as ServerKey[];
      continue;
    }
    const key = {
      '--proxies': 'proxies',
      '--changes': 'changes',
      '--warmup': 'warmup',
      '--workers': 'workers',
      '--streams-per-channel': 'streamsPerChannel',
      '--settle-ms': 'settleMs',
    }[arg] as 'proxies' | 'changes' | 'warmup' | 'workers' | 'streamsPerChannel' | 'settleMs' | undefined;
    if (!key) throw new OptionError(`unknown option ${arg}\n${USAGE}`);
    const n = Number(value);
    const nonNegative = key === 'changes' || key === 'warmup' || key === 'settleMs';
    if (!Number.isInteger(n) || n < (nonNegative ? 0 : 1))
      throw new OptionError(`${arg} needs a ${nonNegative ? 'non-negative' : 'positive'} integer, got ${value}`);
    o[key] = n;
  }
  return o;
}

const log = (msg: string) => process.stderr.write(`[compare] ${msg}\n`);

/** go vet and go build of ./go into bench/compare/.bin (ignored by git); a clear error when Go is missing. */
function buildGoProgram(): string {
  const version = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0)
    throw new OptionError(
      `bench:compare builds its go-control-plane server from bench/compare/go and needs Go 1.26 or later on PATH: ${version.error?.message ?? version.stderr.trim()}`,
    );
  log(`building the go-control-plane server with ${version.stdout.trim()}...`);
  try {
    execFileSync('go', ['vet', '.'], { cwd: GO_SOURCE, stdio: ['ignore', 'inherit', 'inherit'] });
    execFileSync('go', ['build', '-o', GO_BINARY, '.'], { cwd: GO_SOURCE, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch {
    throw new OptionError('building bench/compare/go failed (see above)');
  }
  return GO_BINARY;
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const wantsGo = opts.servers.some((s) => s.startsWith('gcp'));
  const goBinary = wantsGo ? buildGoProgram() : '';
  const root = mkdtempSync(join(tmpdir(), 'meshlite-compare-'));
  process.on('exit', () => {
    if (!opts.keep) rmSync(root, { recursive: true, force: true });
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

  // The shape of bench:push: a service per 5 proxies, a namespace per 10 services.
  const services = Math.max(1, Math.ceil(opts.proxies / 5));
  const mesh = writePushMesh(join(root, 'config'), { proxies: opts.proxies, services, namespaces: Math.max(1, Math.ceil(services / 10)) });
  const inputs: TargetInputs = {
    exportDir: join(root, 'export'),
    configDir: mesh.dir,
    stateDir: join(root, 'state'),
    policyFile: mesh.policyFile,
  };
  mkdirSync(inputs.exportDir, { recursive: true });
  const idsFile = join(root, 'proxy-ids.json');
  writeFileSync(idsFile, JSON.stringify(mesh.proxies.map((p) => p.id)));
  log(`exporting what meshlite serves ${opts.proxies} proxies, in both states...`);
  const exportStart = performance.now();
  execFileSync(process.execPath, [EXPORTER, mesh.dir, inputs.stateDir, mesh.policyFile, idsFile, inputs.exportDir], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  log(`exported in ${((performance.now() - exportStart) / 1000).toFixed(1)} s`);

  const authority = await TokenAuthority.loadOrCreate(inputs.stateDir);
  const tokens = await Promise.all(mesh.proxies.map((p) => authority.issue(p.id)));
  const clients = mesh.proxies.map((p, i) => ({ id: p.id, token: tokens[i]! }));
  const rootPem = readFileSync(join(inputs.stateDir, 'ca', 'root-cert.pem'), 'utf8');
  const profile = (name: string) =>
    opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProf, '--cpu-prof-name', `${name}.cpuprofile`] : [];
  const start: Record<ServerKey, () => Promise<Target>> = {
    serve: () => startServeOnly(inputs, profile('serve-only')),
    e2e: () => startEndToEnd(inputs, profile('end-to-end')),
    gcp1: () => startGoControlPlane(inputs, goBinary, 1),
    gcp2: () => startGoControlPlane(inputs, goBinary, 2),
  };
  const results: ServerFigures[] = [];
  for (const key of opts.servers) {
    log(`--- ${key} ---`);
    let target: Target | undefined;
    try {
      target = await start[key]();
      results.push(
        await runAgainst(target, {
          clients,
          rootPem,
          workers: opts.workers,
          streamsPerChannel: opts.streamsPerChannel,
          changes: opts.changes,
          warmup: opts.warmup,
          settleMs: opts.settleMs,
          connectTimeoutMs: 300_000,
          changeTimeoutMs: 120_000,
        }),
      );
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      log(`${key}: FAILED: ${error}`);
      results.push({ ...emptyFigures(key, opts.proxies), error });
    } finally {
      await target?.stop();
    }
  }
  const summaries = results.map(summarize);
  printTable(summaries, opts);
  for (const line of benchJsonLines(summaries)) process.stdout.write(`${line}\n`);
  if (opts.keep) log(`kept ${root}`);
  return summaries.some((s) => s.error) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(
      err instanceof OptionError ? `${err.message}\n` : `compare benchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`,
    );
    process.exit(err instanceof OptionError ? 2 : 1);
  },
);
