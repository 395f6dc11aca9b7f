// `meshlite ca issue` (the compiled CLI) against a real meshlite: Istio's file
// layout with private modes, files replaced atomically, one summary line and
// no key on any output, one clear line and exit 1 for each kind of failure,
// and --watch renewing by the certificate until SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { startTestMeshlite, type TestMeshlite } from '../ca-service/ca-client.js';
import { pemCertificates, until } from '../support/agent/agent-fixtures.js';
import { after, before } from '../support/hooks.js';
import { REPO_ROOT } from '../support/paths.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
let t: TestMeshlite;
let dir: string;
let rootFile: string;
const children: ChildProcess[] = [];

before(test, async () => {
  t = await startTestMeshlite({ certTtlSeconds: 3600 });
  dir = mkdtempSync(join(tmpdir(), 'meshlite-ca-issue-'));
  rootFile = join(dir, 'root-cert.pem');
  writeFileSync(rootFile, t.m.ca.rootCertPem);
});
after(test, async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await t?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

function meshlite(args: string[]): Running {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function tokenFile(proxy: string, name = proxy): Promise<string> {
  const path = join(dir, `${name}.token`);
  writeFileSync(path, `${await t.m.tokens!.issue(proxy)}\n`);
  return path;
}

const issueArgs = (out: string, token: string, extra: string[] = []) => [
  'ca',
  'issue',
  '--proxy',
  'sleep.foo',
  '--control-plane',
  `127.0.0.1:${t.m.adsPort}`,
  '--token-file',
  token,
  '--root-cert',
  rootFile,
  '-o',
  out,
  ...extra,
];

const SUMMARY = /^spiffe:\/\/cluster\.local\/ns\/foo\/sa\/sleep serial ([0-9a-f]+) notAfter (\S+) written to (.+)$/;
const mode = (path: string) => statSync(path).mode & 0o777;
const signedBy = (serial: string) =>
  t.logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'CreateCertificate signed' && l.serialNumber === serial);

/** The three files agree: the key is the leaf's, the leaf chains to root-cert.pem; returns the leaf's serial. */
function checkFiles(out: string): string {
  const key = readFileSync(join(out, 'key.pem'), 'utf8');
  const chain = pemCertificates(readFileSync(join(out, 'cert-chain.pem'), 'utf8'));
  const roots = pemCertificates(readFileSync(join(out, 'root-cert.pem'), 'utf8'));
  assert.is(chain.length, 1, 'the leaf (meshlite signs with its root: no intermediates), no root');
  assert.equal(roots, [t.m.ca.rootCertPem]);
  const leaf = new X509Certificate(chain[0]!);
  assert.ok(leaf.publicKey.equals(createPublicKey(key)), 'key.pem is the key of the leaf');
  assert.ok(leaf.verify(new X509Certificate(roots[0]!).publicKey), 'the leaf is signed by root-cert.pem');
  return leaf.serialNumber.toLowerCase();
}

test('the three files, 0600 in a new 0700 directory, and one summary line without the key', async () => {
  const out = join(dir, 'issued', 'sleep');
  const run = meshlite(issueArgs(out, await tokenFile('sleep.foo'), ['--ttl', '1h']));
  assert.is(await run.exited, 0, run.stderr());
  assert.is(run.stderr(), '');
  const lines = run.stdout().trimEnd().split('\n');
  assert.is(lines.length, 1);
  const [, serial, notAfter, where] = SUMMARY.exec(lines[0]!) ?? assert.unreachable(lines[0]) ?? [];
  assert.is(where, out);
  assert.is(mode(out), 0o700);
  assert.equal(readdirSync(out).sort(), ['cert-chain.pem', 'key.pem', 'root-cert.pem']);
  for (const f of readdirSync(out)) assert.is(mode(join(out, f)), 0o600, f);
  assert.is(checkFiles(out), serial);
  const lifetime = Date.parse(notAfter!) - Date.now();
  assert.ok(lifetime > 3500_000 && lifetime <= 3600_000, `${lifetime} ms left of the 1 h asked for`);
  assert.is(signedBy(serial!)?.auth, 'token');
  assert.not.match(run.stdout(), /PRIVATE KEY/);
});

test('a second run replaces each file (a hard link to the old key keeps the old key) and leaves no temporary file', async () => {
  const out = join(dir, 'replaced');
  const token = await tokenFile('sleep.foo');
  assert.is(await meshlite(issueArgs(out, token)).exited, 0);
  const oldKey = readFileSync(join(out, 'key.pem'), 'utf8');
  const oldSerial = checkFiles(out);
  linkSync(join(out, 'key.pem'), join(dir, 'old-key.pem'));
  const second = meshlite(issueArgs(out, token));
  assert.is(await second.exited, 0, second.stderr());
  assert.is(readFileSync(join(dir, 'old-key.pem'), 'utf8'), oldKey, 'the old file was not written over');
  assert.is.not(readFileSync(join(out, 'key.pem'), 'utf8'), oldKey);
  assert.is.not(checkFiles(out), oldSerial);
  assert.equal(readdirSync(out).sort(), ['cert-chain.pem', 'key.pem', 'root-cert.pem']);
});

test('failures: one line on stderr, exit 1, nothing written', async () => {
  const other = await CertificateAuthority.loadOrCreate({ stateDir: join(dir, 'other-ca'), trustDomain: 'cluster.local' });
  const foreignRoot = join(dir, 'foreign-root.pem');
  writeFileSync(foreignRoot, other.rootCertPem);
  const garbage = join(dir, 'garbage.token');
  writeFileSync(garbage, 'not-a-jwt\n');
  const port = t.m.adsPort;
  const withFlag = (args: string[], flag: string, value: string) => args.map((a, i) => (args[i - 1] === flag ? value : a));
  const base = issueArgs(join(dir, 'never'), await tokenFile('sleep.foo'));
  const cases: [string, string[], RegExp][] = [
    [
      'garbage token',
      withFlag(base, '--token-file', garbage),
      /CreateCertificate at 127\.0\.0\.1:\d+ failed: UNAUTHENTICATED: invalid token/,
    ],
    [
      'another proxy`s token',
      withFlag(base, '--token-file', await tokenFile('httpbin.foo')),
      /is for httpbin\.foo, not --proxy sleep\.foo/,
    ],
    [
      'a workload meshlite does not know',
      withFlag(withFlag(base, '--token-file', await tokenFile('ghost.foo')), '--proxy', 'ghost.foo'),
      /PERMISSION_DENIED: .*unknown workload "ghost\.foo"/,
    ],
    ['no token file', withFlag(base, '--token-file', join(dir, 'missing.token')), /no token in .*missing\.token/],
    ['no root file', withFlag(base, '--root-cert', join(dir, 'missing.pem')), /cannot read --root-cert .*missing\.pem/],
    ['a root that is no certificate', withFlag(base, '--root-cert', garbage), /--root-cert .*: no PEM CERTIFICATE block/],
    ['a root meshlite`s certificate does not chain to', withFlag(base, '--root-cert', foreignRoot), /failed: UNAVAILABLE/],
    ['a bad --ttl', [...base, '--ttl', 'soon'], /--ttl: invalid duration "soon"/],
    ['nothing listening', withFlag(base, '--control-plane', `127.0.0.1:${port === 1 ? 2 : 1}`), /failed: UNAVAILABLE/],
  ];
  for (const [what, args, expected] of cases) {
    const run = meshlite(args);
    assert.is(await run.exited, 1, `${what}: ${run.stderr()}`);
    const lines = run.stderr().trimEnd().split('\n');
    assert.is(lines.length, 1, `${what}: ${run.stderr()}`);
    assert.match(lines[0]!, /^meshlite ca issue: /, what);
    assert.match(lines[0]!, expected, what);
    assert.is(run.stdout(), '', what);
  }
  assert.not.ok(existsSync(join(dir, 'never')));
});

test('--watch renews at half life with the certificate (the token file now holds garbage), rewrites the files, exits 0 on SIGTERM', async () => {
  const out = join(dir, 'watched');
  const token = await tokenFile('sleep.foo', 'watched');
  const run = meshlite(issueArgs(out, token, ['--watch', '--ttl', '4s']));
  const lines = () => run.stdout().trimEnd().split('\n').filter(Boolean);
  await until('the first certificate', () => lines().length >= 1, 10_000);
  const serials = [checkFiles(out)];
  writeFileSync(token, 'garbage\n');
  for (const n of [2, 3]) {
    await until(`certificate ${n}`, () => lines().length >= n || run.child.exitCode !== null, 10_000);
    assert.is(run.child.exitCode, null, run.stderr());
    serials.push(checkFiles(out));
    assert.is(SUMMARY.exec(lines()[n - 1]!)?.[1], serials[n - 1]);
    assert.is(signedBy(serials[n - 1]!)?.auth, 'certificate');
    assert.is(signedBy(serials[n - 1]!)?.clientCertificateSerial, serials[n - 2]);
  }
  run.child.kill('SIGTERM');
  assert.is(await run.exited, 0, run.stderr());
  assert.match(run.stderr(), /stopped renewing/);
  assert.not.match(run.stderr() + run.stdout(), /PRIVATE KEY/);
});

test.run();
