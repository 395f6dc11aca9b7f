// Runs every compiled test file in its own uvu process (so one crashing file
// cannot hide the others) and ends with the "N passed, N failed" line CI reads.
// A file that ran no test (no uvu summary, or Total: 0) fails: a file whose
// tests never registered or never ran proves nothing. MESHLITE_TEST_ROOT
// points the runner at another directory of *.test.js files (its own tests).
//
// Files run concurrently: up to MESHLITE_TEST_JOBS at once (default: the
// number of cores), of which at most MESHLITE_TEST_E2E_JOBS (default 2) are
// end-to-end files, the ones that start real Envoy, meshlite or app processes
// and so need several cores each. Each file's block is printed whole when it
// finishes, so outputs never interleave. MESHLITE_TEST_JOBS=1 runs serially,
// in path order.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const testRoot = process.env.MESHLITE_TEST_ROOT ?? fileURLToPath(new URL('.', import.meta.url));
const uvuBin = fileURLToPath(new URL('../../node_modules/uvu/bin.js', import.meta.url));
const filter = process.argv[2] ? new RegExp(process.argv[2]) : undefined;

const DEFAULT_E2E_JOBS = 2;
const jobs = positiveInt('MESHLITE_TEST_JOBS') ?? availableParallelism();
const e2eJobs = Math.min(jobs, positiveInt('MESHLITE_TEST_E2E_JOBS') ?? DEFAULT_E2E_JOBS);

function positiveInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${name} must be a whole number of at least 1, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

function findTests(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (entry.endsWith('.test.js')) found.push(path);
  }
  return found;
}

/**
 * End-to-end: under an `e2e/` folder, or importing the helpers that keep real
 * Envoy, meshlite and app processes running for the whole file. (Files that
 * only run one short CLI command or `envoy --mode validate` count as unit files.)
 */
const LAUNCHERS = /from\s+['"][^'"]*\/(support\/e2e\/|proxyless\/children\.js)/;
function isEndToEnd(name: string, file: string): boolean {
  return /(^|\/)e2e\//.test(name) || LAUNCHERS.test(readFileSync(file, 'utf8'));
}

/**
 * A file that says `// runner: long` in its source starts before the other
 * end-to-end files: with two running at a time, the longest ones started last
 * would finish alone at the end.
 */
const LONG_MARKER = /^\/\/ runner: long\b/m;
function isLong(file: string): boolean {
  return LONG_MARKER.test(readFileSync(file, 'utf8'));
}

interface TestFile {
  name: string;
  file: string;
  e2e: boolean;
  long: boolean;
}

interface Verdict {
  passed: number;
  failed: number;
  skipped: number;
  ok: boolean;
  report: string;
}

const stripAnsi = (s: string) => s.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');

/**
 * Tests counted in the total that neither passed nor failed: uvu skips them
 * when a `before` hook throws, and prints neither the error nor a FAIL entry.
 */
function neverRan(out: string, bad: number): string {
  const listed = out.match(/^\s+FAIL\s/gm)?.length ?? 0;
  if (bad <= listed) return '';
  return `${bad - listed} test(s) neither passed nor failed: a before hook threw (uvu prints no error for it; register hooks with test/support/hooks.ts, which does)\n`;
}

function judge(name: string, out: string, exit: number | string, seconds: string): Verdict {
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const skip = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
  if (Number.isNaN(total) || Number.isNaN(ok)) {
    return {
      passed: 0,
      failed: 1,
      skipped: 0,
      ok: false,
      report: `FAIL ${name} (crashed, ${seconds}s): no uvu summary (exit ${exit})\n${out}`,
    };
  }
  if (total === 0) {
    const why = 'uvu reported Total: 0; a test file must define tests and call test.run()';
    return { passed: 0, failed: 1, skipped: 0, ok: false, report: `FAIL ${name} (ran no tests, ${seconds}s): ${why}\n${out}` };
  }
  const bad = total - ok - skip;
  if (bad > 0 || exit !== 0) {
    return {
      passed: ok,
      failed: bad > 0 ? bad : 1,
      skipped: skip,
      ok: false,
      report: `FAIL ${name} (${seconds}s)\n${out}${neverRan(out, bad)}`,
    };
  }
  return {
    passed: ok,
    failed: 0,
    skipped: skip,
    ok: true,
    report: `ok   ${name}: ${ok} passed${skip ? `, ${skip} skipped` : ''} (${seconds}s)`,
  };
}

function runFile(testFile: TestFile): Promise<Verdict> {
  const rel = relative(process.cwd(), testFile.file);
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const child = spawn(process.execPath, [uvuBin, '.', `^${escapeRegex(rel)}$`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    const finish = (exit: number | string) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      resolve(judge(testFile.name, stripAnsi(Buffer.concat(chunks).toString('utf8')), exit, seconds));
    };
    child.once('error', (err) => finish(err.message));
    child.once('close', (code, signal) => finish(code ?? signal ?? 'unknown'));
  });
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Runs the files, end-to-end ones first (the long-marked among them first of all), within the two limits. */
async function runAll(files: TestFile[], onDone: (testFile: TestFile, verdict: Verdict) => void): Promise<void> {
  const e2e = files.filter((f) => f.e2e);
  const queue = [...e2e.filter((f) => f.long), ...e2e.filter((f) => !f.long), ...files.filter((f) => !f.e2e)];
  let running = 0;
  let e2eRunning = 0;
  await new Promise<void>((allDone) => {
    const fill = () => {
      while (running < jobs) {
        const i = queue.findIndex((f) => !f.e2e || e2eRunning < e2eJobs);
        if (i < 0) break;
        const [testFile] = queue.splice(i, 1) as [TestFile];
        running += 1;
        if (testFile.e2e) e2eRunning += 1;
        void runFile(testFile).then((verdict) => {
          running -= 1;
          if (testFile.e2e) e2eRunning -= 1;
          onDone(testFile, verdict);
          fill();
        });
      }
      if (running === 0 && queue.length === 0) allDone();
    };
    fill();
  });
}

const files: TestFile[] = findTests(testRoot)
  .map((file) => ({ file, name: relative(testRoot, file) }))
  .filter(({ name }) => !filter || filter.test(name))
  // Serial keeps plain path order; in parallel the end-to-end files are started first.
  .map(({ file, name }) => ({ file, name, e2e: jobs > 1 && isEndToEnd(name, file), long: jobs > 1 && isLong(file) }));

let passed = 0;
let failed = 0;
let skipped = 0;
const failedFiles: string[] = [];
const started = Date.now();
await runAll(files, (testFile, verdict) => {
  passed += verdict.passed;
  failed += verdict.failed;
  skipped += verdict.skipped;
  if (!verdict.ok) failedFiles.push(testFile.name);
  console.log(verdict.report);
});

const wall = ((Date.now() - started) / 1000).toFixed(1);
console.log(
  `\n${files.length} file${files.length === 1 ? '' : 's'} in ${wall}s (${jobs > 1 ? `${jobs} at a time, at most ${e2eJobs} end-to-end` : 'one at a time'})`,
);
if (failedFiles.length) console.log(`\nfailed files: ${failedFiles.sort().join(', ')}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
