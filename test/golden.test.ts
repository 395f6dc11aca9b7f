import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJson } from '../src/proto/proto-json.js';
import { CONFIG_DUMP_TYPE, formatJson } from '../src/translate/proxy-config-dump.js';
import { envoyGoldenFiles, goldenCases, goldenFiles, scenarioNames } from './support/golden-cases.js';
import { REPO_ROOT } from './support/paths.js';

const cases = goldenCases();
const rel = (path: string) => relative(REPO_ROOT, path);

test('every core scenario (S1-S4, S8-S10) has an example', () => {
  const names = scenarioNames();
  for (const prefix of ['s1-', 's2-', 's3-', 's4-', 's8-', 's9-', 's10-']) {
    assert.ok(
      names.some((n) => n.startsWith(prefix)),
      `no examples/${prefix}* scenario`,
    );
  }
  assert.ok(cases.length >= 40, `expected two goldens (view and Envoy) per proxy per scenario, got ${cases.length}`);
});

test('every proxy of every scenario has a golden, and it matches the translation byte for byte', () => {
  const missing = cases.filter((c) => !existsSync(c.goldenPath)).map((c) => rel(c.goldenPath));
  assert.equal(missing, [], `missing goldens (run npm run golden:update): ${missing.join(', ')}`);
  for (const c of cases) {
    const golden = readFileSync(c.goldenPath, 'utf8');
    if (golden !== c.actual) {
      assert.fixture(c.actual, golden, `${rel(c.goldenPath)} differs from the translation (npm run golden:update, then read the diff)`);
    }
  }
});

test('no orphaned goldens', () => {
  const wanted = new Set(cases.map((c) => c.goldenPath));
  const orphans = goldenFiles()
    .filter((f) => !wanted.has(f))
    .map(rel);
  assert.equal(orphans, [], `orphaned goldens: ${orphans.join(', ')}`);
});

test('every proxy has both stage goldens: its view and its Envoy config', () => {
  const stages = new Map<string, string[]>();
  for (const c of cases) stages.set(`${c.scenario}/${c.proxy}`, [...(stages.get(`${c.scenario}/${c.proxy}`) ?? []), c.stage]);
  for (const [proxy, found] of stages) assert.equal(found.sort(), ['envoy', 'view'], proxy);
});

test('every Envoy golden survives JSON -> binary -> JSON through the real Envoy protos unchanged', () => {
  for (const file of envoyGoldenFiles()) {
    const text = readFileSync(file, 'utf8');
    const roundTripped = formatJson(canonicalJson(CONFIG_DUMP_TYPE, JSON.parse(text)));
    if (roundTripped !== text) assert.fixture(roundTripped, text, `${rel(file)} is not canonical Envoy JSON`);
  }
});

test('translation is deterministic: a second run gives identical bytes', () => {
  const again = goldenCases();
  assert.equal(
    again.map((c) => c.actual),
    cases.map((c) => c.actual),
  );
});

test.run();
