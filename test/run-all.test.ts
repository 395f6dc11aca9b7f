// The test runner itself, on a directory of small test files: a file that
// runs no test fails like one that crashes, and the summary line counts it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from './support/paths.js';

const RUNNER = join(REPO_ROOT, 'dist/test/run-all.js');
const UVU = pathToFileURL(join(REPO_ROOT, 'node_modules/uvu/dist/index.mjs')).href;

function runOn(files: Record<string, string>, filter?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-runner-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const r = spawnSync(process.execPath, [RUNNER, ...(filter ? [filter] : [])], { cwd: dir, encoding: 'utf8', env: { ...process.env, MESHLITE_TEST_ROOT: dir } });
    return { status: r.status, lines: r.stdout.split('\n') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const passing = (n: number) => `import { test } from '${UVU}';\n${Array.from({ length: n }, (_, i) => `test('t${i}', () => {});`).join('\n')}\ntest.run();\n`;

test('a file with zero tests, one that never calls test.run() and one without a uvu summary fail; the others pass', () => {
  const r = runOn({
    'a-empty.test.js': '// no tests at all\n',
    'b-no-run.test.js': `import { test } from '${UVU}';\ntest('never run', () => {});\n`,
    'c-exits.test.js': 'process.exit(0);\n',
    'd-good.test.js': passing(2),
    'e-failing.test.js': `import { test } from '${UVU}';\nimport * as assert from '${UVU.replace('dist/index.mjs', 'assert/index.mjs')}';\ntest('fails', () => assert.is(1, 2));\ntest('passes', () => {});\ntest.run();\n`,
  });
  assert.is(r.status, 1);
  const verdicts = r.lines.filter((l) => /^(ok {3}|FAIL )/.test(l)).map((l) => l.replace(/\d+\.\d+s/, 'Xs'));
  assert.equal(verdicts, [
    'FAIL a-empty.test.js (ran no tests, Xs): uvu reported Total: 0; a test file must define tests and call test.run()',
    'FAIL b-no-run.test.js (ran no tests, Xs): uvu reported Total: 0; a test file must define tests and call test.run()',
    'FAIL c-exits.test.js (crashed, Xs): no uvu summary (exit 0)',
    'ok   d-good.test.js: 2 passed (Xs)',
    'FAIL e-failing.test.js (Xs)',
  ]);
  assert.ok(r.lines.includes('failed files: a-empty.test.js, b-no-run.test.js, c-exits.test.js, e-failing.test.js'), r.lines.join('\n'));
  assert.is(r.lines.filter(Boolean).pop(), '3 passed, 4 failed');
});

test('only passing files: exit 0 and the summary line', () => {
  const r = runOn({ 'one.test.js': passing(1), 'two.test.js': passing(3) });
  assert.is(r.status, 0, r.lines.join('\n'));
  assert.equal(r.lines.filter(Boolean).map((l) => l.replace(/\d+\.\d+s/, 'Xs')), ['ok   one.test.js: 1 passed (Xs)', 'ok   two.test.js: 3 passed (Xs)', '4 passed, 0 failed']);
});

test.run();
