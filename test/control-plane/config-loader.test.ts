// The worker-thread loader gives exactly what loading on the main thread
// gives, and a worker that dies (out of memory) is a rejected load, not a crash.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackgroundConfigLoader, InlineConfigLoader } from '../../src/control-plane/config-loader.js';
import { formatIssue } from '../../src/config/diagnostics.js';
import { EXAMPLES_DIR, REPO_ROOT } from '../support/paths.js';

test('every example loads to the same result in the worker as inline (Maps included)', async () => {
  const worker = new BackgroundConfigLoader({ cwd: REPO_ROOT });
  const inline = new InlineConfigLoader({ cwd: REPO_ROOT });
  for (const example of readdirSync(EXAMPLES_DIR).sort()) {
    const paths = [join(EXAMPLES_DIR, example)];
    const [a, b] = await Promise.all([worker.load(paths), inline.load(paths)]);
    assert.equal(a, b, example);
  }
});

test('errors and limits come back from the worker like inline ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-bg-'));
  try {
    writeFileSync(join(dir, 'a.yaml'), 'kind: [broken\n');
    writeFileSync(join(dir, 'b.yaml'), `# ${'x'.repeat(200)}\n`);
    const result = await new BackgroundConfigLoader({ cwd: dir, limits: { maxFileBytes: 100 } }).load([dir]);
    assert.equal(result.ok ? [] : result.issues.map(formatIssue), [
      'a.yaml:2:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'b.yaml: file is 203 bytes, over the limit of 100 (--max-file-bytes)',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a worker that runs out of memory yields a rejected load naming the config path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-bg-'));
  try {
    const docs = Array.from(
      { length: 3000 },
      (_, i) =>
        `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: s${i}, namespace: foo}\nspec: {hosts: [s${i}.example.com], resolution: NONE, ports: [{number: 80, name: http, protocol: HTTP}]}`,
    );
    writeFileSync(join(dir, 'many.yaml'), docs.join('\n---\n'));
    const result = await new BackgroundConfigLoader({ maxHeapMb: 8 }).load([dir]);
    assert.is(result.ok, false);
    if (!result.ok) {
      assert.is(result.issues.length, 1);
      assert.is(result.issues[0]!.file, dir);
      assert.match(result.issues[0]!.message, 'needs more memory than the loader may use');
    }
    // The same files load with the default heap.
    assert.is((await new BackgroundConfigLoader().load([dir])).ok, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
