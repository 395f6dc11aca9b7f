// runner: long
// The README's first mesh on one host, run exactly as printed there:
// examples/first-mesh/try-it.sh starts meshlite, two apps and two agents with
// real Envoys, makes three calls with curl and prints `meshlite matrix`. The
// calls must give what the README promises, the predicted matrix must agree
// with them, and nothing the script started may outlive it.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { envoyOrThrow } from '../support/envoy-binary.js';
import { REPO_ROOT } from '../support/paths.js';
import { until } from '../support/poll.js';

const SCRIPT = join(REPO_ROOT, 'examples/first-mesh/try-it.sh');
// The example's addresses are this file's block (the script and the YAML spell them out).
const WEB = loopbackAddress('e2e/first-mesh.test.ts', 1);

function runScript(): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  return new Promise((resolve, reject) => {
    // Its own process group: the script ends with `kill 0`, which must reach its children only.
    const child = spawn('sh', [SCRIPT], { detached: true, env: { ...process.env, ENVOY_BIN: envoyOrThrow() } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL');
      reject(new Error(`try-it.sh did not finish in 90 s\n${stdout}\n${stderr}`));
    }, 90_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, pid: child.pid! });
    });
  });
}

test('the README shows try-it.sh line for line', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const body = readFileSync(SCRIPT, 'utf8')
    .split('\n')
    .slice(2)
    .filter((l) => l.trim() !== '');
  for (const line of body) assert.ok(readme.includes(`    ${line}\n`), `README lacks: ${line}`);
  assert.ok(WEB.startsWith('127.94.'), 'the example lives in block 94');
});

test('try-it.sh: web -> api 200 over mTLS, api -> api 403, plaintext reset, and matrix predicts the same', async () => {
  const r = await runScript();
  assert.is(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^web -> api: +200$/m, r.stdout);
  assert.match(r.stdout, /^api -> api: +403$/m, r.stdout);
  assert.match(r.stdout, /^no sidecar -> api: +000$/m, r.stdout);
  // The table row of each client: its cell for api (second column) and web (third).
  const row = (client: string) => r.stdout.split('\n').find((l) => l.trimStart().startsWith(client)) ?? '';
  assert.match(row('shop/web'), /200 mTLS\s+200 mTLS/, r.stdout);
  assert.match(row('shop/api'), /403 mTLS\s+200 mTLS/, r.stdout);
  // `kill 0` at exit took every child with it (serve, both agents and their Envoys, the apps).
  const leftovers = await livingGroup(r.pid);
  assert.equal(leftovers, [], `processes of the script still alive: ${leftovers.join(' ')}`);
});

/** Live processes whose process group is `pgid` (from /proc: the fifth field of stat). */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...: comm may hold spaces, so read after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
    } catch {
      // Gone while listing.
    }
  }
  return members;
}

/** Members of the script's group still alive once SIGTERMed children had 15 s to finish. */
function livingGroup(pgid: number): Promise<number[]> {
  return until("the script's processes to exit", () => (groupMembers(pgid).length === 0 ? [] : undefined), 15_000).catch(() =>
    groupMembers(pgid),
  );
}

test.run();
