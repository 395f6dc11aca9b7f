// CreateCertificate throughput and latency: `meshlite serve` in its own
// process, pinned to one core (taskset, when there is more than one core),
// signing P-256 CSRs that this process made beforehand, for callers that
// authenticate with proxy tokens over TLS. Phases: one caller, 16 callers on
// one connection, then 1,000 callers with a connection each.
//
//   npm run bench:ca [-- --callers 1000 --calls-per-caller 5 --profile <dir>]
// --profile writes meshlite's CPU profile there (see profile-summary.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { TokenAuthority } from '../src/identity/proxy-token.js';
import { csrFor, p256 } from '../test/support/csr.js';
import { distribution, ms, now, msSince, pad } from './bench-util.js';
import { freePort } from './push-meshlite.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const PROTO = fileURLToPath(new URL('../../protos/istio-certificate-service.proto', import.meta.url));
const METHOD = '/istio.v1.auth.IstioCertificateService/CreateCertificate';
const IDENTITIES = 100;
/** Calls before the first measure, 16 at a time: until then V8 is still compiling meshlite's hot paths. */
const WARM_UP = 2000;
const CLK_TCK = 100;

const flag = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const CALLERS = flag('callers', 1000);
const CALLS_PER_CALLER = flag('calls-per-caller', 5);
const SEQUENTIAL = flag('sequential', 1000);
const CONCURRENT_ON_ONE = 16;
const CONCURRENT_CALLS = flag('concurrent-calls', 4000);
const PROFILE_DIR = process.argv.includes('--profile') ? process.argv[process.argv.indexOf('--profile') + 1] : undefined;

const root = protobuf.loadSync(PROTO);
const requestType = root.lookupType('istio.v1.auth.IstioCertificateRequest');
const responseType = root.lookupType('istio.v1.auth.IstioCertificateResponse');
const identity = (b: Buffer) => b;

/** Pins this process away from core 0 and returns the taskset prefix for meshlite, or nothing on one core. */
function pinning(): string[] {
  const cores = availableParallelism();
  if (cores < 2 || spawnSync('taskset', ['-V']).status !== 0) return [];
  spawnSync('taskset', ['-a', '-p', '-c', `1-${cores - 1}`, String(process.pid)], { stdio: 'ignore' });
  return ['taskset', '-c', '0'];
}

function configYaml(): string {
  const docs: string[] = [];
  for (let i = 0; i < IDENTITIES; i++) {
    docs.push(`apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: w${i}, namespace: bench}
spec:
  address: 10.1.${Math.floor(i / 250)}.${(i % 250) + 1}
  serviceAccount: w${i}
  labels: {app: w${i}, security.istio.io/tlsMode: istio}
`);
  }
  return docs.join('---\n');
}

async function startServer(dir: string, prefix: string[]): Promise<{ child: ChildProcess; adsPort: number }> {
  const [adsPort, adminPort] = [await freePort(), await freePort()];
  const profile = PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : [];
  const args = [...profile, MAIN, 'serve', '-c', join(dir, 'config.yaml'), '--state-dir', join(dir, 'state'), '--log-level', 'warn'];
  args.push('--ads-address', `127.0.0.1:${adsPort}`, '--admin-address', `127.0.0.1:${adminPort}`, '--csr-rate-limit', '1000000000/1s');
  const [cmd, ...rest] = prefix.length ? [...prefix, process.execPath, ...args] : [process.execPath, ...args];
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 300; i++) {
    const ready = await fetch(`http://127.0.0.1:${adminPort}/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return { child, adsPort };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('meshlite did not become ready');
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

type Call = (request: Buffer, md: grpc.Metadata) => Promise<Buffer>;

function caller(port: number, rootPem: string): { call: Call; close(): void } {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(rootPem)), {
    'grpc.ssl_target_name_override': 'meshlite',
    'grpc.use_local_subchannel_pool': 1,
  });
  const call: Call = (request, md) =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest(METHOD, identity, identity, request, md, (err, res) => (err ? reject(err) : resolve(res!))),
    );
  return { call, close: () => client.close() };
}

interface PhaseResult {
  name: string;
  calls: number;
  wallMs: number;
  serverCpuMs: number;
  clientCpuMs: number;
  latencies: number[];
}

async function phase(name: string, pid: number, workers: (() => Promise<number[]>)[]): Promise<PhaseResult> {
  const cpu0 = cpuMs(pid);
  const client0 = process.cpuUsage();
  const start = now();
  const latencies = (await Promise.all(workers.map((w) => w()))).flat();
  const wallMs = msSince(start);
  const client = process.cpuUsage(client0);
  return {
    name,
    calls: latencies.length,
    wallMs,
    serverCpuMs: cpuMs(pid) - cpu0,
    clientCpuMs: (client.user + client.system) / 1000,
    latencies,
  };
}

function loop(call: Call, requests: Buffer[], md: grpc.Metadata): () => Promise<number[]> {
  return async () => {
    const latencies: number[] = [];
    for (const request of requests) {
      const start = now();
      await call(request, md);
      latencies.push(msSince(start));
    }
    return latencies;
  };
}

/** One line per phase. Capacity is what meshlite's core would sign at 100% at the CPU each certificate took. */
function report(r: PhaseResult): void {
  const d = distribution(r.latencies);
  const rate = (r.calls / r.wallMs) * 1000;
  const percent = (cpu: number) => `${((cpu / r.wallMs) * 100).toFixed(0)}%`;
  console.log(
    `${pad(r.name, 34)} ${String(r.calls).padStart(5)} certs ${rate.toFixed(0).padStart(5)}/s  p50 ${ms(d.p50).padStart(8)}  p99 ${ms(d.p99).padStart(8)}  ` +
      `meshlite CPU ${percent(r.serverCpuMs)} (${ms(r.serverCpuMs / r.calls)}/cert, capacity ${((r.calls / r.serverCpuMs) * 1000).toFixed(0)}/s)  client CPU ${percent(r.clientCpuMs)}`,
  );
}

async function main(): Promise<void> {
  const prefix = pinning();
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-bench-ca-'));
  writeFileSync(join(dir, 'config.yaml'), configYaml());
  const total = 1 + WARM_UP + SEQUENTIAL + CONCURRENT_CALLS + CALLERS * (CALLS_PER_CALLER + 1);
  const madeAt = now();
  const requests = Array.from({ length: total }, () => Buffer.from(requestType.encode({ csr: csrFor(p256()) }).finish()));
  console.log(
    `${total} P-256 CSRs made in ${ms(msSince(madeAt))} (not measured); meshlite ${prefix.length ? 'pinned to core 0' : 'unpinned'}`,
  );
  const { child, adsPort } = await startServer(dir, prefix);
  const clients: { close(): void }[] = [];
  try {
    const tokens = await TokenAuthority.load(join(dir, 'state'));
    const rootPem = readFileSync(join(dir, 'state', 'ca', 'root-cert.pem'), 'utf8');
    const mds = await Promise.all(
      Array.from({ length: IDENTITIES }, async (_, i) => {
        const md = new grpc.Metadata();
        md.set('authorization', `Bearer ${await tokens.issue(`w${i}.bench`)}`);
        return md;
      }),
    );
    const take = (n: number) => requests.splice(0, n);
    const shared = caller(adsPort, rootPem);
    clients.push(shared);
    const sample = responseType.decode(await shared.call(take(1)[0]!, mds[0]!)) as unknown as { certChain: string[] };
    const leaf = new X509Certificate(sample.certChain[0]!);
    console.log(`sample: ${sample.certChain.length} certificates, leaf ${leaf.subjectAltName}`);
    const warmUp = Array.from({ length: 16 }, (_, i) => loop(shared.call, take(WARM_UP / 16), mds[i]!));
    await Promise.all(warmUp.map((w) => w()));

    const pid = child.pid!;
    report(await phase('1 caller, sequential', pid, [loop(shared.call, take(SEQUENTIAL), mds[2]!)]));
    const perWorker = Math.floor(CONCURRENT_CALLS / CONCURRENT_ON_ONE);
    const onOne = Array.from({ length: CONCURRENT_ON_ONE }, (_, i) => loop(shared.call, take(perWorker), mds[i % IDENTITIES]!));
    report(await phase(`${CONCURRENT_ON_ONE} callers, one connection`, pid, onOne));

    const connectAt = now();
    const many = Array.from({ length: CALLERS }, () => caller(adsPort, rootPem));
    clients.push(...many);
    await Promise.all(many.map((c, i) => c.call(take(1)[0]!, mds[i % IDENTITIES]!)));
    console.log(`${CALLERS} callers connected (TLS) and got a first certificate in ${ms(msSince(connectAt))}`);
    const workers = many.map((c, i) => loop(c.call, take(CALLS_PER_CALLER), mds[i % IDENTITIES]!));
    report(await phase(`${CALLERS} callers, a connection each`, pid, workers));
  } finally {
    for (const c of clients) c.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
