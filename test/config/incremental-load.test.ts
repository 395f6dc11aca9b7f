// A reload that re-parses only the changed files (YamlParseCache, kept by the
// loader between loads) gives exactly what a full load of the same files
// gives, whatever the edits: files written, rewritten, emptied, broken,
// removed, and namespace files that change what an unchanged file means.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as fc from 'fast-check';
import { YamlParseCache } from '../../src/config/yaml-parse-cache.js';
import { analyzedLoad } from '../../src/control-plane/analyzed-load.js';
import { BackgroundConfigLoader, InlineConfigLoader } from '../../src/control-plane/config-loader.js';
import { EXAMPLES_DIR } from '../support/paths.js';

const EXAMPLES = ['s2-mesh-strict', 's3-workload-strict', 's4-port-level-exception', 'sidecar-scope', 'demo'];
/** Every YAML file of a few examples, as texts an edit may put in any file. */
const TEXTS = EXAMPLES.flatMap((example) =>
  readdirSync(join(EXAMPLES_DIR, example))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(join(EXAMPLES_DIR, example, f), 'utf8')),
);
const FILES = ['a.yaml', 'b.yaml', 'sub/c.yaml', 'sub/.meshlite-namespace'];

type Edit = { file: string; text: string | undefined };

const content = fc.oneof(
  fc.constantFrom(...TEXTS),
  fc.constant(undefined),
  fc.constant(''),
  fc.constant('kind: [broken\n'),
  fc.constantFrom('team-a\n', 'team-b\n'),
  // A text with one line cut away: changed, often invalid.
  fc.tuple(fc.constantFrom(...TEXTS), fc.nat()).map(([text, n]) => {
    const lines = text.split('\n');
    lines.splice(n % lines.length, 1);
    return lines.join('\n');
  }),
);
const edit: fc.Arbitrary<Edit> = fc.record({ file: fc.constantFrom(...FILES), text: content });

function apply(dir: string, { file, text }: Edit): void {
  const path = join(dir, file);
  if (text === undefined) rmSync(path, { force: true });
  else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}

test('property: after any sequence of edits, a load with the kept parses equals a full load', () => {
  fc.assert(
    fc.property(fc.array(fc.array(edit, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 6 }), (steps) => {
      const dir = mkdtempSync(join(tmpdir(), 'meshlite-incremental-'));
      try {
        const parseCache = new YamlParseCache();
        for (const step of steps) {
          for (const e of step) apply(dir, e);
          const full = analyzedLoad({ paths: [dir], options: { cwd: dir } });
          const incremental = analyzedLoad({ paths: [dir], options: { cwd: dir, parseCache } });
          // The kept parses add per-kind digests; everything else is the full load's.
          const { kindDigests, ...rest } = incremental as typeof incremental & { kindDigests?: unknown };
          assert.equal(rest, full);
          assert.is(kindDigests !== undefined, incremental.ok);
          // Never more than the files of the last load.
          assert.ok(parseCache.stats().files <= FILES.length);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 60 },
  );
});

test('an unchanged file is not parsed again; a changed or removed one is', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-incremental-'));
  try {
    const cache = new YamlParseCache();
    apply(dir, { file: 'a.yaml', text: TEXTS[0] });
    apply(dir, { file: 'b.yaml', text: TEXTS[1] });
    analyzedLoad({ paths: [dir], options: { cwd: dir, parseCache: cache } });
    assert.equal(cache.stats(), { files: 2, hits: 0, misses: 2 });
    apply(dir, { file: 'b.yaml', text: TEXTS[2] });
    analyzedLoad({ paths: [dir], options: { cwd: dir, parseCache: cache } });
    assert.equal(cache.stats(), { files: 2, hits: 1, misses: 3 });
    apply(dir, { file: 'a.yaml', text: undefined });
    analyzedLoad({ paths: [dir], options: { cwd: dir, parseCache: cache } });
    assert.equal(cache.stats(), { files: 1, hits: 2, misses: 3 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the kept worker and the inline loader agree load after load, and a large load ends the worker', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-incremental-'));
  const worker = new BackgroundConfigLoader({ cwd: dir });
  try {
    const rng = fc.sample(fc.array(edit, { minLength: 1, maxLength: 3 }), { numRuns: 8, seed: 15 });
    for (const step of rng) {
      for (const e of step) apply(dir, e);
      assert.equal(await worker.load([dir]), await new InlineConfigLoader({ cwd: dir }).load([dir]));
    }
    const small = new BackgroundConfigLoader({ cwd: dir, recycleBytes: 1 });
    apply(dir, { file: 'a.yaml', text: TEXTS[0] });
    const first = await small.load([dir]);
    assert.equal(await small.load([dir]), first);
    assert.is((small as unknown as { worker?: unknown }).worker, undefined, 'a load over recycleBytes ends its worker');
  } finally {
    worker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
