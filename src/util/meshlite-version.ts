// The version in meshlite's package.json, found by walking up from this
// module (the compiled file sits a few directories below it).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function meshliteVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'meshlite' && typeof pkg.version === 'string') return pkg.version;
    } catch {}
    dir = dirname(dir);
  }
  return 'unknown';
}
