// Runs every compiled test file in its own uvu process (so one crashing file
// cannot hide the others) and ends with the "N passed, N failed" line CI reads.
// A file that ran no test (no uvu summary, or Total: 0) fails: a file whose
// tests never registered or never ran proves nothing. MESHLITE_TEST_ROOT
// points the runner at another directory of *.test.js files (its own tests).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const testRoot = process.env.MESHLITE_TEST_ROOT ?? fileURLToPath(new URL('.', import.meta.url));
const uvuBin = fileURLToPath(new URL('../../node_modules/uvu/bin.js', import.meta.url));
const filter = process.argv[2] ? new RegExp(process.argv[2]) : undefined;

function findTests(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (entry.endsWith('.test.js')) found.push(path);
  }
  return found;
}

const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');
let passed = 0;
let failed = 0;
let skipped = 0;
const failedFiles: string[] = [];

for (const file of findTests(testRoot)) {
  const name = relative(testRoot, file);
  if (filter && !filter.test(name)) continue;
  const rel = relative(process.cwd(), file);
  const started = Date.now();
  const run = spawnSync(process.execPath, [uvuBin, '.', `^${escapeRegex(rel)}$`], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  const out = stripAnsi((run.stdout ?? '') + (run.stderr ?? ''));
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? NaN);
  const skip = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (Number.isNaN(total) || Number.isNaN(ok)) {
    failed += 1;
    failedFiles.push(name);
    console.log(`FAIL ${name} (crashed, ${seconds}s): no uvu summary (exit ${run.status ?? run.signal})\n${out}`);
    continue;
  }
  if (total === 0) {
    failed += 1;
    failedFiles.push(name);
    console.log(`FAIL ${name} (ran no tests, ${seconds}s): uvu reported Total: 0; a test file must define tests and call test.run()\n${out}`);
    continue;
  }
  const bad = total - ok - skip;
  passed += ok;
  failed += bad;
  skipped += skip;
  if (bad > 0 || run.status !== 0) {
    if (bad === 0) failed += 1;
    failedFiles.push(name);
    console.log(`FAIL ${name} (${seconds}s)\n${out}`);
  } else {
    console.log(`ok   ${name}: ${ok} passed${skip ? `, ${skip} skipped` : ''} (${seconds}s)`);
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

if (failedFiles.length) console.log(`\nfailed files: ${failedFiles.join(', ')}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
