// Follows `<stateDir>/token-revocations.json` while meshlite serves: fs.watch
// on the directory (the file is replaced by rename, so watching the file
// itself would lose it) plus a cheap stat poll in case events are missed. A
// file that turns invalid or vanishes never un-revokes anything: the last good
// list stays in force and the problem is logged.
import { type FSWatcher, watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { readRevocations, REVOCATIONS_FILE, RevocationList, revocationsPath } from '../identity/token-revocations.js';

export interface RevocationLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RevocationWatcherOptions {
  stateDir: string;
  logger: RevocationLogger;
  /** Fallback poll interval; default 500 ms. */
  pollMs?: number;
  /** Watch the directory for events (default); without it only the poll notices changes. */
  watchDirectory?: boolean;
  /** A new valid list is in force (streams it revokes should be closed). */
  onChange(list: RevocationList): void;
}

/** Where a running meshlite gets its revocations: the state directory's file, or the store. */
export interface RevocationSource {
  readonly current: RevocationList;
  start(): void;
  stop(): void;
}

export class RevocationWatcher implements RevocationSource {
  private list: RevocationList;
  private signature: string;
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** The last problem logged, so a persisting one is logged once. */
  private reported = '';

  private constructor(
    private readonly options: RevocationWatcherOptions,
    list: RevocationList,
    signature: string,
  ) {
    this.list = list;
    this.signature = signature;
  }

  /** Reads the file once; throws when it exists but is invalid (serve must not start blind to revocations). */
  static async open(options: RevocationWatcherOptions): Promise<RevocationWatcher> {
    const signature = await signatureOf(revocationsPath(options.stateDir));
    const read = await readRevocations(options.stateDir);
    if (!read.ok)
      throw new Error(`${read.error}; meshlite will not serve without knowing which tokens are revoked: fix or restore the file`);
    if (read.value.length > 0)
      options.logger.info({ file: revocationsPath(options.stateDir), revocations: read.value.length }, 'token revocations loaded');
    return new RevocationWatcher(options, new RevocationList(read.value), signature);
  }

  get current(): RevocationList {
    return this.list;
  }

  start(): void {
    if (this.options.watchDirectory !== false) this.watchDirectory();
    this.poller = setInterval(() => void this.check(), this.options.pollMs ?? 500);
    this.poller.unref();
  }

  private watchDirectory(): void {
    try {
      this.watcher = watch(this.options.stateDir, (_event, filename) => {
        if (!filename || filename.toString() === REVOCATIONS_FILE) void this.check();
      });
      this.watcher.on('error', (err) => {
        this.options.logger.warn(
          { dir: this.options.stateDir, err: err.message },
          'cannot watch the state directory; polling the revocation file only',
        );
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.options.logger.warn(
        { dir: this.options.stateDir, err: (err as Error).message },
        'cannot watch the state directory; polling the revocation file only',
      );
    }
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    clearInterval(this.poller);
  }

  /** Re-reads the file if it changed; one read at a time. Resolves when done (tests). */
  check(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.reload().catch((err) =>
          this.options.logger.error({ err: String(err) }, 'reading the revocation file failed; keeping the revocations already known'),
        );
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  private async reload(): Promise<void> {
    const path = revocationsPath(this.options.stateDir);
    const signature = await signatureOf(path);
    if (signature === this.signature || this.stopped) return;
    this.signature = signature;
    const kept = { file: path, keptRevocations: this.list.size };
    if (signature === 'missing') {
      if (this.list.size > 0) this.report('missing', kept, 'revocation file vanished; the revocations already known stay in force');
      return;
    }
    const read = await readRevocations(this.options.stateDir);
    if (!read.ok)
      return this.report(
        read.error,
        { ...kept, error: read.error },
        'revocation file is invalid; the revocations already known stay in force',
      );
    this.reported = '';
    const before = JSON.stringify(this.list.entries);
    if (JSON.stringify(read.value) === before) return;
    this.list = new RevocationList(read.value);
    this.options.logger.info({ file: path, revocations: this.list.size }, 'the token revocation file changed; revocations reloaded');
    this.options.onChange(this.list);
  }

  private report(problem: string, fields: object, msg: string): void {
    if (problem === this.reported) return;
    this.reported = problem;
    this.options.logger.error(fields, msg);
  }
}

async function signatureOf(path: string): Promise<string> {
  try {
    const s = await stat(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    return `error:${(err as NodeJS.ErrnoException).code}`;
  }
}
