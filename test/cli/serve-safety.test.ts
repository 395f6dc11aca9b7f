// `meshlite serve` as an operator meets it: unsafe flags, busy ports and a
// broken state dir are one line on stderr and an exit code (never a stack);
// the admin token guards /debug/* and nothing else.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isLoopbackHost } from '../../src/cli/serve-guards.js';
import { revocationsPath } from '../../src/identity/token-revocations.js';
import { REPO_ROOT } from '../support/paths.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const CONFIG = 'examples/s1-auto-mtls';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'meshlite-serve-safety-'));
}

/** A serve that must refuse to start: its exit code and stderr lines. */
function refusedServe(...args: string[]): { code: number | null; lines: string[] } {
  const r = spawnSync(process.execPath, [CLI, 'serve', '-c', CONFIG, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, lines: r.stderr.trim().split('\n') };
}

function assertOneLine(r: { code: number | null; lines: string[] }, code: number, line: string | RegExp): void {
  assert.is(r.code, code, r.lines.join('\n'));
  assert.is(r.lines.length, 1, `one line on stderr:\n${r.lines.join('\n')}`);
  if (typeof line === 'string') assert.is(r.lines[0], line);
  else assert.match(r.lines[0]!, line);
}

interface Serving {
  child: ChildProcess;
  out: () => string;
  adsPort: number;
  adminUrl: string;
  stop(): Promise<void>;
}

/** A serve that must start: waits for "meshlite serving" and reads its ports. */
async function startServe(...args: string[]): Promise<Serving> {
  const child = spawn(process.execPath, [CLI, 'serve', '-c', CONFIG, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const deadline = Date.now() + 20_000;
  let line: string | undefined;
  while (!(line = out.split('\n').find((l) => l.includes('"msg":"meshlite serving')))) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`serve did not start:\n${out}`);
    await sleep(50);
  }
  const serving = JSON.parse(line) as { ads: string; admin: string };
  const adminPort = Number(serving.admin.split(':').pop());
  return {
    child,
    out: () => out,
    adsPort: Number(serving.ads.split(':').pop()),
    adminUrl: `http://127.0.0.1:${adminPort}`,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((res) => child.once('exit', res));
    },
  };
}

test('loopback means 127.0.0.0/8, ::1 and localhost', () => {
  for (const h of ['127.0.0.1', '127.3.2.1', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '[::]', '', '10.0.0.1', '128.0.0.1', 'example.com', '::2', 'localhost.example.com'])
    assert.not.ok(isLoopbackHost(h), h);
});

test('--csr-rate-limit must be <n>/<duration> (exit 2, one line)', () => {
  for (const value of ['60', '0/1m', '60/0s', 'x/1m', '60/soon'])
    assertOneLine(
      refusedServe('--csr-rate-limit', value),
      2,
      `meshlite serve: --csr-rate-limit: expected <n>/<duration> with n >= 1 and a duration above 0 (e.g. 60/1m), got "${value}"`,
    );
});

test('--insecure refuses a non-loopback --ads-address (exit 2, one line) unless --insecure-allow-remote', async () => {
  for (const address of ['0.0.0.0:0', '[::]:0', '10.1.2.3:15010', 'meshlite.example.com:15010']) {
    assertOneLine(
      refusedServe('--insecure', '--ads-address', address, '--admin-address', '127.0.0.1:0'),
      2,
      `meshlite serve: --insecure with --ads-address ${address}, which is not a loopback address: any host that reaches it could claim any workload and get its private key; bind 127.0.0.1, or add --insecure-allow-remote if you really mean it`,
    );
  }
  const dir = tempDir();
  const serve = await startServe(
    '--insecure',
    '--insecure-allow-remote',
    '--ads-address',
    '0.0.0.0:0',
    '--admin-address',
    '127.0.0.1:0',
    '--state-dir',
    join(dir, 'state'),
  );
  try {
    assert.match(serve.out(), /"level":40,[^\n]*"msg":"INSECURE MODE: ADS is plaintext and proxies are not authenticated/);
  } finally {
    await serve.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a non-loopback --admin-address needs --admin-token-file; an empty or missing token file is refused', () => {
  const dir = tempDir();
  try {
    assertOneLine(
      refusedServe('--ads-address', '127.0.0.1:0', '--admin-address', '0.0.0.0:0', '--state-dir', join(dir, 'state')),
      2,
      'meshlite serve: --admin-address 0.0.0.0:0 is not a loopback address: pass --admin-token-file <file> (its token then guards /debug/*), or bind the admin to 127.0.0.1',
    );
    writeFileSync(join(dir, 'empty'), '\n');
    assertOneLine(
      refusedServe('--admin-token-file', join(dir, 'empty'), '--state-dir', join(dir, 'state')),
      2,
      `meshlite serve: --admin-token-file ${join(dir, 'empty')} is empty`,
    );
    assertOneLine(
      refusedServe('--admin-token-file', join(dir, 'missing'), '--state-dir', join(dir, 'state')),
      2,
      `meshlite serve: --admin-token-file ${join(dir, 'missing')}: ENOENT`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with --admin-token-file, /debug/* needs the bearer token (401 without or wrong, 200 with); /healthz, /ready, /metrics stay open', async () => {
  const dir = tempDir();
  const tokenFile = join(dir, 'admin-token');
  writeFileSync(tokenFile, 's3cret-admin-token-0123456789\n', { mode: 0o600 });
  // Non-loopback admin (reached here through 127.0.0.1), and a state dir that group and others could read.
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { mode: 0o755 });
  chmodSync(stateDir, 0o755);
  const serve = await startServe(
    '--ads-address',
    '127.0.0.1:0',
    '--admin-address',
    '0.0.0.0:0',
    '--admin-token-file',
    tokenFile,
    '--state-dir',
    stateDir,
  );
  try {
    const get = (path: string, token?: string) =>
      fetch(`${serve.adminUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    for (const path of [
      '/debug/syncz',
      '/debug/adsz',
      '/debug/configz',
      '/debug/ca',
      '/debug/config_dump?proxy=x',
      '/debug/dashboardz',
      '/debug/dashboard/panels',
      '/debug',
      '/nope',
      '/debug//syncz',
      '/DEBUG/syncz',
    ]) {
      const res = await get(path);
      assert.is(res.status, 401, `${path} without a token`);
      assert.is(res.headers.get('www-authenticate'), 'Bearer realm="meshlite-admin"');
      assert.is((await get(path, 'wrong')).status, 401, `${path} with a wrong token`);
    }
    assert.is((await get('/debug/syncz', 's3cret-admin-token-0123456789')).status, 200);
    assert.is((await get('/debug/ca', 's3cret-admin-token-0123456789')).status, 200);
    for (const path of ['/healthz', '/ready', '/metrics']) assert.is((await get(path)).status, 200, `${path} is open`);
    const page = await get('/');
    assert.is(page.status, 200, "the dashboard's page is open");
    assert.not.match(await page.text(), 'id="config-generation"', 'but holds no data: it asks for the token');

    const typo = await get('/debug/syncz?proxy=sleep.fo', 's3cret-admin-token-0123456789');
    assert.is(typo.status, 404, 'an unknown proxy is not invented');
    assert.equal(await typo.json(), { error: 'proxy "sleep.fo" is not connected', connected: [] });

    assert.is(statSync(stateDir).mode & 0o777, 0o700, 'the state dir was made private');
    assert.match(
      serve.out(),
      /"dir":"[^"]+\/state","from":"0755","to":"0700","msg":"state directory was accessible to group or others; made it private \(owner only\)"/,
    );
    assert.not.match(serve.out(), /s3cret-admin-token/, 'the token is never logged');
  } finally {
    await serve.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a busy ADS or admin port is one line naming the flag (exit 2, no stack trace)', async () => {
  const dir = tempDir();
  const blocker = net.createServer();
  await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const state = ['--state-dir', join(dir, 'state')];
    assertOneLine(
      refusedServe('--ads-address', `127.0.0.1:${port}`, '--admin-address', '127.0.0.1:0', ...state),
      2,
      `meshlite serve: --ads-address 127.0.0.1:${port} is already in use (EADDRINUSE); pass another --ads-address`,
    );
    assertOneLine(
      refusedServe('--ads-address', '127.0.0.1:0', '--admin-address', `127.0.0.1:${port}`, ...state),
      2,
      `meshlite serve: --admin-address 127.0.0.1:${port} is already in use (EADDRINUSE); pass another --admin-address`,
    );
    assertOneLine(refusedServe('--ads-address', 'nonsense', ...state), 2, 'meshlite serve: --ads-address nonsense is not host:port');
  } finally {
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an invalid revocation file stops serve from starting (exit 1, one line): it would not know which tokens are revoked', () => {
  const dir = tempDir();
  try {
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir);
    writeFileSync(revocationsPath(stateDir), '{"version": 1, "revocations": [');
    assertOneLine(
      refusedServe('--ads-address', '127.0.0.1:0', '--admin-address', '127.0.0.1:0', '--state-dir', stateDir),
      1,
      /^meshlite serve: .*token-revocations\.json: not valid JSON .*; meshlite will not serve without knowing which tokens are revoked: fix or restore the file$/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
