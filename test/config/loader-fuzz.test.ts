// Property tests of the loader: whatever the bytes, documents, directory
// layout or a concurrent writer do, loading returns a result (never throws),
// in bounded time, and every issue names a file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { stringify } from 'yaml';
import { loadConfig, type LoadResult } from '../../src/config/load-config.js';
import { EXAMPLES_DIR } from '../support/paths.js';

const EXAMPLE_TEXTS = readdirSync(join(EXAMPLES_DIR, 'authz-policy-kinds'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(join(EXAMPLES_DIR, 'authz-policy-kinds', f), 'utf8'));
const MAX_MS_PER_INPUT = 3000;

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'meshlite-fuzz-'));
}

/** Loads `dir`, failing the property on a throw, a slow load, or an issue without a file. */
function loadChecked(dir: string): LoadResult {
  const started = performance.now();
  const result = loadConfig([dir], { cwd: dir });
  const ms = performance.now() - started;
  if (ms > MAX_MS_PER_INPUT) throw new Error(`load took ${ms.toFixed(0)} ms`);
  if (!result.ok)
    for (const issue of result.issues)
      if (!issue.file || typeof issue.message !== 'string' || issue.message === '')
        throw new Error(`issue without file or message: ${JSON.stringify(issue)}`);
  if (!result.ok && result.totalIssues < result.issues.length) throw new Error('totalIssues under the listed count');
  return result;
}

/** An edit of a real config file: characters replaced, inserted, lines dropped or duplicated, or a cut. */
const mutatedExample = fc
  .tuple(
    fc.constantFrom(...EXAMPLE_TEXTS),
    fc.array(
      fc.record({
        op: fc.constantFrom('replace', 'insert', 'drop-line', 'dup-line', 'cut'),
        at: fc.nat(),
        text: fc.oneof(
          fc.string({ maxLength: 8 }),
          fc.constantFrom(':', '- ', '&a ', '*a', '{', '[', '"', '\t', '\n', '---\n', '!!binary ', '? ', '|', '%YAML 1.2\n'),
        ),
      }),
      { maxLength: 6 },
    ),
  )
  .map(([text, edits]) => {
    let out = text;
    for (const e of edits) {
      const at = out.length === 0 ? 0 : e.at % out.length;
      const lines = out.split('\n');
      const line = lines.length === 0 ? 0 : e.at % lines.length;
      if (e.op === 'replace') out = out.slice(0, at) + e.text + out.slice(at + e.text.length);
      else if (e.op === 'insert') out = out.slice(0, at) + e.text + out.slice(at);
      else if (e.op === 'drop-line') out = [...lines.slice(0, line), ...lines.slice(line + 1)].join('\n');
      else if (e.op === 'dup-line') out = [...lines.slice(0, line + 1), ...lines.slice(line)].join('\n');
      else out = out.slice(0, at);
    }
    return out;
  });

test('random and mutated YAML files never make the loader throw', () => {
  const dir = scratch();
  try {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(mutatedExample, fc.string({ unit: 'binary', maxLength: 300 })), { minLength: 1, maxLength: 3 }),
        (texts) => {
          rmSync(dir, { recursive: true, force: true });
          mkdirSync(dir);
          texts.forEach((t, i) => writeFileSync(join(dir, `f${i}.yaml`), t));
          loadChecked(dir);
        },
      ),
      { numRuns: 300 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('random documents of any shape, in the envelope of every kind, are errors or configs, never throws', () => {
  const kinds = [
    'PeerAuthentication',
    'DestinationRule',
    'ServiceEntry',
    'WorkloadEntry',
    'Gateway',
    'VirtualService',
    'AuthorizationPolicy',
    'RequestAuthentication',
    'MeshConfig',
    'Policy',
  ];
  const groups = [
    'security.istio.io/v1',
    'networking.istio.io/v1',
    'networking.istio.io/v1beta1',
    'meshlite.io/v1alpha1',
    'authentication.istio.io/v1alpha1',
  ];
  const doc = fc.record({
    apiVersion: fc.oneof(fc.constantFrom(...groups), fc.anything()),
    kind: fc.oneof(fc.constantFrom(...kinds), fc.anything()),
    metadata: fc.oneof(
      fc.record({ name: fc.constantFrom('a', 'b', 'default'), namespace: fc.constantFrom('foo', 'bar', 'istio-system') }),
      fc.anything(),
    ),
    spec: fc.anything({ maxDepth: 4, withNullPrototype: false }),
  });
  const dir = scratch();
  try {
    fc.assert(
      fc.property(fc.array(doc, { minLength: 1, maxLength: 5 }), (docs) => {
        writeFileSync(join(dir, 'docs.yaml'), docs.map((d) => stringify(d)).join('---\n'));
        loadChecked(dir);
      }),
      { numRuns: 300 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('random trees of directories, files and symlinks (loops, dangling, to files and to dirs) always load to a result', () => {
  const node = fc.record({
    kind: fc.constantFrom('dir', 'file', 'link'),
    name: fc.constantFrom('a', 'b.yaml', 'c.yml', 'd', 'e.yaml', 'f.txt'),
    parent: fc.nat(),
    target: fc.nat(),
  });
  const root = scratch();
  try {
    fc.assert(
      fc.property(fc.array(node, { maxLength: 12 }), (nodes) => {
        const dir = join(root, 'cfg');
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir);
        // Every path is planned first, so a link may point at itself, at a later entry or up the tree (loops).
        const planned: { path: string; kind: string; target: number }[] = [];
        const dirs = [dir];
        for (const [i, n] of nodes.entries()) {
          const parent = dirs[n.parent % dirs.length]!;
          const path = join(parent, n.name.replace(/^(\w)/, `$1${i}`));
          planned.push({ path, kind: n.kind, target: n.target });
          if (n.kind === 'dir') dirs.push(path);
        }
        const targets = [dir, '/nonexistent', ...planned.map((p) => p.path)];
        for (const p of planned) {
          try {
            if (p.kind === 'dir') mkdirSync(p.path, { recursive: true });
            else if (p.kind === 'file') writeFileSync(p.path, EXAMPLE_TEXTS[p.target % EXAMPLE_TEXTS.length]!);
            else symlinkSync(targets[p.target % targets.length]!, p.path);
          } catch {
            // The parent is a file or a link: that entry simply does not exist.
          }
        }
        loadChecked(dir);
      }),
      { numRuns: 200 },
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('loading while another process creates, truncates, deletes and re-links files never throws', async () => {
  const dir = scratch();
  // The writer churns the directory for a bounded time, then exits by itself.
  const churn = `
    const fs = require('node:fs'), path = require('node:path');
    const dir = process.argv[1], text = process.argv[2], end = Date.now() + 2500;
    let i = 0;
    while (Date.now() < end) {
      const f = path.join(dir, 'f' + (i % 7) + '.yaml');
      try {
        switch (i % 6) {
          case 0: fs.writeFileSync(f, text); break;
          case 1: fs.truncateSync(f, (i * 13) % text.length); break;
          case 2: fs.unlinkSync(f); break;
          case 3: fs.symlinkSync(path.join(dir, 'f' + ((i + 1) % 7) + '.yaml'), f); break;
          case 4: fs.mkdirSync(f); break;
          case 5: fs.rmSync(f, { recursive: true, force: true }); break;
        }
      } catch {}
      i++;
    }`;
  const writer = spawn(process.execPath, ['-e', churn, dir, EXAMPLE_TEXTS[0]!], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => writer.once('exit', () => resolve()));
  let loads = 0;
  let running = true;
  void exited.then(() => (running = false));
  try {
    while (running) {
      loadChecked(dir);
      loads += 1;
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    writer.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(loads >= 20, `only ${loads} loads raced the writer`);
});

test.run();
