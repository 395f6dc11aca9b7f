// Running the meshlite CLI as a child process against a store, for the
// apply/get/delete tests: asynchronous, so etcd (a child of the test) keeps
// being read while it runs.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `onStderr` sees stderr so far, each time more arrives. */
export function runMeshlite(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
  onStderr?: (text: string) => void,
): Promise<CliRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    onStderr?.(stderr);
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started })));
}

/** A VirtualService `name` (in default) routing `host` on `gateway` to httpbin. */
export function routeYaml(host: string, gateway: string, name = 'extra'): string {
  return `# routes for ${host}
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${host}]
  gateways: [${gateway}]
  http:
  - route:
    - destination: {host: httpbin, port: {number: 8000}}
`;
}
