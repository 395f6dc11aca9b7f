// `meshlite token` and `meshlite bootstrap` against a state dir: they never
// create one (a fresh dir is a clear error), tokens show their id, and
// `token revoke` / `token revocations` keep the revocation file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TokenAuthority } from '../../src/identity/proxy-token.js';
import { readRevocations, revocationsPath } from '../../src/identity/token-revocations.js';
import { createMeshliteState } from '../support/meshlite-state.js';
import { REPO_ROOT } from '../support/paths.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
function meshlite(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stderr.trim().split('\n') };
}

async function withStateDir(body: (stateDir: string, root: string) => Promise<void>, create = true): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'meshlite-token-cli-'));
  try {
    const stateDir = join(root, 'state');
    if (create) await createMeshliteState(stateDir);
    await body(stateDir, root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('bootstrap and token refuse a state dir serve did not make (exit 1, one line) and create nothing', () =>
  withStateDir(async (stateDir) => {
    const expected = `no meshlite CA in ${stateDir}: run \`meshlite serve\` first, or pass the --state-dir that serve uses`;
    for (const args of [
      ['bootstrap', '-c', 'examples/s1-auto-mtls', '--proxy', 'sleep.foo', '--state-dir', stateDir],
      ['token', '-c', 'examples/s1-auto-mtls', '--proxy', 'sleep.foo', '--state-dir', stateDir],
      ['token', 'revoke', '--proxy', 'sleep.foo', '--state-dir', stateDir],
    ]) {
      const r = meshlite(...args);
      assert.is(r.code, 1, args[0]);
      assert.equal(r.lines, [expected], `${args.join(' ')}: one line`);
      assert.is(r.stdout, '');
    }
    assert.not.ok(existsSync(stateDir), 'nothing was created');
  }, false));

test('a state dir with a CA but no token key is refused too', () =>
  withStateDir(async (stateDir) => {
    rmSync(join(stateDir, 'token-signing-key.pem'));
    const r = meshlite('token', '-c', 'examples/s1-auto-mtls', '--proxy', 'sleep.foo', '--state-dir', stateDir);
    assert.is(r.code, 1);
    assert.equal(r.lines, [`no meshlite token key in ${stateDir}: run \`meshlite serve\` first, or pass the --state-dir that serve uses`]);
  }));

test('token prints the token on stdout and its id on stderr; --json gives token, jti and expiry; bootstrap reports its token id', () =>
  withStateDir(async (stateDir) => {
    const tokens = await TokenAuthority.load(stateDir);
    const plain = meshlite('token', '-c', 'examples/s1-auto-mtls', '--proxy', 'sleep.foo', '--state-dir', stateDir, '--ttl', '2h');
    assert.is(plain.code, 0, plain.stderr);
    const check = await tokens.verify(plain.stdout.trim());
    assert.ok(check.ok && check.tokenId);
    const jti = check.ok ? check.tokenId! : '';
    assert.match(
      plain.stderr,
      `token id (jti) ${jti} for sleep.foo, expires ${new Date(check.ok ? check.expiresAt! * 1000 : 0).toISOString()}; revoke it with: meshlite token revoke --id ${jti} --state-dir ${stateDir}`,
    );
    assert.is(check.ok && check.expiresAt! - check.issuedAt!, 7200);

    const json = meshlite('token', '-c', 'examples/s1-auto-mtls', '--proxy', 'sleep.foo', '--state-dir', stateDir, '--json');
    assert.is(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout) as { token: string; jti: string; proxy: string; issuedAt: string; expiresAt: string };
    assert.equal(Object.keys(out), ['token', 'jti', 'proxy', 'issuedAt', 'expiresAt']);
    const verified = await tokens.verify(out.token);
    assert.ok(verified.ok && verified.tokenId === out.jti && out.proxy === 'sleep.foo');
    assert.is(Date.parse(out.expiresAt) - Date.parse(out.issuedAt), 30 * 86400_000, 'default lifetime 30 days');

    const boot = meshlite('bootstrap', '-c', 'examples/s1-auto-mtls', '--proxy', 'sleep.foo', '--state-dir', stateDir, '--token-ttl', '1h');
    assert.is(boot.code, 0, boot.stderr);
    assert.is(boot.lines.length, 1, boot.stderr);
    assert.match(boot.lines[0]!, /^embedded token id \(jti\) [0-9a-f-]{36} for sleep\.foo expires \S+: make a new bootstrap before then$/);
    const bad = meshlite('token', '-c', 'examples/s1-auto-mtls', '--proxy', 'sleep.foo', '--state-dir', stateDir, '--ttl', 'soon');
    assert.is(bad.code, 1);
    assert.match(bad.lines[0]!, /^--ttl: invalid duration "soon"/);
  }));

test('token is for any proxy meshlite serves: a proxyless gRPC app gets one, a workload with no proxy does not', () =>
  withStateDir(async (stateDir) => {
    const tokens = await TokenAuthority.load(stateDir);
    const r = meshlite('token', '-c', 'examples/proxyless-grpc', '--proxy', 'greeter-1.bar', '--state-dir', stateDir);
    assert.is(r.code, 0, r.stderr);
    const check = await tokens.verify(r.stdout.trim());
    assert.ok(check.ok && check.workloadId === 'greeter-1.bar', JSON.stringify(check));
    const none = meshlite('token', '-c', 'examples/s1-auto-mtls', '--proxy', 'sleep.legacy', '--state-dir', stateDir);
    assert.is(none.code, 1);
    assert.match(
      none.lines[0]!,
      /^workload "sleep\.legacy" runs no sidecar, is not a proxyless gRPC app and no Gateway selects it; proxies: .*sleep\.foo/,
    );
    assert.is(none.stdout, '');
  }));

test('token revoke records revocations (0600, atomic) that token revocations lists; bad usage and a corrupt file are clear errors', () =>
  withStateDir(async (stateDir) => {
    const byProxy = meshlite('token', 'revoke', '--proxy', 'sleep.foo', '--state-dir', stateDir);
    assert.is(byProxy.code, 0, byProxy.stderr);
    assert.match(byProxy.stdout, /^revoked every token of sleep\.foo issued up to \S+ \(recorded in .*token-revocations\.json\)\n$/);
    const byId = meshlite('token', 'revoke', '--id', 'abc-123', '--state-dir', stateDir);
    assert.is(byId.code, 0, byId.stderr);
    const read = await readRevocations(stateDir);
    assert.ok(read.ok);
    assert.equal(read.ok && read.value.map((r) => ('proxy' in r ? `proxy:${r.proxy}` : `id:${r.tokenId}`)), [
      'proxy:sleep.foo',
      'id:abc-123',
    ]);
    assert.is(statSync(revocationsPath(stateDir)).mode & 0o777, 0o600);
    const list = meshlite('token', 'revocations', '--state-dir', stateDir);
    assert.is(list.code, 0);
    assert.equal(
      list.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t')[0]),
      ['proxy sleep.foo', 'id abc-123'],
    );

    for (const args of [[], ['--proxy', 'a.b', '--id', 'x']]) {
      const r = meshlite('token', 'revoke', ...args, '--state-dir', stateDir);
      assert.is(r.code, 1);
      assert.equal(r.lines, ['meshlite token revoke: give exactly one of --proxy <name.namespace> or --id <jti>']);
    }
    writeFileSync(revocationsPath(stateDir), '{broken');
    const corrupt = meshlite('token', 'revoke', '--proxy', 'httpbin.bar', '--state-dir', stateDir);
    assert.is(corrupt.code, 1);
    assert.match(
      corrupt.lines[0]!,
      /^meshlite token revoke: .*token-revocations\.json: not valid JSON .*; fix or restore it first \(nothing was written\)$/,
    );
    assert.is(readFileSync(revocationsPath(stateDir), 'utf8'), '{broken');
    const listCorrupt = meshlite('token', 'revocations', '--state-dir', stateDir);
    assert.is(listCorrupt.code, 1);
  }));

test.run();
