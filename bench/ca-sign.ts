// CreateCertificate throughput and latency: `meshlite serve` in its own
// process, pinned to one core (taskset, when there is more than one core),
// signing P-256 CSRs that this process made beforehand. Phases: one caller,
// 16 callers on one connection, 1,000 callers connecting at once (TLS
// handshake, token) for a first certificate, the same 1,000 calling again on
// their connections, and 1,000 renewals at once, each on a new connection
// authenticated by its current certificate (the steady state of agents).
// Two reference phases make 1,000 connections that call a method meshlite
// does not have: what a handshake and an HTTP/2 session cost on their own.
//
//   npm run bench:ca [-- --callers 1000 --calls-per-caller 5 --profile <dir>]
// --profile writes meshlite's CPU profile there (see profile-summary.ts);
// --dist <other checkout>/dist runs that build's meshlite (before/after).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { type KeyObject, X509Certificate } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { TokenAuthority } from '../src/identity/proxy-token.js';
import { csrFor, p256 } from '../test/support/csr.js';
import { distribution, ms, now, msSince, pad } from './bench-util.js';
import { caller, type ClientCertificate, connecting, keyPem, loop, MISSING_METHOD } from './ca-callers.js';
import { freePort } from './push-meshlite.js';

const DIST = process.argv.includes('--dist')
  ? process.argv[process.argv.indexOf('--dist') + 1]!
  : fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(DIST, 'src/cli/main.js');
const PROTO = fileURLToPath(new URL('../../protos/istio-certificate-service.proto', import.meta.url));
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
  // Both clocks are the monotonic one: the window selects this phase's samples in meshlite's profile.
  if (PROFILE_DIR) console.log(`profile window of "${name}": --from ${start / 1000n} --to ${now() / 1000n}`);
  return {
    name,
    calls: latencies.length,
    wallMs,
    serverCpuMs: cpuMs(pid) - cpu0,
    clientCpuMs: (client.user + client.system) / 1000,
    latencies,
  };
}

/** One line per phase. Capacity is what meshlite's core would answer at 100% at the CPU each call took. */
function report(r: PhaseResult, note = ''): void {
  const d = distribution(r.latencies);
  const rate = (r.calls / r.wallMs) * 1000;
  const percent = (cpu: number) => `${((cpu / r.wallMs) * 100).toFixed(0)}%`;
  console.log(
    `${pad(r.name, 34)} ${String(r.calls).padStart(5)} calls ${rate.toFixed(0).padStart(5)}/s  p50 ${ms(d.p50).padStart(8)}  p99 ${ms(d.p99).padStart(8)}  ` +
      `meshlite CPU ${percent(r.serverCpuMs)} (${ms(r.serverCpuMs / r.calls)}/call, capacity ${((r.calls / r.serverCpuMs) * 1000).toFixed(0)}/s)  ` +
      `client CPU ${percent(r.clientCpuMs)}  wall ${ms(r.wallMs)}${note ? `  [${note}]` : ''}`,
  );
}

/** A CSR request ready to send, and the key it is for (kept for the callers that renew with the certificate they get). */
interface Prepared {
  key: KeyObject;
  request: Buffer;
}

async function main(): Promise<void> {
  const prefix = pinning();
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-bench-ca-'));
  writeFileSync(join(dir, 'config.yaml'), configYaml());
  const total = 1 + WARM_UP + SEQUENTIAL + CONCURRENT_CALLS + CALLERS * (CALLS_PER_CALLER + 2);
  const madeAt = now();
  const prepared: Prepared[] = Array.from({ length: total }, () => {
    const key = p256();
    return { key, request: Buffer.from(requestType.encode({ csr: csrFor(key) }).finish()) };
  });
  console.log(
    `${total} P-256 CSRs made in ${ms(msSince(madeAt))} (not measured); meshlite ${MAIN} ${prefix.length ? 'pinned to core 0' : 'unpinned'}`,
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
    const noToken = new grpc.Metadata();
    const takePrepared = (n: number) => prepared.splice(0, n);
    const take = (n: number) => takePrepared(n).map((p) => p.request);
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

    const firsts = takePrepared(CALLERS);
    const handshakes = connecting(
      adsPort,
      rootPem,
      firsts.map((p, i) => ({ request: p.request, md: mds[i % IDENTITIES]! })),
      MISSING_METHOD,
    );
    report(await phase(`${CALLERS} connections, no certificate`, pid, handshakes.workers), 'handshake + 1 call to a missing method');

    const many = Array.from({ length: CALLERS }, () => caller(adsPort, rootPem));
    clients.push(...many);
    const first: Buffer[] = [];
    const connect = many.map((c, i) => async () => {
      const start = now();
      first[i] = await c.call(firsts[i]!.request, mds[i % IDENTITIES]!);
      return [msSince(start)];
    });
    report(await phase(`${CALLERS} callers connect, token`, pid, connect), 'all at once: handshake + first certificate');
    const workers = many.map((c, i) => loop(c.call, take(CALLS_PER_CALLER), mds[i % IDENTITIES]!));
    report(await phase(`${CALLERS} callers, a connection each`, pid, workers));
    for (const c of many) c.close();

    const held: ClientCertificate[] = first.map((response, i) => ({
      keyPem: keyPem(firsts[i]!.key),
      chainPem: (responseType.decode(response) as unknown as { certChain: string[] }).certChain.join(''),
    }));
    const mutual = connecting(
      adsPort,
      rootPem,
      held.map((client, i) => ({ client, request: firsts[i]!.request, md: noToken })),
      MISSING_METHOD,
    );
    report(await phase(`${CALLERS} connections, client certificate`, pid, mutual.workers), 'handshake + 1 call to a missing method');
    const renewals = connecting(
      adsPort,
      rootPem,
      held.map((client) => ({ client, request: take(1)[0]!, md: noToken })),
    );
    report(await phase(`${CALLERS} renewals, client certificate`, pid, renewals.workers), 'handshake + certificate, no token');
    const renewed = new X509Certificate((responseType.decode(renewals.responses[0]!) as unknown as { certChain: string[] }).certChain[0]!);
    if (renewed.subjectAltName !== `URI:spiffe://cluster.local/ns/bench/sa/w0`) throw new Error(`renewed ${renewed.subjectAltName}`);
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
