// The client worker processes of the push benchmarks (push-client.ts), seen
// from the benchmark: messages from a worker are queued until something
// waits for them, and a worker that dies fails every wait at once.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromWorker, ToWorker } from './push-protocol.js';

const CLIENT = fileURLToPath(new URL('./push-client.js', import.meta.url));
const log = (msg: string) => process.stderr.write(`[push] ${msg}\n`);

/** A forked client process and the messages it sent that nobody consumed yet. */
export class WorkerHandle {
  readonly child: ChildProcess;
  private inbox: FromWorker[] = [];
  private waiters: { match: (m: FromWorker) => boolean; resolve: (m: FromWorker) => void }[] = [];
  readonly streamFailures: string[] = [];
  private failed: ((err: Error) => void)[] = [];
  stopping = false;

  constructor(readonly index: number) {
    this.child = fork(CLIENT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    this.child.on('message', (m: FromWorker) => this.deliver(m));
    this.child.on('exit', (code, signal) => this.fail(`worker ${index} exited (${code ?? signal})`));
  }

  private deliver(m: FromWorker): void {
    if (m.evt === 'error') {
      // A failed stream: the client reconnects; counted and reported, not fatal.
      this.streamFailures.push(`${m.client}: ${m.message}`);
      if (this.streamFailures.length <= 3) log(`worker ${m.worker}: stream failed (reconnecting): ${m.client}: ${m.message}`);
      return;
    }
    const i = this.waiters.findIndex((w) => w.match(m));
    if (i < 0) this.inbox.push(m);
    else this.waiters.splice(i, 1)[0]!.resolve(m);
  }

  private fail(message: string): void {
    if (this.stopping) return;
    log(message);
    for (const f of this.failed.splice(0)) f(new Error(message));
  }

  send(msg: ToWorker): void {
    this.child.send(msg);
  }

  /** The next message matching `match` (already received or yet to come); rejects if the worker dies. */
  next<T extends FromWorker>(match: (m: FromWorker) => boolean, timeoutMs: number, what: string): Promise<T> {
    const i = this.inbox.findIndex(match);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0] as T);
    return new Promise<T>((resolve, reject) => {
      const waiter = { match, resolve: (m: FromWorker) => done(undefined, m) };
      const onFail = (err: Error) => done(err);
      const done = (err: Error | undefined, m?: FromWorker) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        this.failed = this.failed.filter((f) => f !== onFail);
        if (err) reject(err);
        else resolve(m as T);
      };
      const timer = setTimeout(() => done(new Error(`worker ${this.index}: no ${what} after ${timeoutMs / 1000} s`)), timeoutMs);
      this.failed.push(onFail);
      this.waiters.push(waiter);
    });
  }

  /** Every already received message matching `match`. */
  drain<T extends FromWorker>(match: (m: FromWorker) => boolean): T[] {
    const hit = this.inbox.filter(match) as T[];
    this.inbox = this.inbox.filter((m) => !match(m));
    return hit;
  }

  stop(): void {
    this.stopping = true;
    if (this.child.connected) this.send({ cmd: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    timer.unref();
  }
}
