// `meshlite agent --grpc` end to end, all real: meshlite in-process and NOT
// insecure (TLS, tokens) on examples/proxyless-grpc, a Greeter server on its
// WorkloadEntry address, the agent from the compiled CLI, and a proxyless
// grpc-js-xds client whose GRPC_XDS_BOOTSTRAP is the file the agent wrote. The
// client speaks plaintext xDS to the agent's Unix socket only; the agent
// relays it to meshlite over mTLS with the workload certificate it renews
// every few seconds, rewriting the certificate files each time.
import { spawnSync } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { after, before } from '../support/hooks.js';
import { EXAMPLES_DIR } from '../support/paths.js';
import { APPS, type Child, CLI, calls, callsAfterFirstSuccess, eventually, startChild } from '../proxyless/children.js';

/** Host `n` of this file's loopback block. */
const address = (n: number) => loopbackAddress('agent/agent-grpc.test.ts', n);
const PROXY = 'greeter-client.foo';
const require = createRequire(import.meta.url);
const { validateBootstrapConfig } = require('@grpc/grpc-js-xds/build/src/xds-bootstrap.js') as {
  validateBootstrapConfig(o: unknown): unknown;
};

const work = mkdtempSync(join(tmpdir(), 'meshlite-agent-grpc-'));
const agentDir = join(work, 'agent');
const children: Child[] = [];
let m: RunningMeshlite;
let agent: Child;
let statusUrl = '';
let bootstrapPath = '';
let client: Child | undefined;

/** The example, its 127.0.60.x addresses moved into this file's block. */
function writeConfig(dir: string): void {
  mkdirSync(dir);
  const example = join(EXAMPLES_DIR, 'proxyless-grpc');
  for (const f of readdirSync(example).filter((n) => n.endsWith('.yaml'))) {
    const text = readFileSync(join(example, f), 'utf8').replace(/\b127\.0\.60\.(\d+)\b/g, (_, n: string) => address(Number(n)));
    writeFileSync(join(dir, f), text);
  }
}

async function startAll(): Promise<void> {
  writeConfig(join(work, 'config'));
  m = await startMeshlite({
    configPaths: [join(work, 'config')],
    stateDir: join(work, 'state'),
    adsAddress: '127.0.0.1:0',
    adminAddress: '127.0.0.1:0',
    insecure: false,
    settleMs: 0,
    debounceMs: 20,
    logger: pino({ level: 'warn' }),
  });
  const greeter = startChild('greeter-1', [join(APPS, 'greeter-server.js'), address(1), '50051', 'greeter-1']);
  children.push(greeter);
  const tokenFile = join(work, 'token');
  writeFileSync(tokenFile, `${await m.tokens!.issue(PROXY)}\n`, { mode: 0o600 });
  const rootFile = join(work, 'root-cert.pem');
  writeFileSync(rootFile, m.ca.rootCertPem);
  agent = startChild('agent', [
    CLI,
    'agent',
    '--grpc',
    '--proxy',
    PROXY,
    '--control-plane',
    `127.0.0.1:${m.adsPort}`,
    '--token-file',
    tokenFile,
    '--root-cert',
    rootFile,
    '--work-dir',
    agentDir,
    '--status-address',
    '127.0.0.1:0',
    '--cert-ttl',
    '6s',
  ]);
  children.push(agent);
  const ready = JSON.parse(await agent.waitForLine((l) => l.includes('"agent ready'), 20_000)) as Record<string, string>;
  statusUrl = ready.statusUrl!;
  bootstrapPath = ready.grpcBootstrap!;
  await greeter.waitForLine((l) => l.includes('listening'), 10_000);
}

// The hooks wrapper prints why setup failed.
before(test, startAll);
after(test, async () => {
  await Promise.all(children.map((c) => c.stop()));
  await m?.stop();
  rmSync(work, { recursive: true, force: true });
});

const getJson = async (url: string): Promise<any> => (await fetch(url, { signal: AbortSignal.timeout(5000) })).json();
const mode = (path: string) => statSync(path).mode & 0o777;
const certs = join(agentDir, 'certs');
const readPair = () => ({ key: readFileSync(join(certs, 'key.pem'), 'utf8'), cert: readFileSync(join(certs, 'cert-chain.pem'), 'utf8') });
const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ format: 'der', type: 'spki' });
const pairMatches = (p: { key: string; cert: string }) => spki(createPublicKey(p.key)).equals(spki(new X509Certificate(p.cert).publicKey));
const serialIn = (p: { cert: string }) => new X509Certificate(p.cert).serialNumber.toLowerCase();

test('the agent is ready, says it runs in grpc mode, and wrote a bootstrap grpc-js-xds accepts', async () => {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await fetch(`${statusUrl}/healthz/ready`);
    const body = await res.text();
    if (res.status === 200) break;
    if (Date.now() > deadline) assert.unreachable(`not ready: ${body}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const debug = await getJson(`${statusUrl}/debug/agent`);
  assert.is(debug.mode, 'grpc');
  assert.is(debug.envoy, null);
  assert.is(debug.grpc.bootstrap, join(agentDir, 'grpc-bootstrap.json'));
  assert.is(bootstrapPath, debug.grpc.bootstrap);
  assert.equal(debug.grpc.certificateFiles, {
    certificateFile: join(certs, 'cert-chain.pem'),
    privateKeyFile: join(certs, 'key.pem'),
    caCertificateFile: join(certs, 'root-cert.pem'),
  });
  assert.is(mode(bootstrapPath), 0o600);
  const text = readFileSync(bootstrapPath, 'utf8');
  assert.not.match(text, /PRIVATE KEY|BEGIN CERTIFICATE|eyJ/, 'paths only: no key, certificate or token');
  const boot = JSON.parse(text);
  validateBootstrapConfig(boot);
  assert.is(boot.xds_servers[0].server_uri, `unix://${join(agentDir, 'xds.sock')}`);
  assert.is(boot.certificate_providers.default.config.refresh_interval, '1s');
  for (const f of readdirSync(certs)) assert.is(mode(join(certs, f)), 0o600, f);
  assert.ok(pairMatches(readPair()));
});

test('a proxyless client with that bootstrap gets its config through the agent from a meshlite that is not insecure', async () => {
  client = startChild('client', [join(APPS, 'greeter-client.js'), 'xds:///greeter.bar:50051', '100', '3000', '0'], {
    GRPC_XDS_BOOTSTRAP: bootstrapPath,
  });
  children.push(client);
  const resolved = await callsAfterFirstSuccess(client, 5, 30_000);
  assert.equal(
    resolved.filter((c) => !c.ok),
    [],
  );
  assert.equal([...new Set(resolved.map((c) => c.server))], ['greeter-1']);
  // meshlite's side: the app's node (its gRPC user agent), authenticated by the workload certificate, keys on the node.
  const adsz = (await getJson(`http://127.0.0.1:${m.adminPort}/debug/adsz`)) as any[];
  const conn = adsz.find((c) => c.proxy === PROXY && /^gRPC Node/.test(c.node.userAgent));
  assert.ok(conn, JSON.stringify(adsz));
  assert.ok(conn.certificate?.serialNumber, 'authenticated by its client certificate');
  assert.is(conn.token, null);
  assert.is(conn.keysOnNode, true);
  assert.equal(conn.warnings, []);
  assert.ok(m.tokens, 'meshlite runs with tokens (not --insecure)');
});

test('with --cert-ttl 6s the files are rewritten at each renewal, key beside its certificate, and the client never fails', async () => {
  assert.ok(client, 'needs the client of the test before');
  const before = calls(client).length;
  const seen: string[] = [serialIn(readPair())];
  let mismatches = 0;
  let mismatchedTwiceInARow = false;
  let last = true;
  await eventually(
    () => {
      const pair = readPair();
      const ok = pairMatches(pair);
      if (!ok) mismatches++;
      if (!ok && !last) mismatchedTwiceInARow = true;
      last = ok;
      const serial = serialIn(pair);
      if (ok && serial !== seen.at(-1)) seen.push(serial);
      return seen.length >= 3 ? true : undefined;
    },
    20_000,
    () => `serials seen: ${seen.join(', ')}`,
  );
  assert.not.ok(mismatchedTwiceInARow, `a new key beside an old certificate for two reads in a row (${mismatches} mismatched reads)`);
  const debug = await getJson(`${statusUrl}/debug/agent`);
  const settled = readPair();
  assert.ok(pairMatches(settled));
  assert.ok([serialIn(settled), seen.at(-1)].includes(debug.certificate.serialNumber.toLowerCase()));
  for (const f of readdirSync(certs)) assert.is(mode(join(certs, f)), 0o600, f);
  assert.equal(readdirSync(certs).sort(), ['cert-chain.pem', 'key.pem', 'root-cert.pem']);
  // The app's stream to the agent stayed open while the agent moved to each new certificate upstream.
  const during = calls(client).slice(before);
  assert.ok(during.length >= 10, `the client kept calling (${during.length} calls)`);
  assert.equal(
    during.filter((c) => !c.ok),
    [],
    'no call failed across the renewals',
  );
});

test('--grpc runs no Envoy: Envoy arguments after -- are refused, and so is --grpc-bootstrap without --grpc', () => {
  const base = [CLI, 'agent', '--proxy', PROXY, '--control-plane', '127.0.0.1:1', '--token-file', join(work, 'token')];
  const rootArgs = ['--root-cert', join(work, 'root-cert.pem')];
  const withArgs = spawnSync(process.execPath, [...base, ...rootArgs, '--grpc', '--', '-l', 'debug'], { encoding: 'utf8' });
  assert.is.not(withArgs.status, 0);
  assert.match(withArgs.stderr, '--grpc runs no Envoy, so it takes no Envoy arguments after --, got: -l debug');
  const stray = spawnSync(process.execPath, [...base, ...rootArgs, '--grpc-bootstrap', join(work, 'x.json')], { encoding: 'utf8' });
  assert.is.not(stray.status, 0);
  assert.match(stray.stderr, '--grpc-bootstrap needs --grpc');
});

test.run();
