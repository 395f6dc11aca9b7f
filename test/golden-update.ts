// `npm run golden:update`: rewrites every golden from the current translation
// and deletes orphans. Read the git diff before committing it.
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { goldenCases, goldenFiles } from './support/golden-cases.js';
import { GOLDEN_DIR, REPO_ROOT } from './support/paths.js';

const cases = goldenCases();
const wanted = new Set(cases.map((c) => c.goldenPath));
let written = 0;
let unchanged = 0;
for (const c of cases) {
  mkdirSync(dirname(c.goldenPath), { recursive: true });
  if (existsSync(c.goldenPath) && readFileSync(c.goldenPath, 'utf8') === c.actual) {
    unchanged++;
    continue;
  }
  writeFileSync(c.goldenPath, c.actual);
  written++;
  console.log(`wrote   ${relative(REPO_ROOT, c.goldenPath)}`);
}
let removed = 0;
for (const file of goldenFiles()) {
  if (wanted.has(file)) continue;
  rmSync(file, { recursive: true });
  removed++;
  console.log(`removed ${relative(REPO_ROOT, file)}`);
}
for (const dir of existsSync(GOLDEN_DIR) ? readdirSync(GOLDEN_DIR) : []) {
  const path = `${GOLDEN_DIR}/${dir}`;
  if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
}
console.log(`goldens: ${written} written, ${unchanged} unchanged, ${removed} removed`);
