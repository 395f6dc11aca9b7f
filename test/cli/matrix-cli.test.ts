// `meshlite matrix` as an operator runs it: the table, JSON, and
// --diff-against gating a change (exit 1 when a cell changes), usage errors
// as one line.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { PredictedMatrix } from '../../src/inspect/matrix-types.js';
import { REPO_ROOT } from '../support/paths.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
function meshlite(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'matrix', ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('table: clients as rows, services as columns, `200 mTLS` / `503` / `000` cells, a legend', () => {
  const r = meshlite('-c', 'examples/s3-dr-disable', '--from', 'sleep');
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0]!.split(/\s{2,}/), ['FROM \\ TO', 'httpbin.bar:8000', 'httpbin.foo:8000', 'httpbin.legacy:8000']);
  assert.equal(
    lines.slice(1, 4).map((l) => l.split(/\s{2,}/)),
    [
      ['bar/sleep', '503', '200 mTLS', '200'],
      ['foo/sleep', '503', '200 mTLS', '200'],
      ['legacy/sleep', '000', '200', '200'],
    ],
  );
  assert.match(lines[4]!, /^legend: 200 .*403 denied by RBAC.*503 .*000 .*\?/);
  assert.is(lines.length, 5);
});

test('json: the PredictedMatrix, each cell with its reason; --to and --path narrow it', () => {
  const r = meshlite(
    '-c',
    'examples/s5-authz-principal',
    '--from',
    'full/sleep,legacy',
    '--to',
    'httpbin.mtls-test:8000',
    '--path',
    '/ip',
    '-o',
    'json',
  );
  assert.is(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout) as PredictedMatrix;
  assert.equal(m.clients, ['full/sleep', 'legacy/sleep']);
  assert.equal(m.services, ['httpbin.mtls-test.svc.cluster.local:8000']);
  assert.equal(
    m.cells.map((c) => [c.from, c.code, c.mtls, c.identity ?? null]),
    [
      ['full/sleep', '403', true, 'spiffe://cluster.local/ns/full/sa/sleep'],
      ['legacy/sleep', '000', false, null],
    ],
  );
  assert.ok(m.cells.every((c) => c.reason.length > 0));
});

test('--diff-against: only the changed cells (old -> new, with the reason), exit 1', () => {
  const r = meshlite('-c', 'examples/s3-dr-disable', '--diff-against', 'examples/s3-workload-strict', '--from', 'sleep');
  assert.is(r.code, 1, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(
    lines.map((l) => l.replace(/ \(.*$/, '')),
    ['bar/sleep -> httpbin.bar:8000: 200 mTLS -> 503', 'foo/sleep -> httpbin.bar:8000: 200 mTLS -> 503'],
  );
  assert.match(lines[0]!, /DestinationRule bar\/httpbin tls DISABLE/);
  const json = meshlite('-c', 'examples/s3-dr-disable', '--diff-against', 'examples/s3-workload-strict', '-o', 'json');
  assert.is(json.code, 1);
  const changes = (JSON.parse(json.stdout) as { changes: { from: string; before: string; after: string }[] }).changes;
  assert.equal(
    changes.map((c) => `${c.from} ${c.before}->${c.after}`),
    ['bar/httpbin 200 mTLS->503', 'bar/sleep 200 mTLS->503', 'foo/httpbin 200 mTLS->503', 'foo/sleep 200 mTLS->503'],
  );
});

test('--diff-against an equivalent config: no cell changes, exit 0', () => {
  const r = meshlite('-c', 'examples/s3-dr-istio-mutual', '--diff-against', 'examples/s3-workload-strict');
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'no cell changes\n');
});

test('errors are one line: no config (2), a bad --path (2), nothing selected (1), a broken diff dir (1)', () => {
  const cases: [string[], number, RegExp][] = [
    [[], 2, /give the config with -c/],
    [['-c', 'examples/s1-auto-mtls', '--path', 'headers'], 2, /--path must start with \//],
    [['-c', 'examples/s1-auto-mtls', '--from', 'nobody'], 1, /no workload matches --from/],
    [['-c', 'examples/s8-tls-origination'], 1, /no mesh-internal service/],
    [['-c', 'examples/s1-auto-mtls', '--diff-against', 'examples/no-such-dir'], 1, /no-such-dir/],
  ];
  for (const [args, code, message] of cases) {
    const r = meshlite(...args);
    assert.is(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.not.match(r.stderr, /\n\s+at /, `${args.join(' ')}: no stack trace`);
  }
});

test.run();
