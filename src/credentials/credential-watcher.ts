// Follows the secrets directory: a non-recursive fs.watch on every real
// directory that holds a secret's files (symlinks resolved, so a Kubernetes
// `..data` swap is seen where the rename happens), a debounced re-read, and a
// periodic re-check so expiry shows up without a file change. Only secrets
// whose content, errors or warnings changed are reported.
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { DebouncedBatch, describeChanges } from '../util/debounced-batch.js';
import type { CredentialStore } from './credential-store.js';

export interface CredentialLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface CredentialWatcherOptions {
  store: CredentialStore;
  /** Wait this long after the last file event before re-reading; default 100 ms. */
  debounceMs?: number;
  /** Re-read this often even without events (expiry, missed events); default 60 s, 0: never. */
  resyncMs?: number;
  logger?: CredentialLogger;
  /** Secrets added, removed or changed (never called with an empty list). */
  onChange(names: string[], reason: string): void;
}

export class CredentialWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private parentWatcher: FSWatcher | undefined;
  private resync: NodeJS.Timeout | undefined;
  private readonly events: DebouncedBatch;
  private stopped = false;
  private directoryErrors = '';

  constructor(private readonly opts: CredentialWatcherOptions) {
    this.events = new DebouncedBatch(opts.debounceMs ?? 100, (paths) => this.reload(describeChanges(paths)));
  }

  /** Reads the directory and starts watching; returns the names of the secrets found. */
  start(): string[] {
    this.watchParent();
    this.syncWatchers([resolve(this.opts.store.directory)]);
    const names = this.read('startup', false);
    const resyncMs = this.opts.resyncMs ?? 60_000;
    if (resyncMs > 0) {
      this.resync = setInterval(() => this.reload('periodic re-check'), resyncMs);
      this.resync.unref();
    }
    return names;
  }

  /** Re-reads now; reports and returns the secrets that changed. */
  reload(reason = 'manual reload'): string[] {
    if (this.stopped) return [];
    return this.read(reason, true);
  }

  stop(): void {
    this.stopped = true;
    this.events.cancel();
    clearInterval(this.resync);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    this.parentWatcher?.close();
    this.parentWatcher = undefined;
  }

  watchedDirectories(): string[] {
    return [...this.watchers.keys()].sort();
  }

  private read(reason: string, notify: boolean): string[] {
    const { store } = this.opts;
    const changed = new Set<string>();
    // A directory discovered by this read was not watched while it was read: read once more.
    for (let pass = 0; pass < 2; pass++) {
      for (const name of store.reload()) changed.add(name);
      if (!this.syncWatchers(store.set.watchDirectories)) break;
    }
    const names = [...changed].sort();
    const directoryErrors = store.set.directoryErrors.join('\n');
    if (directoryErrors !== this.directoryErrors) {
      this.directoryErrors = directoryErrors;
      if (directoryErrors)
        this.opts.logger?.warn(
          { directory: store.directory, errors: store.set.directoryErrors },
          'secrets directory unusable; no credential is served',
        );
      else if (reason !== 'startup') this.opts.logger?.info({ directory: store.directory }, 'the secrets directory is readable again');
    }
    if (names.length > 0) this.log(names, reason);
    if (notify && names.length > 0) this.opts.onChange(names, reason);
    return names;
  }

  private log(names: readonly string[], reason: string): void {
    const { logger, store } = this.opts;
    if (!logger) return;
    const set = store.set;
    const present = names.filter((n) => set.credentials.has(n));
    logger.info(
      { directory: set.directory, reason, changed: present, removed: names.filter((n) => !set.credentials.has(n)) },
      'read the credentials in the secrets directory',
    );
    for (const name of present) {
      const c = set.credentials.get(name)!;
      if (c.errors.length > 0)
        logger.warn({ credential: name, errors: c.errors, warnings: c.warnings }, 'credential is invalid and will not be served');
      else if (c.warnings.length > 0) logger.warn({ credential: name, warnings: c.warnings }, 'credential is served, with warnings');
    }
  }

  /** Watches exactly `dirs`; true when a new directory was added. */
  private syncWatchers(dirs: readonly string[]): boolean {
    if (this.stopped) return false;
    const wanted = new Set(dirs);
    for (const [dir, w] of this.watchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    let added = false;
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, (_event, file) => this.schedule(file ? `${dir}/${String(file)}` : dir));
        w.on('error', () => {
          w.close();
          if (this.watchers.get(dir) === w) this.watchers.delete(dir);
          this.schedule(dir);
        });
        this.watchers.set(dir, w);
        added = true;
      } catch {
        // Vanished between reading and watching: the next event or re-check re-reads.
      }
    }
    return added;
  }

  /** The parent sees the secrets directory itself appear, vanish or be swapped (a symlink). */
  private watchParent(): void {
    const dir = resolve(this.opts.store.directory);
    const name = basename(dir);
    try {
      this.parentWatcher = watch(dirname(dir), { persistent: false }, (_event, file) => {
        if (file === null || String(file) === name) this.schedule(dir);
      });
      this.parentWatcher.on('error', () => this.parentWatcher?.close());
    } catch {
      // No parent to watch: events inside the directory still work.
    }
  }

  private schedule(path: string): void {
    if (!this.stopped) this.events.add(path);
  }
}
