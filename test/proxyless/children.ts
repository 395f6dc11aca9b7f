// Child processes for the proxyless end-to-end test: meshlite serve, greeter
// servers and proxyless clients, each a real `node` process whose stdout lines
// the test reads. Every child is killed when the test process exits.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/paths.js';

export const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
export const APPS = join(REPO_ROOT, 'dist/test/support/apps');

export interface Child {
  name: string;
  proc: ChildProcess;
  lines: string[];
  stderr: string[];
  /** Resolves with the first stdout line (already printed or to come) that matches. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export function startChild(name: string, args: string[], env: Record<string, string> = {}): Child {
  // stdin stays a pipe: the greeter client stops when it closes, so no child outlives the test.
  const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(proc);
  const lines: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  let buffered = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts.filter((l) => l.length > 0));
    for (const w of waiters) w();
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    proc.on('exit', () => {
      exited = true;
      running.delete(proc);
      for (const w of waiters) w();
      resolve();
    }),
  );
  return {
    name,
    proc,
    lines,
    stderr,
    waitForLine(match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(match);
          if (found !== undefined) return done(() => resolve(found));
          if (exited)
            return done(() =>
              reject(new Error(`${name} exited before the expected line\nstdout:\n${lines.join('\n')}\nstderr:\n${stderr.join('')}`)),
            );
        };
        const timer = setTimeout(
          () =>
            done(() =>
              reject(
                new Error(
                  `${name}: no matching line within ${timeoutMs} ms\nstdout (last 20):\n${lines.slice(-20).join('\n')}\nstderr:\n${stderr.join('').slice(-4000)}`,
                ),
              ),
            ),
          timeoutMs,
        );
        const done = (finish: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          finish();
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (exited) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
    },
  };
}

export interface CallLine {
  ok: boolean;
  seq: number;
  server?: string;
  code?: string;
  details?: string;
}

/** The greeter client's JSON lines. */
export function calls(child: Child): CallLine[] {
  return child.lines.map((l) => JSON.parse(l) as CallLine);
}

/** Polls until `check` returns a value (not undefined), or fails with `describe()`. */
export async function eventually<T>(check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The client's calls from its first successful one on, once `count` of them
 * were made. Calls made while grpc still resolves the name (the first xDS
 * round trips) may time out on a loaded machine; once resolved, none may fail.
 * Fails if no call succeeds within `timeoutMs`.
 */
export async function callsAfterFirstSuccess(child: Child, count: number, timeoutMs: number): Promise<CallLine[]> {
  const describe = () => `${child.name}: last lines:\n${child.lines.slice(-5).join('\n')}\n${child.stderr.join('').slice(-2000)}`;
  await eventually(
    () => (calls(child).some((c) => c.ok) ? true : undefined),
    timeoutMs,
    () => `no call succeeded; ${describe()}`,
  );
  return eventually(
    () => {
      const all = calls(child);
      const since = all.slice(all.findIndex((c) => c.ok));
      return since.length >= count ? since : undefined;
    },
    timeoutMs,
    () => `fewer than ${count} calls after the first success; ${describe()}`,
  );
}
