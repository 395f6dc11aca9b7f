// Runs the proxy's Envoy for the agent: starts it, passes its output on,
// starts it again (with growing pauses) when it dies without being asked to,
// stops it on request, and reports whether it is ready to serve.
import { type ChildProcess, spawn as nodeSpawn, type SpawnOptions, type StdioOptions } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../util/logger.js';
import { envoyCommandLine } from './envoy-command-line.js';
import type { StatusCheck } from './status-server.js';

export { EnvoyArgsError, envoyCommandLine, freeLoopbackPort, pickBaseId } from './envoy-command-line.js';

export type SpawnEnvoy = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface RestartPolicy {
  /** Pause before the first restart; it doubles with each restart in a row. */
  initialMs: number;
  maxMs: number;
  /** An Envoy that ran this long before dying counts as stable: the next pause is initialMs again. */
  stableMs?: number;
}

export interface EnvoySupervisorOptions {
  envoyBin: string;
  bootstrapPath: string;
  /** The user's Envoy arguments (after `--`); see envoyCommandLine for how they meet the defaults. */
  extraArgs: readonly string[];
  baseId: number;
  /** Envoy's admin, e.g. http://127.0.0.1:15000 (the bootstrap's admin address). */
  adminUrl: string;
  /** Envoy's output is appended to <logDir>/envoy.log; without it, it goes to `output` line by line as `envoy[pid]: line`. */
  logDir?: string;
  output?: Writable;
  logger: Logger;
  restart?: RestartPolicy;
  /** How long stop() waits after its signal before SIGKILL. */
  stopGraceMs?: number;
  spawn?: SpawnEnvoy;
}

/** What the supervisor knows of its Envoy (for the agent's debug view). */
export interface EnvoyStatus {
  state: 'not started' | 'running' | 'restarting after an exit' | 'stopping' | 'stopped';
  pid?: number;
  restarts: number;
  lastExitCode: number | null;
  adminUrl: string;
  args: readonly string[];
}

export interface EnvoyReadiness {
  ready: boolean;
  detail: string;
}

const DEFAULT_RESTART: Required<RestartPolicy> = { initialMs: 1000, maxMs: 30_000, stableMs: 30_000 };
const READY_TIMEOUT_MS = 2000;

type State = 'idle' | 'running' | 'waiting' | 'stopping' | 'stopped';
const STATE_WORDS: Record<State, EnvoyStatus['state']> = {
  idle: 'not started',
  running: 'running',
  waiting: 'restarting after an exit',
  stopping: 'stopping',
  stopped: 'stopped',
};

export class EnvoySupervisor {
  /** The full command line Envoy is started with. */
  readonly args: readonly string[];
  private readonly ownBaseId: number | undefined;
  private readonly policy: Required<RestartPolicy>;
  private state: State = 'idle';
  private child: ChildProcess | undefined;
  private startedAt = 0;
  private everSpawned = false;
  private failuresInARow = 0;
  private restartCount = 0;
  private lastExitCode: number | null = null;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped: Promise<number | null> | undefined;
  private onStopped: ((code: number | null) => void) | undefined;

  /** Throws EnvoyArgsError when the extra arguments cannot be combined with the agent's. */
  constructor(private readonly opts: EnvoySupervisorOptions) {
    const line = envoyCommandLine(opts.bootstrapPath, opts.baseId, opts.extraArgs);
    this.args = line.args;
    this.ownBaseId = line.baseId;
    const r = opts.restart;
    const ms = (value: number | undefined, fallback: number) => (value !== undefined && value >= 0 ? value : fallback);
    this.policy = {
      initialMs: ms(r?.initialMs, DEFAULT_RESTART.initialMs),
      maxMs: ms(r?.maxMs, DEFAULT_RESTART.maxMs),
      stableMs: ms(r?.stableMs, DEFAULT_RESTART.stableMs),
    };
  }

  /** The running Envoy's pid; undefined between an exit and its restart. */
  get pid(): number | undefined {
    return this.state === 'running' || this.state === 'stopping' ? this.child?.pid : undefined;
  }

  /** How many times an Envoy was started again after dying. */
  get restarts(): number {
    return this.restartCount;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  status(): EnvoyStatus {
    const { pid, restartCount: restarts, lastExitCode } = this;
    return { state: STATE_WORDS[this.state], pid, restarts, lastExitCode, adminUrl: this.opts.adminUrl, args: this.args };
  }

  /** Starts Envoy; resolves to its pid, rejects when it cannot be started at all (e.g. no such binary). */
  start(): Promise<number> {
    if (this.state !== 'idle') return Promise.reject(new Error(`Envoy was already started (${this.state})`));
    return this.launch();
  }

  /**
   * Sends `signal` to Envoy and waits for it to exit (SIGKILL after the grace
   * period); no restart follows. Resolves to Envoy's exit code, null when a
   * signal ended it or none was running.
   */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.stopped) return this.stopped;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (this.state !== 'running' || !child) {
      this.state = 'stopped';
      this.stopped = Promise.resolve(this.everSpawned ? this.lastExitCode : null);
      return this.stopped;
    }
    this.state = 'stopping';
    const exited = new Promise<number | null>((resolve) => (this.onStopped = resolve));
    const grace = setTimeout(() => {
      this.opts.logger.warn({ pid: child.pid, signal }, 'Envoy did not exit in time; killing it');
      child.kill('SIGKILL');
    }, this.opts.stopGraceMs ?? 10_000);
    this.opts.logger.info({ pid: child.pid, signal }, `stopping Envoy with ${signal}`);
    child.kill(signal);
    this.stopped = exited.finally(() => clearTimeout(grace));
    return this.stopped;
  }

  /** ready() as a status-server check named "envoy". */
  readonly check: StatusCheck = async () => {
    const { ready, detail } = await this.ready();
    return { name: 'envoy', ok: ready, detail };
  };

  /** Envoy's own view (admin /ready): ready when it is LIVE. */
  async ready(): Promise<EnvoyReadiness> {
    if (this.state !== 'running') return { ready: false, detail: `envoy is not running (${STATE_WORDS[this.state]})` };
    try {
      const res = await fetch(new URL('/ready', this.opts.adminUrl), { signal: AbortSignal.timeout(READY_TIMEOUT_MS) });
      const body = (await res.text()).trim().slice(0, 200);
      return { ready: res.status === 200 && body === 'LIVE', detail: `envoy ${body || `answered HTTP ${res.status}`}` };
    } catch (err) {
      return { ready: false, detail: `envoy admin ${this.opts.adminUrl} unreachable: ${causeOf(err)}` };
    }
  }

  private launch(): Promise<number> {
    this.state = 'running';
    this.startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = this.spawnEnvoy();
    } catch (err) {
      this.child = undefined;
      this.exited(undefined, null, null, (err as Error).message);
      return Promise.reject(err);
    }
    this.child = child;
    return new Promise((resolve, reject) => {
      let spawned = false;
      let ended = false;
      child.once('spawn', () => {
        spawned = this.everSpawned = true;
        this.opts.logger.info({ pid: child.pid, restarts: this.restartCount }, 'started Envoy');
        resolve(child.pid!);
      });
      child.on('error', (err) => {
        if (spawned || ended)
          return void this.opts.logger.warn({ pid: child.pid, err: err.message }, 'the Envoy process reported an error');
        ended = true;
        reject(err);
        this.exited(child, null, null, err.message);
      });
      child.once('exit', (code, signal) => {
        if (ended) return;
        ended = true;
        this.exited(child, code, signal);
      });
    });
  }

  private spawnEnvoy(): ChildProcess {
    const spawn = this.opts.spawn ?? nodeSpawn;
    let logFd: number | undefined;
    if (this.opts.logDir) {
      try {
        logFd = openSync(join(this.opts.logDir, 'envoy.log'), 'a', 0o600);
      } catch (err) {
        this.opts.logger.warn({ err: (err as Error).message }, 'cannot open the Envoy log file; passing its output on instead');
      }
    }
    try {
      const stdio: StdioOptions = logFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd];
      const child = spawn(this.opts.envoyBin, this.args, { stdio });
      if (logFd === undefined) {
        this.passLines(child.stdout, child);
        this.passLines(child.stderr, child);
      }
      return child;
    } finally {
      // The child has its own copy of the descriptor once spawn returns.
      if (logFd !== undefined) closeSync(logFd);
    }
  }

  private passLines(stream: Readable | null, child: ChildProcess): void {
    if (!stream) return;
    const output = this.opts.output ?? process.stderr;
    stream.on('error', () => undefined);
    createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
      output.write(`envoy[${child.pid ?? '?'}]: ${line}\n`);
    });
  }

  private exited(child: ChildProcess | undefined, code: number | null, signal: NodeJS.Signals | null, spawnError?: string): void {
    if (child !== this.child) return;
    const uptimeMs = Date.now() - this.startedAt;
    this.lastExitCode = code;
    if (this.state === 'stopping') {
      this.state = 'stopped';
      this.opts.logger.info({ pid: child?.pid, code, signal }, 'Envoy exited after being asked to stop');
      this.removeSharedMemory();
      this.onStopped?.(code);
      return;
    }
    if (!this.everSpawned) {
      this.state = 'stopped';
      return;
    }
    if (uptimeMs >= this.policy.stableMs) this.failuresInARow = 0;
    const delayMs = Math.min(this.policy.maxMs, this.policy.initialMs * 2 ** Math.min(this.failuresInARow, 30));
    this.failuresInARow++;
    this.state = 'waiting';
    const why = spawnError ? { err: spawnError } : { pid: child?.pid, code, signal, uptimeMs };
    this.opts.logger.warn({ ...why, restartInMs: delayMs, restarts: this.restartCount }, 'Envoy exited unexpectedly; restarting it');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restartCount++;
      // A failure to start is handled as an exit (another pause, another try).
      this.launch().catch(() => undefined);
    }, delayMs);
  }

  // Envoy leaves the shared memory of its base id behind when it exits (so a
  // hot restart could take it over); once no restart follows, nothing will.
  // Only after an Envoy that was running when asked to stop: one that died by
  // itself may have died because another Envoy holds the same base id.
  private removeSharedMemory(): void {
    if (this.ownBaseId === undefined || process.platform !== 'linux') return;
    try {
      rmSync(`/dev/shm/envoy_shared_memory_${this.ownBaseId * 10}`, { force: true });
    } catch {
      // Not ours to remove, or already gone.
    }
  }
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}
