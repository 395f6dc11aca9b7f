// Code rules checked on the source itself: calls that spread an array into
// arguments overflow the stack once the array is large (around 100,000
// items), and config input decides how large these arrays get. And the
// tree is formatted and linted by Biome (biome.jsonc).
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './support/paths.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sources(path) : entry.endsWith('.ts') ? [path] : [];
  });
}

test('no spread of an array into push, unshift, Math.max/min or String.fromCharCode in src', () => {
  const spread = /\.(push|unshift)\(\.\.\.|Math\.(max|min)\(\.\.\.|String\.fromCharCode\(\.\.\./;
  const found: string[] = [];
  for (const file of sources(join(REPO_ROOT, 'src'))) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (spread.test(line) && !line.trim().startsWith('*') && !line.trim().startsWith('//'))
          found.push(`${relative(REPO_ROOT, file)}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.equal(found, [], `use appendAll (src/util/append-all.ts) or a loop:\n${found.join('\n')}`);
});

test('no module-level cache in src: caches belong to an object whose owner decides how long they live', () => {
  // The proto schema is loaded once per process and never changes: caching its reflection for the process is right.
  const allowed = ['src/proto/envoy-root.ts', 'src/proto/json-to-binary.ts'];
  const memo = /^(export )?(const|let) \w+(: [^=]+)? = new (Weak)?Map[<(]/;
  const found: string[] = [];
  for (const file of sources(join(REPO_ROOT, 'src'))) {
    const rel = relative(REPO_ROOT, file);
    if (allowed.includes(rel)) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (memo.test(line) && !/: Readonly|ReadonlyMap/.test(line)) found.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.equal(found, [], `module-level caches (make them fields of an owned object):\n${found.join('\n')}`);
});

test('the tree is formatted and passes the linter (npm run format fixes most findings)', () => {
  const biome = join(REPO_ROOT, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
  const run = spawnSync(process.execPath, [biome, 'check', '--colors=off', '--max-diagnostics=20', '.'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  assert.is(run.status, 0, `${run.stdout}${run.stderr}`);
});

test.run();
