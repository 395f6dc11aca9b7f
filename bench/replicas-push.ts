// Replicated push benchmark: a real etcd, R meshlite replicas reading the
// config from it (`serve --store`), and N simulated Envoys (SotW ADS over TLS,
// one token each, push-client.ts) spread over the replicas. Measures the time
// from an apply of a mesh-wide policy change (the store transaction, as
// `meshlite apply` makes it) until every proxy on every replica has ACKed the
// LDS that reflects it: p50/p99 per change, and each replica's CPU.
//
//   npm run bench:replicas
//   node dist/bench/replicas-push.js --proxies 200 --changes 4 --replicas 3
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { loadMeshTexts } from '../src/control-plane/load-mesh.js';
import { planApply } from '../src/store/config-plan.js';
import { writeConfig } from '../src/store/config-write.js';
import { EtcdStore } from '../src/store/etcd-store.js';
import { openStoreIdentity } from '../src/store/store-identity.js';
import { parseStoreUrl } from '../src/store/store-url.js';
import { OptionError, runBenchmark } from './bench-util.js';
import { meshPolicy, type MtlsMode, writePushMesh } from './push-config.js';
import { freePort, MeshliteProcess } from './push-meshlite.js';
import { clock, type FromWorker } from './push-protocol.js';
import { dist } from './push-report.js';
import { WorkerHandle } from './push-workers.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const ETCD = process.env.ETCD_BIN ?? '/usr/bin/etcd';
const log = (msg: string) => process.stderr.write(`[replicas] ${msg}\n`);

interface Options {
  proxies: number;
  replicas: number;
  changes: number;
  workers: number;
  keep: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { proxies: 1000, replicas: 2, changes: 6, workers: 2, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--keep') {
      o.keep = true;
      continue;
    }
    const key = arg.replace(/^--/, '') as keyof Options;
    if (!arg.startsWith('--') || !(key in o) || key === 'keep')
      throw new OptionError(
        `unknown option ${arg}\nusage: replicas-push.js [--proxies N] [--replicas N] [--changes N] [--workers N] [--keep]`,
      );
    const value = Number(argv[++i]);
    if (!Number.isInteger(value) || value < 1) throw new OptionError(`${arg} needs a positive integer`);
    (o as unknown as Record<string, number>)[key] = value;
  }
  o.workers = Math.max(o.workers, o.replicas);
  return o;
}

async function startEtcd(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const [client, peer] = [await freePort(), await freePort()];
  const child = spawn(
    ETCD,
    [
      ...['--name', 'bench', '--data-dir', join(dir, 'etcd')],
      ...['--listen-client-urls', `http://127.0.0.1:${client}`, '--advertise-client-urls', `http://127.0.0.1:${client}`],
      ...['--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`],
      ...['--initial-cluster', `bench=http://127.0.0.1:${peer}`, '--log-level', 'warn', '--logger', 'zap'],
      // One apply writes the whole synthetic mesh in one transaction.
      ...['--max-txn-ops', '20000', '--max-request-bytes', String(32 * 1024 * 1024)],
    ],
    { stdio: 'ignore' },
  );
  const probe = new Etcd3({ hosts: `http://127.0.0.1:${client}` });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await probe.get('probe').string();
      break;
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`etcd did not start: ${String(err)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  probe.close();
  return { child, url: `etcd://127.0.0.1:${client}/bench` };
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const root = mkdtempSync(join(tmpdir(), 'meshlite-replicas-'));
  const replicas: MeshliteProcess[] = [];
  const workers: WorkerHandle[] = [];
  let etcd: ChildProcess | undefined;
  process.on('exit', () => {
    for (const r of replicas) r.killNow();
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    etcd?.kill('SIGKILL');
    if (!opts.keep) rmSync(root, { recursive: true, force: true });
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

  const started = await startEtcd(root);
  etcd = started.child;
  const keyFile = join(root, 'store.key');
  const storeKey = randomBytes(32);
  writeFileSync(keyFile, `${storeKey.toString('hex')}\n`, { mode: 0o600 });
  const mesh = writePushMesh(join(root, 'config'), { proxies: opts.proxies, services: Math.ceil(opts.proxies / 5), namespaces: 0 });
  let t = clock();
  execFileSync(process.execPath, [MAIN, 'apply', '-f', mesh.dir, '--store', started.url], { stdio: ['ignore', 'ignore', 'inherit'] });
  log(`applied ${mesh.proxies.length} workloads (${mesh.bytes} bytes of YAML) with meshlite apply in ${(clock() - t).toFixed(0)} ms`);

  t = clock();
  for (let i = 0; i < opts.replicas; i++) {
    const source = ['--store', started.url, '--store-key-file', keyFile, '--replica-id', `r${i}`];
    const ml = new MeshliteProcess(mesh.dir, join(root, `state-${i}`), await freePort(), await freePort(), source);
    ml.start();
    replicas.push(ml);
  }
  await Promise.all(replicas.map((r) => r.waitReady(120_000, false)));
  log(`${opts.replicas} replicas ready in ${(clock() - t).toFixed(0)} ms`);

  const store = new EtcdStore({ location: parseStoreUrl(started.url) });
  const identity = await openStoreIdentity(store, storeKey, { trustDomain: 'cluster.local' });
  const tokens = await Promise.all(mesh.proxies.map((p) => identity.tokens.issue(p.id)));
  const ready = Array.from({ length: opts.workers }, (_, w) => {
    const h = new WorkerHandle(w);
    workers.push(h);
    h.send({
      cmd: 'init',
      worker: w,
      adsAddress: replicas[w % opts.replicas]!.adsAddress,
      rootPem: identity.ca.rootCertPem,
      clients: mesh.proxies.map((p, i) => ({ id: p.id, token: tokens[i]!, i })).filter((c) => c.i % opts.workers === w),
      streamsPerChannel: 50,
      selfCheck: false,
    });
    return h.next((m) => m.evt === 'ready', 30_000, 'ready');
  });
  await Promise.all(ready);
  t = clock();
  const synced = workers.map((h) => h.next((m) => m.evt === 'synced', 600_000, 'full sync'));
  for (const h of workers) h.send({ cmd: 'connect' });
  await Promise.all(synced);
  log(`all ${opts.proxies} proxies synced across ${opts.replicas} replicas in ${(clock() - t).toFixed(0)} ms`);
  for (const r of replicas) await r.waitIdle(500, 120_000);

  const rows: string[] = [];
  const p50s: number[] = [];
  const p99s: number[] = [];
  for (let i = 1; i <= opts.changes; i++) {
    const mode: MtlsMode = i % 2 === 1 ? 'PERMISSIVE' : 'STRICT';
    const replies = workers.map((h) => {
      h.send({ cmd: 'await-mode', seq: i, mode });
      return h.next<Extract<FromWorker, { evt: 'mode' }>>((m) => m.evt === 'mode' && m.seq === i, 300_000, `change ${i}`);
    });
    const cpu0 = replicas.map((r) => r.proc().cpuMs);
    const t0 = clock();
    const outcome = await writeConfig(store, {
      plan: (snapshot) =>
        planApply(snapshot, [{ path: mesh.policyFile, display: 'mesh-peer-authentication.yaml', text: meshPolicy(mode), bytes: 0 }], [], {
          validate: (texts) => loadMeshTexts(texts),
        }),
      retries: 0,
      dryRun: false,
      by: 'bench',
    });
    if (outcome.kind !== 'written') throw new Error(`change ${i}: apply ended ${outcome.kind}`);
    const committed = clock() - t0;
    const acks = (await Promise.all(replies)).flatMap((m) => m.ackAt).map((at) => at - t0);
    const d = dist(acks);
    const idle = await Promise.all(replicas.map((r) => r.waitIdle(300, 120_000)));
    p50s.push(d.p50);
    p99s.push(d.p99);
    const cpu = idle.map((x, j) => (x.cpuMs - cpu0[j]!).toFixed(0)).join(' / ');
    rows.push(
      `  change ${i} (${mode.padEnd(10)}) committed ${committed.toFixed(1)} ms; ACKed p50 ${d.p50.toFixed(0)} ms  p99 ${d.p99.toFixed(0)} ms  all ${d.max.toFixed(0)} ms; replica CPU ${cpu} ms`,
    );
    log(rows[rows.length - 1]!.trim());
  }
  process.stdout.write(
    `\nmeshlite replicated push: ${opts.proxies} proxies over ${opts.replicas} replicas, one etcd\n${rows.join('\n')}\n`,
  );
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  process.stdout.write(
    `  apply -> every proxy ACKed: median p50 ${median(p50s).toFixed(0)} ms, median p99 ${median(p99s).toFixed(0)} ms, worst p99 ${Math.max(...p99s).toFixed(0)} ms\n`,
  );
  for (const w of workers) w.stop();
  await store.close();
  await Promise.all(replicas.map((r) => r.stop()));
  return 0;
}

runBenchmark('replicated push benchmark', main);
