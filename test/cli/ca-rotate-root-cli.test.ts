// `meshlite ca rotate-root` and `meshlite ca status` as a user runs them,
// against a meshlite serving (in this process) with an admin token: the token
// is required, the phase is printed, a second rotation is refused while one
// runs, and --wait follows the phases until done.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { caClient, createCertificate, signed, startTestMeshlite, type TestMeshlite } from '../ca-service/ca-client.js';
import { csrFor, p256 } from '../support/csr.js';
import { after, before } from '../support/hooks.js';
import { EXAMPLES_DIR, REPO_ROOT } from '../support/paths.js';
import { AckingSecrets } from '../control-plane/root-rotation-support.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const TOKEN = 'rotate-admin-token-7f3a';
let t: TestMeshlite;
let tokenFile: string;
const clients: grpc.Client[] = [];

before(test, async () => {
  const s1 = readdirSync(join(EXAMPLES_DIR, 's1-auto-mtls'))
    .map((f) => readFileSync(join(EXAMPLES_DIR, 's1-auto-mtls', f), 'utf8'))
    .join('\n---\n');
  t = await startTestMeshlite({ adminToken: TOKEN, certTtlSeconds: 6 }, s1);
  tokenFile = join(t.dir, 'admin-token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
});
after(test, async () => {
  for (const c of clients) c.close();
  await t?.stop();
});

/** Runs the CLI without blocking this process (meshlite serves from it). */
function meshlite(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const admin = () => ['--admin-address', `127.0.0.1:${t.m.adminPort}`];
const withToken = () => [...admin(), '--admin-token-file', tokenFile];
const phase = () => (t.m.rootRotation.status() as { phase: string }).phase;

/** A 6 s certificate of the current root: it keeps signing-new going until it expires. */
async function shortLivedCertificate(): Promise<void> {
  const client = caClient(t.m);
  clients.push(client);
  signed(await createCertificate(client, { csr: csrFor(p256()), token: await t.m.tokens!.issue('httpbin.foo') }));
}

test('the admin token is required; without it nothing starts', async () => {
  const status = await meshlite('ca', 'status', ...admin());
  assert.is(status.code, 1);
  assert.match(status.stderr, 'refused the request (401): pass --admin-token-file');
  const rotate = await meshlite('ca', 'rotate-root', ...admin());
  assert.is(rotate.code, 1);
  const wrongFile = join(t.dir, 'wrong-token');
  writeFileSync(wrongFile, 'not-the-token\n', { mode: 0o600 });
  const wrong = await meshlite('ca', 'rotate-root', ...admin(), '--admin-token-file', wrongFile);
  assert.is(wrong.code, 1);
  assert.match(wrong.stderr, 'is not the one meshlite serve uses');
  assert.is(phase(), 'idle');
  const unreachable = await meshlite('ca', 'status', '--admin-address', '127.0.0.1:1');
  assert.is(unreachable.code, 1);
  assert.match(unreachable.stderr, "cannot reach meshlite's admin server at 127.0.0.1:1");
});

test('ca status before any rotation: phase idle and the one signing root', async () => {
  const r = await meshlite('ca', 'status', ...withToken());
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, 'phase: idle');
  assert.match(r.stdout, `${t.m.ca.info.rootFingerprintSha256}  notAfter ${t.m.ca.info.rootNotAfter.toISOString()}  signing`);
});

test('rotate-root starts a rotation and prints its phase; a second one is refused while it runs; status shows both roots', async () => {
  const oldFp = t.m.ca.info.rootFingerprintSha256;
  // A proxy that accepts its first secrets and no later ones holds trust-both (the phase timeout is a minute away).
  const lagging = await AckingSecrets.open(t.m, 'sleep.bar', t.m.ca.rootCertPem, 1);
  clients.push(lagging.client);
  while (lagging.responses === 0) await new Promise((r) => setTimeout(r, 20));
  const missing = await meshlite('ca', 'rotate-root', ...withToken(), '--new-ca-dir', 'no-such-dir');
  assert.is(missing.code, 1);
  assert.match(missing.stderr, `${join(REPO_ROOT, 'no-such-dir')}: no CA files found`, 'the directory is resolved where the CLI runs');
  const r = await meshlite('ca', 'rotate-root', ...withToken(), '--phase-timeout', '1m');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /root rotation started\nphase: trust-both since /);
  assert.match(r.stdout, `${oldFp}  notAfter`);
  const second = await meshlite('ca', 'rotate-root', ...withToken());
  assert.is(second.code, 1);
  assert.match(second.stderr, /a root rotation is already in progress \(phase trust-both since /);
  const status = await meshlite('ca', 'status', ...withToken());
  assert.is(status.code, 0, status.stderr);
  assert.match(status.stdout, 'phase: trust-both');
  assert.match(status.stdout, 'connected proxies that have not accepted the new root: 1 (sleep.bar)');
  assert.match(status.stdout, `${oldFp}  notAfter`);
  assert.match(status.stdout, / {2}new( |\n)/);
  const json = await meshlite('ca', 'status', ...withToken(), '--json');
  const parsed = JSON.parse(json.stdout);
  assert.is(parsed.rotation.roots.length, 2);
  assert.is(parsed.rotation.phase, 'trust-both');
  assert.equal(parsed.rotation.proxiesWithoutNewRoot, ['sleep.bar']);
  lagging.close(); // no connected proxy lags now: signing moves on, then the rotation ends
  const deadline = Date.now() + 20_000;
  while (phase() !== 'done') {
    if (Date.now() > deadline) throw new Error(`still ${phase()} after 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

test('rotate-root --wait follows trust-both, signing-new and done, then exits 0', async () => {
  const before = t.m.ca.info.rootFingerprintSha256;
  await shortLivedCertificate();
  const r = await meshlite('ca', 'rotate-root', ...withToken(), '--wait', '--poll-interval', '100ms', '--phase-timeout', '30s');
  assert.is(r.code, 0, r.stderr);
  const phases = [...r.stdout.matchAll(/^phase: (\S+)/gm)].map((m) => m[1]);
  assert.equal(phases, ['trust-both', 'signing-new', 'done'], r.stdout);
  assert.match(r.stdout, 'only the new root is trusted');
  assert.is.not(t.m.ca.info.rootFingerprintSha256, before, 'signing with another new root');
  const status = await meshlite('ca', 'status', ...withToken());
  assert.match(status.stdout, 'phase: done');
  assert.match(status.stdout, 'served with the cross-signed certificate until');
});

test.run();
