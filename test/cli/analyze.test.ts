// `meshlite analyze` and what `meshlite validate` gained, as a user runs
// them: real processes on real files.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/paths.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
function meshlite(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** s1-auto-mtls plus one file; removed afterwards. */
function withConfig(extra: string, body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-analyze-'));
  try {
    cpSync(join(REPO_ROOT, 'examples', 's1-auto-mtls'), dir, { recursive: true });
    writeFileSync(join(dir, 'extra.yaml'), extra);
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const TYPO_RULE =
  'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: typo, namespace: foo}\nspec:\n  host: httpbn\n';

test('analyze: the S3 mistake is an Error with file:line:column of the field, and exit 1', () => {
  const r = meshlite('analyze', '-c', 'examples/s3-dr-disable');
  assert.is(r.code, 1, r.stderr);
  const [line, summary] = r.stdout.trim().split('\n');
  assert.match(
    line!,
    /^examples\/s3-dr-disable\/destination-rule\.yaml:12:13: Error ML0101 DestinationRule bar\/httpbin: spec\.trafficPolicy\.tls\.mode: clients using this rule send plaintext/,
  );
  assert.is(summary, '1 finding(s): 1 Error, 0 Warning, 0 Info');
  assert.is(r.stderr, '');
});

test('analyze: no findings, exit 0', () => {
  const r = meshlite('analyze', '-c', 'examples/s1-auto-mtls');
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'no findings\n');
});

test('analyze --failure-threshold: a Warning fails only at Warning or Info', () => {
  withConfig(TYPO_RULE, (dir) => {
    const byDefault = meshlite('analyze', '-c', dir);
    assert.is(byDefault.code, 0, byDefault.stderr);
    assert.match(byDefault.stdout, /extra\.yaml:5:9: Warning ML0301 DestinationRule foo\/typo: spec\.host: /);
    assert.is(meshlite('analyze', '-c', dir, '--failure-threshold', 'Warning').code, 1);
    assert.is(meshlite('analyze', '-c', dir, '--failure-threshold', 'info').code, 1);
    assert.is(meshlite('analyze', '-c', dir, '--failure-threshold', 'Error').code, 0);
  });
});

test('analyze -o json: an array of findings with every field', () => {
  withConfig(TYPO_RULE, (dir) => {
    const r = meshlite('analyze', '-c', dir, '-o', 'json');
    assert.is(r.code, 0, r.stderr);
    const findings = JSON.parse(r.stdout) as Record<string, unknown>[];
    assert.is(findings.length, 1);
    const { file, message, ...rest } = findings[0]!;
    assert.ok(String(file).endsWith('extra.yaml'), String(file));
    assert.match(String(message), /httpbn\.foo\.svc\.cluster\.local/);
    assert.equal(rest, {
      code: 'ML0301',
      severity: 'Warning',
      kind: 'DestinationRule',
      namespace: 'foo',
      name: 'typo',
      line: 5,
      column: 9,
      field: 'spec.host',
    });
  });
});

test('analyze: a bad flag value is one line and exit 2; an invalid config lists its errors and exits 1', () => {
  const bad = meshlite('analyze', '-c', 'examples/s1-auto-mtls', '--failure-threshold', 'Fatal');
  assert.is(bad.code, 2);
  assert.is(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /--failure-threshold must be Error, Warning or Info/);
  const output = meshlite('analyze', '-c', 'examples/s1-auto-mtls', '-o', 'yaml');
  assert.is(output.code, 2);
  withConfig('apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: x, namespace: foo}\nspec: {}\n', (dir) => {
    const r = meshlite('analyze', '-c', dir);
    assert.is(r.code, 1);
    assert.match(r.stderr, /extra\.yaml:4:\d+: spec(\.host)?: .*\n1 error\(s\): the config does not validate/);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  });
});

test('validate: -o json lists errors as objects; the fail-closed authz warnings print with file:line, exit 0', () => {
  withConfig('apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: x, namespace: foo}\nspec: {}\n', (dir) => {
    const r = meshlite('validate', '-c', dir, '-o', 'json');
    assert.is(r.code, 1);
    const json = JSON.parse(r.stdout);
    assert.is(json.ok, false);
    assert.is(json.totalErrors, 1);
    assert.equal(Object.keys(json.errors[0]).sort(), ['column', 'field', 'file', 'line', 'message']);
  });
  const ok = meshlite('validate', '-c', 'examples/s1-auto-mtls', '-o', 'json');
  assert.is(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).byKind, { ServiceEntry: 3, WorkloadEntry: 6 });
  const warned = meshlite('validate', '-c', 'examples/authz-fields');
  assert.is(warned.code, 0, warned.stderr);
  assert.match(
    warned.stderr,
    /^warning: examples\/authz-fields\/policies\.yaml:20: TCP chains: AuthorizationPolicy library\/catalog-readers rule 0: rule dropped \(allows less\)/m,
  );
  assert.match(
    warned.stdout,
    /^ok: 12 resources \(3 ServiceEntry, 4 WorkloadEntry, 4 AuthorizationPolicy, 1 RequestAuthentication\) in 3 file\(s\)\n$/,
  );
});

test.run();
