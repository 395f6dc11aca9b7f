// `npm run demo` stopped the way users stop it: Ctrl-C (SIGINT to the whole
// foreground process group) or `kill` (SIGTERM to the demo alone). Either
// way every child stops after SIGTERM within the grace period (none needs
// SIGKILL), none outlives the demo, and its temp directory (CA key, token
// key) is gone.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/paths.js';
import { processAlive } from '../support/e2e/process-manager.js';

const DEMO = join(REPO_ROOT, 'dist/test/support/e2e/demo.js');

/** Every live descendant of `root` (from /proc: pid -> parent pid). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(entry), ppid);
    } catch {
      // Gone while listing.
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, ppid] of parent) {
      if (ppid === pid) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return out;
}

interface Demo {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDemo(): Demo {
  // Its own process group, so a signal to the group reaches what a terminal's Ctrl-C would.
  const child = spawn(process.execPath, [DEMO], { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  process.once('exit', () => processAlive(child.pid!) && process.kill(-child.pid!, 'SIGKILL'));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function until<T>(check: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await sleep(50);
  }
}

async function stopDemo(signal: 'SIGINT' | 'SIGTERM', target: 'group' | 'demo'): Promise<void> {
  const demo = startDemo();
  const pid = demo.child.pid!;
  const exitedEarly = () => demo.child.exitCode !== null || demo.child.signalCode !== null;
  const dir = await until(
    () =>
      exitedEarly() ? 'exited' : /Ctrl-C stops everything/.test(demo.stdout()) ? /^Logs: (\S+)$/m.exec(demo.stdout())?.[1] : undefined,
    60_000,
    () => `the demo did not come up\n${demo.stdout()}\n${demo.stderr()}`,
  );
  assert.ok(dir !== 'exited', `the demo exited before it was up:\n${demo.stdout()}\n${demo.stderr()}`);
  assert.ok(existsSync(join(dir, 'state', 'ca')), `the demo's temp dir ${dir} holds its CA`);
  const children = descendants(pid);
  assert.ok(children.length >= 8, `meshlite, 4 Envoys and 3 apps run under the demo: ${children.length} descendants`);

  process.kill(target === 'group' ? -pid : pid, signal);
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    demo.exited,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), 30_000);
    }),
  ]);
  clearTimeout(timer);
  assert.ok(exit, `the demo did not exit within 30 s of ${signal}\n${demo.stderr()}`);
  assert.equal(exit, { code: signal === 'SIGINT' ? 130 : 143, signal: null }, demo.stderr());
  assert.match(demo.stderr(), `[e2e] ${signal}: stopping`);
  assert.match(
    demo.stderr(),
    /\[e2e\] stopped \d+ process\(es\) gracefully\n/,
    `every child stopped after SIGTERM, none SIGKILLed:\n${demo.stderr()}`,
  );
  assert.not.match(demo.stderr(), 'SIGKILLed');
  const survivors = children.filter(processAlive);
  assert.equal(survivors, [], `no child of the demo survives it: ${survivors.join(', ')}`);
  assert.not.ok(existsSync(dir), `the demo removed ${dir}`);
}

test('Ctrl-C (SIGINT to the process group): children stopped gracefully, temp dir removed', async () => {
  await stopDemo('SIGINT', 'group');
});

test('SIGTERM to the demo alone: it stops its children gracefully and removes its temp dir', async () => {
  await stopDemo('SIGTERM', 'demo');
});

test.run();
