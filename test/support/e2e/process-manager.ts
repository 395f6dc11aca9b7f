// Child processes for end-to-end tests: each logs to its own file in a temp
// directory, every one is stopped (SIGTERM, then SIGKILL) when the test ends,
// pass or fail, and a failing test prints the tail of every log and keeps
// the directory (it holds the CA and token keys of the run, so a passing test
// removes it). SIGINT/SIGTERM (Ctrl-C) stop everything the same way and
// remove the directories before exiting.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ManagedProcess {
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;
  /** Set once the test itself stopped the process (an exit then is expected). */
  stopRequested = false;
  /** Set when it had to be killed: SIGTERM did not end it within the grace period. */
  killed = false;

  constructor(
    readonly name: string,
    readonly logPath: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      child.once('error', (err) => {
        this.exit = { code: -1, signal: null };
        resolve(this.exit);
        console.error(`[e2e] ${name}: ${err.message}`);
      });
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }

  tail(lines = 30): string {
    return this.log().trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** Polls the log until `re` matches; fails early if the process exits. */
  async waitForLog(re: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.log());
      if (m) return m;
      if (!this.running) throw new Error(`${this.name} exited (${describeExit(this.exit!)}) before logging ${re}\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not log ${re} within ${timeoutMs} ms\n${this.tail()}`);
      await sleep(50);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = STOP_GRACE_MS): Promise<Exit> {
    this.stopRequested = true;
    if (!this.running) return this.exit!;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!this.running) return;
      this.killed = true;
      this.child.kill('SIGKILL');
    }, graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

export function describeExit(e: Exit): string {
  return e.signal ? `signal ${e.signal}` : `code ${e.code}`;
}

const everyProcess = new Set<ManagedProcess>();
/** Managers whose directory is still there and not kept for a failure. */
const openManagers = new Set<ProcessManager>();
let exitHookInstalled = false;
let interrupted = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // The last resort: an exit handler cannot wait, so whatever still runs then is killed.
  process.on('exit', () => {
    for (const p of everyProcess) if (p.running) p.child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stopOnSignal(signal));
}

/**
 * Ctrl-C or SIGTERM: every child gets SIGTERM and a grace period (then
 * SIGKILL), the temp directories go (unless MESHLITE_E2E_KEEP is set or a
 * failed test kept one), then the process exits 130 / 143. A second signal
 * kills what is left at once.
 */
async function stopOnSignal(signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
  const code = signal === 'SIGINT' ? 130 : 143;
  if (interrupted) process.exit(code);
  interrupted = true;
  const managers = [...openManagers];
  const running = managers.flatMap((m) => m.all.filter((p) => p.running));
  console.error(`[e2e] ${signal}: stopping ${running.length} process(es) (SIGTERM, SIGKILL after ${STOP_GRACE_MS / 1000} s)`);
  await Promise.all(managers.map((m) => m.stopAll()));
  const killed = running.filter((p) => p.killed).map((p) => p.name);
  console.error(
    `[e2e] stopped ${running.length - killed.length} process(es) gracefully${killed.length ? `; SIGKILLed ${killed.join(', ')}` : ''}`,
  );
  for (const m of managers) {
    if (process.env.MESHLITE_E2E_KEEP) console.error(`[e2e] kept ${m.dir}`);
    else m.removeDir();
  }
  process.exit(code);
}

/** How long a stopped process gets between SIGTERM and SIGKILL. */
export const STOP_GRACE_MS = 3000;

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export class ProcessManager {
  readonly dir: string;
  private readonly processes: ManagedProcess[] = [];
  private readonly names = new Map<string, number>();
  private closed = false;

  constructor(label: string) {
    this.dir = mkdtempSync(join(tmpdir(), `meshlite-e2e-${label}-`));
    installExitHook();
    openManagers.add(this);
  }

  start(name: string, command: string, args: readonly string[], opts: StartOptions = {}): ManagedProcess {
    // A start still in flight when the test failed must not leave a process behind.
    if (this.closed) throw new Error(`not starting ${name}: the test is over`);
    const n = (this.names.get(name) ?? 0) + 1;
    this.names.set(name, n);
    const unique = n === 1 ? name : `${name}#${n}`;
    const logPath = join(this.dir, `${unique.replace(/[^\w.#-]/g, '_')}.log`);
    const fd = openSync(logPath, 'a');
    try {
      const child = spawn(command, [...args], { stdio: ['ignore', fd, fd], env: opts.env ?? process.env, cwd: opts.cwd });
      const p = new ManagedProcess(unique, logPath, child);
      this.processes.push(p);
      everyProcess.add(p);
      void p.exited.then(() => everyProcess.delete(p));
      return p;
    } finally {
      closeSync(fd);
    }
  }

  get all(): readonly ManagedProcess[] {
    return this.processes;
  }

  /** Stops everything in parallel (SIGTERM, then SIGKILL). */
  async stopAll(): Promise<void> {
    this.closed = true;
    await Promise.all(this.processes.map((p) => p.stop()));
  }

  /** The tail of every log; processes that died on their own are flagged. */
  printTails(lines = 25): void {
    const out: string[] = [`[e2e] logs in ${this.dir}`];
    for (const p of this.processes) {
      const died = p.exit && !p.stopRequested ? ` (EXITED UNEXPECTEDLY: ${describeExit(p.exit)})` : '';
      const tail = p.tail(lines);
      if (!tail && !died) continue;
      out.push(`----- ${p.name}${died}: last ${lines} lines -----`, tail);
    }
    console.error(out.join('\n'));
  }

  removeDir(): void {
    openManagers.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Leaves the directory for debugging (a failed test): a later Ctrl-C does not remove it either. */
  keepDir(): void {
    openManagers.delete(this);
    console.error(`[e2e] kept ${this.dir}`);
  }
}

/**
 * Runs `fn` with a fresh process manager. On failure it prints the log tails
 * and keeps the temp directory; in every case every process is stopped.
 */
export async function withProcesses<T>(label: string, fn: (pm: ProcessManager) => Promise<T>, timeoutMs = 150_000): Promise<T> {
  const pm = new ProcessManager(label);
  let failed = false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`e2e test "${label}" did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([fn(pm), timeout]);
  } catch (err) {
    failed = true;
    pm.printTails();
    throw err;
  } finally {
    clearTimeout(timer);
    await pm.stopAll();
    // An interrupted run removes its directory: the signal handler stops and cleans up.
    if (process.env.MESHLITE_E2E_KEEP || (failed && !interrupted)) pm.keepDir();
    else pm.removeDir();
  }
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
