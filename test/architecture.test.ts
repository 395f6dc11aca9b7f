// Dependencies in src point one way. The pipeline runs config -> model -> xds
// -> translate -> cache -> server, on top of util and proto (translate joins
// model and xds; xds builders see only the view types of model); ca, credentials, identity and
// diff sit beside it and use only its base; store (etcd) keeps config, CA and
// token material and replica state for the replicated mode, on config, ca and identity; ca-service (the certificate-signing
// API) joins ca and identity over the view of workloads it is handed; admin,
// control-plane and cli compose everything (cli on top). Checked from the import statements of
// every file: no cycle between files, none between folders, no upward import.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { REPO_ROOT } from './support/paths.js';
import { findCycles, folderCycles, importSpecifiers, layerViolations, readImportGraph, type LayerRules } from './support/import-graph.js';

const BASE = ['util', 'proto'];
const BESIDE = ['ca', 'credentials', 'identity', 'diff'];
const PIPELINE = [...BASE, 'config', 'model', 'xds', 'translate', 'cache', 'server'];

/** What each top-level folder of src may import besides itself. */
const RULES: LayerRules = {
  mayImport: {
    util: [],
    proto: ['util'],
    config: BASE,
    model: [...BASE, 'config'],
    xds: [...BASE, 'model'],
    translate: [...BASE, 'config', 'model', 'xds'],
    cache: [...BASE, 'config', 'model', 'xds'],
    server: [...BASE, 'config', 'model', 'xds', 'cache'],
    ca: [...BASE, 'config'],
    credentials: [...BASE, 'config'],
    identity: [...BASE, 'config'],
    diff: [...BASE, 'config'],
    store: [...BASE, 'config', 'ca', 'identity'],
    'ca-service': [...BASE, 'config', 'model', 'ca', 'identity', 'credentials'],
    inspect: [...BASE, 'config', 'model', 'xds', 'translate'],
    admin: [...PIPELINE, ...BESIDE, 'inspect'],
    'control-plane': [...PIPELINE, ...BESIDE, 'ca-service', 'admin', 'store', 'inspect'],
    agent: [...PIPELINE, 'ca', 'ca-service', 'identity'],
    cli: [...PIPELINE, ...BESIDE, 'ca-service', 'admin', 'control-plane', 'agent', 'store', 'inspect'],
  },
  exceptions: [
    {
      from: 'credentials/credential-store.ts',
      to: 'model/secret-refs.ts',
      why: 'a credential is served under the SDS names Envoy asks for; secret-refs.ts imports nothing',
    },
  ],
};

const graph = readImportGraph(join(REPO_ROOT, 'src'));

test('no import cycle between files of src', () => {
  const cycles = findCycles(graph).map((chain) => chain.join(' -> '));
  assert.equal(cycles, [], `import cycles in src:\n${cycles.join('\n')}`);
});

test('no import cycle between top-level folders of src', () => {
  const cycles = folderCycles(graph);
  assert.equal(cycles, [], `folder cycles in src (with one import for each step):\n${cycles.join('\n')}`);
});

test('every import between folders of src follows the layer rules', () => {
  const violations = layerViolations(graph, RULES);
  assert.equal(violations, [], `imports against the layer rules (test/architecture.test.ts):\n${violations.join('\n')}`);
});

/** What xds builders may read of the model: the view contract, nothing that computes it. */
const VIEW_CONTRACT = ['model/view-types.ts', 'model/secret-refs.ts'];

test('xds builders import from model only the view contract (view-types.ts, secret-refs.ts)', () => {
  const outside: string[] = [];
  for (const [file, imports] of graph) {
    if (!file.startsWith('xds/')) continue;
    for (const target of imports) if (target.startsWith('model/') && !VIEW_CONTRACT.includes(target)) outside.push(`${file} -> ${target}`);
  }
  assert.equal(outside, [], `xds must take everything from the view:\n${outside.join('\n')}`);
  assert.ok(graph.get('xds/cluster.ts')?.includes('model/view-types.ts'), 'the check sees xds -> model imports');
});

test('the layer rules themselves allow no folder cycle', () => {
  const cycles = findCycles(new Map(Object.entries(RULES.mayImport)));
  assert.equal(cycles, [], `the rules allow a cycle: ${cycles.map((c) => c.join(' -> ')).join('; ')}`);
});

test('the graph reader sees src: known edges are present', () => {
  assert.ok(graph.size > 100, `only ${graph.size} files read`);
  assert.ok(
    graph.get('xds/translate.ts')?.includes('model/view-types.ts'),
    'xds/translate.ts -> model/view-types.ts (a type-only import) is missing',
  );
  assert.ok(
    graph.get('translate/translator.ts')?.includes('model/mesh-views.ts'),
    'translate/translator.ts -> model/mesh-views.ts is missing',
  );
});

test('the import parser reads every statement form and refuses one it does not know', () => {
  const source = [
    "import a from './a.js';",
    "import * as b from './b.js';",
    "import type { C } from './c.js';",
    'import {\n  d,\n  type D,\n} from "./d.js";',
    "import e, { f } from './e.js';",
    "import './side-effect.js';",
    "export * from './g.js';",
    "export * as h from './h.js';",
    "export { i, type I } from './i.js';",
    "export type { J } from './j.js';",
    'export { local };',
    "const k = await import('./k.js');",
  ].join('\n');
  const expected = ['a', 'b', 'c', 'd', 'e', 'side-effect', 'g', 'h', 'i', 'j', 'k'].map((name) => `./${name}.js`);
  assert.equal(importSpecifiers(source), expected);
  assert.throws(() => importSpecifiers("import a = require('./a.js');", 'x.ts'), /x\.ts: 1 import\/export-from statements but 0 parsed/);
});

test('the checks fail on a file cycle, a folder cycle and an upward import, naming the chain', () => {
  const bad = new Map([
    ['config/types.ts', ['config/authz.ts']],
    ['config/authz.ts', ['config/types.ts', 'model/view.ts']],
    ['model/view.ts', ['config/types.ts']],
  ]);
  assert.equal(findCycles(bad), [['config/authz.ts', 'config/types.ts', 'config/authz.ts']]);
  assert.equal(
    findCycles(
      new Map([
        ['a.ts', ['b.ts']],
        ['b.ts', []],
      ]),
    ),
    [],
  );
  assert.equal(folderCycles(bad), ['config -> model -> config\n  config/authz.ts -> model/view.ts\n  model/view.ts -> config/types.ts']);
  const rules: LayerRules = { mayImport: { config: [], model: ['config'] }, exceptions: [] };
  assert.equal(layerViolations(bad, rules), ['config/authz.ts -> model/view.ts: config may import no other folder']);
  assert.equal(layerViolations(new Map([['admin/a.ts', []]]), { mayImport: {}, exceptions: [{ from: 'x/y.ts', to: 'z/w.ts', why: '' }] }), [
    'folder admin has no layer rule; add it to the rules with what it may import',
    'exception x/y.ts -> z/w.ts is no longer needed; remove it from the rules',
  ]);
});

test.run();
