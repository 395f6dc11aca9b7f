// `engines.node` in package.json must be true: every package installed for
// production (package-lock.json, dev-only ones left out) accepts the lowest
// Node.js version meshlite claims to run on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { satisfiesRange } from '../support/engine-range.js';
import { REPO_ROOT } from '../support/paths.js';

interface LockEntry {
  version?: string;
  dev?: boolean;
  engines?: { node?: string } | string[];
}

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

test('the range reader agrees with npm on the forms the lock file uses', () => {
  const cases: [string, string, boolean][] = [
    ['20.0.0', '>=20', true],
    ['20.0.0', '>=22', false],
    ['20.0.0', '^16 || ^18 || >=20', true],
    ['19.1.0', '^16 || ^18 || >=20', false],
    ['20.0.0', '6.* || 8.* || >= 10.*', true],
    ['9.0.0', '6.* || 8.* || >= 10.*', false],
    ['20.0.0', '>= 14.6', true],
    ['14.5.9', '>= 14.6', false],
    ['20.0.0', '*', true],
    ['20.0.0', '4.x || >=6.0.0', true],
    ['20.0.0', '>=18 <20', false],
  ];
  for (const [version, range, expected] of cases) assert.is(satisfiesRange(version, range), expected, `${version} in ${range}`);
});

test('package.json engines.node starts at a version this machine satisfies', () => {
  assert.match(pkg.engines.node, /^>=\d+(\.\d+){0,2}$/);
  assert.ok(satisfiesRange(process.versions.node, pkg.engines.node), `${process.versions.node} in ${pkg.engines.node}`);
});

test('every production dependency accepts the lowest Node.js version of engines.node', () => {
  const lowest = pkg.engines.node.replace(/^>=/, '');
  const refusing: string[] = [];
  let checked = 0;
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev || entry.engines === undefined || Array.isArray(entry.engines)) continue;
    const range = entry.engines.node;
    if (range === undefined) continue;
    checked++;
    if (!satisfiesRange(lowest, range)) refusing.push(`${path}@${entry.version}: node ${range}`);
  }
  assert.ok(checked > 20, `read the engines of ${checked} packages`);
  assert.equal(refusing, [], `dependencies that refuse Node ${lowest}:\n${refusing.join('\n')}`);
});

test.run();
