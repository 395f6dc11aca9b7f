// The runner: a check that throws is an Info finding naming it (the others
// still report), findings come sorted by file, line and code, and every
// example config analyzes without an Error but the one that shows a mistake.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analyzeConfig, CHECKS } from '../../src/analyze/analyze-config.js';
import { formatFinding } from '../../src/analyze/finding.js';
import { loadConfigTexts } from '../../src/config/load-texts.js';
import { loadMeshConfig } from '../../src/control-plane/load-mesh.js';
import { EXAMPLES_DIR } from '../support/paths.js';
import { analyze, BASE, codes, destinationRule, service } from './analyze-fixtures.js';

test('a check that throws becomes ML0901 (Info) naming it; the other checks still report', () => {
  const loaded = loadConfigTexts([{ name: 'a.yaml', text: [...BASE, service('ghost', 'bar')].join('---\n') }]);
  assert.ok(loaded.ok);
  const findings = analyzeConfig(loaded.config, {
    checks: {
      broken: () => {
        throw new Error('boom');
      },
      selectors: CHECKS.selectors!,
    },
  });
  assert.equal(
    findings.map((f) => `${f.code} ${f.severity}`),
    ['ML0901 Info', 'ML0203 Warning'],
  );
  assert.match(findings[0]!.message, /the check "broken" could not run \(boom\)/);
});

test('without a locator a finding sits at the first line of its resource; order is file, line, code', () => {
  const text = [...BASE, destinationRule('z', 'bar', { host: 'nowhere' }), service('ghost', 'bar')].join('---\n');
  const loaded = loadConfigTexts([{ name: 'a.yaml', text }]);
  assert.ok(loaded.ok);
  const findings = analyzeConfig(loaded.config);
  assert.equal(codes(findings), ['ML0301', 'ML0203']);
  const starts = text.split('\n').flatMap((l, i) => (l.startsWith('apiVersion') ? [i + 1] : []));
  assert.equal(
    findings.map((f) => f.line),
    [starts[3], starts[4]],
  );
  assert.equal(analyzeConfig(loaded.config), findings, 'the same config gives the same findings');
});

test('findings with a locator point at the field (column too)', () => {
  const [f] = analyze(...BASE, destinationRule('z', 'bar', { host: 'nowhere' }));
  assert.is(f!.column, 9, '`  host: nowhere` -> the value starts in column 9');
});

/** Examples that show a mistake on purpose, and the findings they must give. */
const MEANT_TO_FAIL: Record<string, string[]> = { 's3-dr-disable': ['ML0101'] };

test('every example analyzes without an Error finding (but the one that demonstrates ML0101); Warnings are listed', () => {
  const warnings: string[] = [];
  for (const name of readdirSync(EXAMPLES_DIR).sort()) {
    const loaded = loadMeshConfig([join(EXAMPLES_DIR, name)]);
    assert.ok(loaded.ok, `${name} validates`);
    const findings = analyzeConfig(loaded.config);
    const errors = findings.filter((f) => f.severity === 'Error').map((f) => f.code);
    assert.equal(errors, MEANT_TO_FAIL[name] ?? [], `${name}: ${findings.map(formatFinding).join('\n')}`);
    for (const f of findings) if (f.severity !== 'Error') warnings.push(`${name}: ${formatFinding(f)}`);
  }
  // Reviewers: these are the non-Error findings on the examples (none today).
  assert.equal(warnings, []);
});

test.run();
