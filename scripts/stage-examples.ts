// Copies examples/ into <package root>/dist/examples with every symlink
// replaced by what it points at: npm pack leaves symlinks out, and several
// examples share files through them (a base/ link, a shared services.yaml).
// Run by prepack (package root: the repo) and by the packaging test (a copy).
import { cpSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));

export function stageExamples(packageRoot: string): string {
  const target = join(packageRoot, 'dist', 'examples');
  rmSync(target, { recursive: true, force: true });
  cpSync(join(REPO_ROOT, 'examples'), target, { recursive: true, dereference: true });
  return target;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  stageExamples(resolve(process.argv[2] ?? REPO_ROOT));
}
