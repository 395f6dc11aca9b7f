// `meshlite import marathon` on saved Marathon answers: the YAML it prints
// (compared with a reviewed copy), that it validates as config, -n, and
// refusals. `serve --registry` refuses what it cannot poll.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/paths.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const SAMPLES = join(REPO_ROOT, 'test/cli/marathon-import');
const dir = mkdtempSync(join(tmpdir(), 'meshlite-import-'));

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('apps and pods of a directory print as the reviewed YAML', () => {
  const r = cli('import', 'marathon', SAMPLES);
  assert.is(r.status, 0, r.stderr);
  assert.fixture(r.stdout, readFileSync(join(SAMPLES, 'expected.yaml'), 'utf8'));
});

test('what it prints is valid config for validate', () => {
  const r = cli('import', 'marathon', join(SAMPLES, 'apps.json'), join(SAMPLES, 'pods.json'));
  writeFileSync(join(dir, 'imported.yaml'), r.stdout);
  const v = cli('validate', '-c', join(dir, 'imported.yaml'));
  assert.is(v.status, 0, v.stderr);
  assert.match(v.stdout, /ok: 6 resources/);
});

test('-n names the namespace of apps without the namespace label; the id is then the whole name', () => {
  const r = cli('import', 'marathon', '-n', 'prod', join(SAMPLES, 'apps.json'));
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /name: foo-httpbin\n {2}namespace: prod\n/);
  assert.match(r.stdout, /name: reviews\n {2}namespace: shop\n/, 'the label wins over -n');
});

test('a file that is not a Marathon answer is refused with its name, nothing printed', () => {
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ apps: [{ cmd: 'no id' }] }));
  const r = cli('import', 'marathon', join(dir, 'bad.json'));
  assert.is(r.status, 1);
  assert.is(r.stdout, '');
  assert.match(r.stderr, /bad\.json: app 0: expected an object with a string "id"/);
});

test('serve refuses a registry it does not know or a URL it cannot poll', () => {
  const unknown = cli('serve', '-c', 'examples/s1-auto-mtls', '--registry', 'consul=http://127.0.0.1:8500');
  assert.is(unknown.status, 2);
  assert.match(unknown.stderr, /only Marathon is supported/);
  const badUrl = cli('serve', '-c', 'examples/s1-auto-mtls', '--registry', 'marathon=ftp://x');
  assert.is(badUrl.status, 2);
  assert.match(badUrl.stderr, /expected an http\(s\) URL/);
});

test.run();
