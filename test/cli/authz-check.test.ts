// `meshlite authz check` as an operator runs it: verdicts and exit codes on the
// examples (a DENY rule, an ALLOW that does not match, STRICT mTLS refusing
// plaintext, JWT claims, dry-run rules), JSON output, the live mode reading a
// running meshlite's /debug/config_dump, and one line with exit 2 for bad flags.
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dumpProxyConfig } from '../../src/translate/proxy-config-dump.js';
import { exampleMesh } from '../support/fixtures/index.js';
import { REPO_ROOT } from '../support/paths.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');

function meshlite(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ status: code, stdout, stderr });
    });
  });
}

const s5 = (...args: string[]) => meshlite('authz', 'check', 'httpbin.mtls-test', '-c', 'examples/s5-authz-principal', ...args);

test('s5: sleep.full is denied by the DENY rule, sleep.mtls-test allowed, plaintext refused by STRICT', async () => {
  const [full, post, same, none, legacy] = await Promise.all([
    s5('--from', 'full/sleep'),
    s5('--from', 'sleep.full', '--method', 'POST'),
    s5('--from', 'sleep.mtls-test'),
    s5('--from', 'none'),
    s5('--from', 'legacy/sleep'),
  ]);
  assert.is(full.status, 1, full.stderr);
  const lines = full.stdout.split('\n');
  assert.is(lines[0], 'DENY  sleep.full (spiffe://cluster.local/ns/full/sa/sleep) -> httpbin.mtls-test port 80, mTLS');
  assert.ok(lines.includes('  denied by DENY policy ns[mtls-test]-policy[deny-full-sleep-get]-rule[0]'), full.stdout);
  assert.ok(
    lines.includes('  policy: AuthorizationPolicy mtls-test/deny-full-sleep-get, rule 0 (examples/s5-authz-principal/policies.yaml:29)'),
    full.stdout,
  );
  assert.is(post.status, 0, 'the rule is on GET only');
  assert.is(same.status, 0, same.stdout + same.stderr);
  assert.match(same.stdout, /^ALLOW {2}sleep\.mtls-test/);
  for (const plain of [none, legacy]) {
    assert.is(plain.status, 1);
    assert.match(plain.stdout, 'connection refused by the inbound listener: STRICT mTLS on port 80');
  }
});

test('an ALLOW policy that no rule of matches; the one that does; JWT claims', async () => {
  const catalog = (...args: string[]) => meshlite('authz', 'check', 'catalog.library', '-c', 'examples/authz-fields', ...args);
  const members = (...args: string[]) =>
    meshlite('authz', 'check', 'members.library', '-c', 'examples/authz-fields', '--from', 'library/front-desk', ...args);
  const [edit, read, patron, suspended, noToken] = await Promise.all([
    catalog('--from', 'library/members', '--path', '/books/1/edit'),
    catalog('--from', 'library/members', '--path', '/books/1?full=1'),
    members('--jwt-claims', '{"iss":"https://accounts.library.test","sub":"patron-7"}'),
    members('--jwt-claims', '{"iss":"https://accounts.library.test","sub":"patron-suspended"}'),
    members(),
  ]);
  assert.is(edit.status, 1);
  assert.match(edit.stdout, '\n  no ALLOW policy matched\n');
  assert.match(
    edit.stdout,
    '\n  ALLOW rules here, none matching: AuthorizationPolicy library/catalog-readers, rule 0 (examples/authz-fields/policies.yaml:',
  );
  assert.is(read.status, 0, read.stdout);
  assert.match(read.stdout, 'policy: AuthorizationPolicy library/catalog-readers, rule 0 (examples/authz-fields/policies.yaml:');
  assert.is(patron.status, 0, patron.stdout);
  assert.is(suspended.status, 1);
  assert.is(noToken.status, 1, 'no token');
});

test('-o json: the verdict, the deciding filter and policy, dry-run rules', async () => {
  const r = await meshlite(
    'authz',
    'check',
    'orders.shop',
    '-c',
    'examples/authz-dry-run',
    '--from',
    'shop/frontend',
    '--path',
    '/admin/x',
    '--method',
    'DELETE',
    '-o',
    'json',
  );
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.is(out.verdict, 'allow');
  assert.equal(out.decision.decidedBy, {
    filter: 'meshlite.rbac.allow',
    action: 'ALLOW',
    policy: 'ns[shop]-policy[orders-from-shop]-rule[0]',
  });
  assert.equal(out.policy, {
    namespace: 'shop',
    name: 'orders-from-shop',
    rule: 0,
    source: { file: 'examples/authz-dry-run/policies.yaml', line: 8 },
  });
  assert.equal(
    out.shadow.map((s: any) => [s.action, s.wouldDeny, s.policyRef?.name]),
    [
      ['DENY', true, 'orders-no-admin'],
      ['ALLOW', false, 'orders-read-only'],
    ],
  );
  assert.equal(out.request, { method: 'DELETE', path: '/admin/x', host: 'orders.shop.svc.cluster.local:8080' });
});

test('--meshlite-admin: the config a running meshlite serves, with its admin token', async () => {
  const dump = dumpProxyConfig(exampleMesh('s5-authz-principal'), 'httpbin.mtls-test');
  assert.ok(dump.ok);
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.url} ${req.headers.authorization ?? '-'}`);
    if (req.headers.authorization !== 'Bearer sekret') return res.writeHead(401).end('{}');
    const ok = req.url === '/debug/config_dump?proxy=httpbin.mtls-test';
    res
      .writeHead(ok ? 200 : 404, { 'content-type': 'application/json' })
      .end(JSON.stringify(ok && dump.ok ? dump.dump : { error: 'no snapshot' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'authz-check-'));
  try {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'sekret\n', { mode: 0o600 });
    const admin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const live = (...args: string[]) => meshlite('authz', 'check', ...args, '--meshlite-admin', admin, '--admin-token-file', tokenFile);
    const denied = await live('httpbin.mtls-test', '--from', 'spiffe://cluster.local/ns/full/sa/sleep');
    assert.is(denied.status, 1, denied.stderr);
    assert.match(denied.stdout, 'denied by DENY policy ns[mtls-test]-policy[deny-full-sleep-get]-rule[0]');
    assert.match(denied.stdout, 'policy: AuthorizationPolicy mtls-test/deny-full-sleep-get, rule 0\n', 'no file:line without the config');
    assert.is((await live('httpbin.mtls-test', '--from', 'cluster.local/ns/mtls-test/sa/sleep')).status, 0);
    // A workload name needs the config to resolve.
    const byName = await live('httpbin.mtls-test', '--from', 'full/sleep', '-c', 'examples/s5-authz-principal');
    assert.is(byName.status, 1, byName.stderr);
    const noConfig = await live('httpbin.mtls-test', '--from', 'full/sleep');
    assert.is(noConfig.status, 2);
    const missing = await live('ghost.x', '--from', 'none');
    assert.is(missing.status, 1);
    assert.match(missing.stderr, 'has no config for "ghost.x": no snapshot');
    assert.ok(
      seen.every((s) => s.endsWith('Bearer sekret')),
      seen.join('\n'),
    );
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad flags: one line on stderr, exit 2', async () => {
  const cases: string[][] = [
    ['authz', 'check', 'httpbin.mtls-test', '-c', 'examples/s5-authz-principal'],
    ['authz', 'check', 'httpbin.mtls-test', '-c', 'examples/s5-authz-principal', '--from', 'none', '--bogus'],
    ['authz', 'check', 'httpbin.mtls-test', '-c', 'examples/s5-authz-principal', '--from', 'none', '--port', 'http'],
    ['authz', 'check', 'httpbin.mtls-test', '-c', 'examples/s5-authz-principal', '--from', 'none', '--port', '81'],
    ['authz', 'check', 'httpbin.mtls-test', '-c', 'examples/s5-authz-principal', '--from', 'none', '--header', 'novalue'],
    ['authz', 'check', 'httpbin.mtls-test', '-c', 'examples/s5-authz-principal', '--from', 'none', '--jwt-claims', '{nope'],
    ['authz', 'check', 'httpbin.mtls-test', '-c', 'examples/s5-authz-principal', '--from', 'none', '-o', 'yaml'],
    ['authz', 'check', 'httpbin.mtls-test', '-c', 'examples/s5-authz-principal', '--from', 'nobody/here'],
    ['authz', 'check', 'httpbin.mtls-test', '--from', 'none'],
    ['authz', 'check'],
  ];
  const results = await Promise.all(cases.map((args) => meshlite(...args)));
  for (const [i, args] of cases.entries()) {
    const r = results[i]!;
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stdout, '', args.join(' '));
    assert.is(r.stderr.trimEnd().split('\n').length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^meshlite authz check: /, r.stderr);
  }
});

test.run();
