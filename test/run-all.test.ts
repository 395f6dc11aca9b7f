// The test runner itself, on a directory of small test files: a file that
// runs no test fails like one that crashes, and the summary line counts it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from './support/paths.js';

const RUNNER = join(REPO_ROOT, 'dist/test/run-all.js');
const UVU = pathToFileURL(join(REPO_ROOT, 'node_modules/uvu/dist/index.mjs')).href;

function runOn(files: Record<string, string>, options: { filter?: string; env?: Record<string, string> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-runner-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    const env = { ...process.env, MESHLITE_TEST_ROOT: dir, ...options.env };
    const r = spawnSync(process.execPath, [RUNNER, ...(options.filter ? [options.filter] : [])], { cwd: dir, encoding: 'utf8', env });
    return { status: r.status, lines: r.stdout.split('\n'), stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const verdicts = (lines: string[]) => lines.filter((l) => /^(ok {3}|FAIL )/.test(l)).map((l) => l.replace(/\d+\.\d+s/, 'Xs'));
const byName = (a: string, b: string) => a.slice(5).localeCompare(b.slice(5));

const passing = (n: number) =>
  `import { test } from '${UVU}';\n${Array.from({ length: n }, (_, i) => `test('t${i}', () => {});`).join('\n')}\ntest.run();\n`;

const brokenFiles = {
  'a-empty.test.js': '// no tests at all\n',
  'b-no-run.test.js': `import { test } from '${UVU}';\ntest('never run', () => {});\n`,
  'c-exits.test.js': 'process.exit(0);\n',
  'd-good.test.js': passing(2),
  'e-failing.test.js': `import { test } from '${UVU}';\nimport * as assert from '${UVU.replace('dist/index.mjs', 'assert/index.mjs')}';\ntest('fails', () => assert.is(1, 2));\ntest('passes', () => {});\ntest.run();\n`,
};
const brokenVerdicts = [
  'FAIL a-empty.test.js (ran no tests, Xs): uvu reported Total: 0; a test file must define tests and call test.run()',
  'FAIL b-no-run.test.js (ran no tests, Xs): uvu reported Total: 0; a test file must define tests and call test.run()',
  'FAIL c-exits.test.js (crashed, Xs): no uvu summary (exit 0)',
  'ok   d-good.test.js: 2 passed (Xs)',
  'FAIL e-failing.test.js (Xs)',
];

for (const jobs of ['1', '3']) {
  test(`${jobs} at a time: a file with zero tests, one that never calls test.run() and one without a uvu summary fail; the others pass`, () => {
    const r = runOn(brokenFiles, { env: { MESHLITE_TEST_JOBS: jobs } });
    assert.is(r.status, 1);
    // Serially in path order; in parallel in the order they finish.
    assert.equal(jobs === '1' ? verdicts(r.lines) : verdicts(r.lines).sort(byName), brokenVerdicts);
    assert.ok(r.lines.includes('failed files: a-empty.test.js, b-no-run.test.js, c-exits.test.js, e-failing.test.js'), r.lines.join('\n'));
    assert.is(r.lines.filter(Boolean).pop(), '3 passed, 4 failed');
  });
}

test('only passing files: exit 0 and the summary line', () => {
  const r = runOn({ 'one.test.js': passing(1), 'two.test.js': passing(3) }, { env: { MESHLITE_TEST_JOBS: '1' } });
  assert.is(r.status, 0, r.lines.join('\n'));
  assert.equal(
    r.lines.filter(Boolean).map((l) => l.replace(/\d+\.\d+s/, 'Xs')),
    ['ok   one.test.js: 1 passed (Xs)', 'ok   two.test.js: 3 passed (Xs)', '2 files in Xs (one at a time)', '4 passed, 0 failed'],
  );
});

test('the filter argument picks files by path', () => {
  const r = runOn({ 'one.test.js': passing(1), 'sub/two.test.js': passing(3) }, { filter: '^sub/' });
  assert.equal(verdicts(r.lines), ['ok   sub/two.test.js: 3 passed (Xs)']);
  assert.is(r.lines.filter(Boolean).pop(), '3 passed, 0 failed');
});

// A fixture file that creates `mark` in the test root, then waits (with a
// deadline) until `awaited` exists there, then creates `done`.
const waiter = (mark: string, awaited: string, done = `${mark}-done`) => `import { test } from '${UVU}';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const at = (f) => join(process.env.MESHLITE_TEST_ROOT, f);
test('meets ${awaited}', async () => {
  writeFileSync(at('${mark}'), '');
  const deadline = Date.now() + 10_000;
  while (!existsSync(at('${awaited}'))) {
    if (Date.now() > deadline) throw new Error('${awaited} never appeared');
    await new Promise((r) => setTimeout(r, 10));
  }
  writeFileSync(at('${done}'), '');
});
test.run();
`;
// A fixture that passes only if `awaited` already exists when it starts.
const after = (awaited: string) => `import { test } from '${UVU}';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
test('starts after ${awaited}', () => {
  if (!existsSync(join(process.env.MESHLITE_TEST_ROOT, '${awaited}'))) throw new Error('started before ${awaited}');
});
test.run();
`;

test('with two jobs two files run at the same time (each waits for the other to have started)', () => {
  const files = { 'a.test.js': waiter('a', 'b'), 'b.test.js': waiter('b', 'a') };
  const r = runOn(files, { env: { MESHLITE_TEST_JOBS: '2' } });
  assert.is(r.status, 0, r.lines.join('\n'));
  assert.is(r.lines.filter(Boolean).pop(), '2 passed, 0 failed');
});

test('end-to-end files (under e2e/) run at most MESHLITE_TEST_E2E_JOBS at a time, while unit files fill the other slots', () => {
  // e2e/a starts first and finishes only once unit.test.js has run beside it; e2e/b checks e2e/a had finished.
  const files = { 'e2e/a.test.js': waiter('a', 'unit'), 'e2e/b.test.js': after('a-done'), 'unit.test.js': waiter('unit', 'a') };
  const capped = runOn(files, { env: { MESHLITE_TEST_JOBS: '2', MESHLITE_TEST_E2E_JOBS: '1' } });
  assert.is(capped.status, 0, capped.lines.join('\n'));
  assert.is(capped.lines.filter(Boolean).pop(), '3 passed, 0 failed');
  // The same files with room for two end-to-end files at once: e2e/b starts beside e2e/a, too early.
  const uncapped = runOn(files, { env: { MESHLITE_TEST_JOBS: '2', MESHLITE_TEST_E2E_JOBS: '2' } });
  assert.ok(uncapped.lines.includes('failed files: e2e/b.test.js'), uncapped.lines.join('\n'));
});

test('an end-to-end file marked "// runner: long" starts before the other end-to-end files', () => {
  // One end-to-end slot: e2e/z (marked) must run before e2e/a, which checks that z had finished.
  const files = { 'e2e/a.test.js': after('z-done'), 'e2e/z.test.js': `// runner: long\n${waiter('z', 'z')}` };
  const marked = runOn(files, { env: { MESHLITE_TEST_JOBS: '2', MESHLITE_TEST_E2E_JOBS: '1' } });
  assert.is(marked.status, 0, marked.lines.join('\n'));
  // Without the marker, path order: e2e/a runs first and finds z not done.
  const plain = runOn({ ...files, 'e2e/z.test.js': waiter('z', 'z') }, { env: { MESHLITE_TEST_JOBS: '2', MESHLITE_TEST_E2E_JOBS: '1' } });
  assert.ok(plain.lines.includes('failed files: e2e/a.test.js'), plain.lines.join('\n'));
});

const HOOKS = pathToFileURL(join(REPO_ROOT, 'dist/test/support/hooks.js')).href;
/** Two tests behind a before hook that throws, registered with uvu's test.before or with test/support/hooks.ts. */
const failingBefore = (through: 'uvu' | 'hooks.ts') => `import { test } from '${UVU}';
import { before } from '${HOOKS}';
const explode = () => { throw new Error('setup exploded'); };
${through === 'uvu' ? 'test.before(explode);' : 'before(test, explode);'}
test('needs the setup', () => {});
test('needs it too', () => {});
test.run();
`;

test('a before hook that throws fails its file, which says its tests never ran; through test/support/hooks.ts the error is shown', () => {
  const neverRan =
    '2 test(s) neither passed nor failed: a before hook threw (uvu prints no error for it; register hooks with test/support/hooks.ts, which does)';
  const plain = runOn({ 'plain.test.js': failingBefore('uvu') });
  assert.is(plain.status, 1);
  assert.equal(verdicts(plain.lines), ['FAIL plain.test.js (Xs)']);
  assert.ok(plain.lines.includes(neverRan), plain.lines.join('\n'));
  assert.not.ok(
    plain.lines.some((l) => l.includes('setup exploded')),
    'uvu alone prints no error',
  );
  assert.is(plain.lines.filter(Boolean).pop(), '0 passed, 2 failed');

  const reported = runOn({ 'reported.test.js': failingBefore('hooks.ts') });
  assert.is(reported.status, 1);
  assert.equal(verdicts(reported.lines), ['FAIL reported.test.js (Xs)']);
  assert.ok(reported.lines.includes(neverRan), reported.lines.join('\n'));
  assert.ok(
    // The hook's report goes to stderr, which may land in the middle of one of uvu's stdout lines.
    reported.lines.some((l) => l.includes('✘ the before hook failed: Error: setup exploded')),
    reported.lines.join('\n'),
  );
});

test('a job count that is not a whole number of at least 1 stops the runner with a clear message', () => {
  for (const bad of ['0', 'two', '1.5']) {
    const r = runOn({ 'one.test.js': passing(1) }, { env: { MESHLITE_TEST_JOBS: bad } });
    assert.is(r.status, 2);
    assert.is(r.stderr.trim(), `MESHLITE_TEST_JOBS must be a whole number of at least 1, got "${bad}"`);
  }
});

test.run();
