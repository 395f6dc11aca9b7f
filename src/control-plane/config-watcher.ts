// Watches the config paths and reloads on change (debounced). A reload either
// yields a whole new valid config or the list of problems; the caller keeps
// serving the last good one in the second case.
//
// Editors and `cat > file` save in place: the file is truncated, then written.
// Read in between, it is empty or cut short, and a valid-looking partial file
// would drop resources (a DENY policy, every cluster). So a change in which a
// file shrank, lost documents or vanished is applied only once the files have
// been quiet for `settleMs`; a rewrite within that time is applied as a normal
// edit and the short state is never seen by a proxy.
//
// The exception is a file replaced whole: written under another name and
// renamed over the old one (an atomic save), it is complete the moment its
// name points at it. The directory watch tells the two apart: every write to
// a file under its own name raises a "change" event for that name, a rename
// onto it only "rename" events. A shrunk file whose events since it was last
// read were renames alone, and whose size is still what was read, is applied
// at once; an emptied or deleted file always waits.
import { type FSWatcher, readdirSync, realpathSync, statSync, watch } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ConfigLoader } from './config-loader.js';
import type { LoadResult } from '../config/load-config.js';
import type { FileSummary } from '../config/yaml-files.js';
import type { Logger } from '../util/logger.js';
import { appendAll } from '../util/append-all.js';
import { DebouncedBatch, describeChanges } from '../util/debounced-batch.js';
import { nextLoopTurn } from '../util/time-slicer.js';

export const DEFAULT_SETTLE_MS = 1000;

export interface ConfigWatcherOptions {
  paths: readonly string[];
  loader: ConfigLoader;
  logger?: Logger;
  debounceMs?: number;
  /** How long the files must be quiet before a shrinking change is applied. */
  settleMs?: number;
  onLoad(result: LoadResult, reason: string): void;
}

/** A file of the last applied config that is now smaller, holds fewer documents, or is gone. */
export interface ShrunkFile {
  file: string;
  change: 'deleted' | 'emptied' | 'fewer documents' | 'smaller';
}

export class ConfigWatcher {
  /** One non-recursive watcher per real directory: set up synchronously, and it follows symlinks. */
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly changes: DebouncedBatch;
  private stopped = false;
  private active = false;
  private missedChanges: string[] = [];
  private lastEventAt = 0;
  private settleTimer: NodeJS.Timeout | undefined;
  private waitingFor: { files: ShrunkFile[]; until: number } | undefined;
  /** The files of the last valid config passed on: what "shrank" is measured against. */
  private applied = new Map<string, FileSummary>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Per real path, the kinds of event seen since the current load began (`rename` or `change`). */
  private events = new Map<string, Set<string>>();

  constructor(private readonly opts: ConfigWatcherOptions) {
    this.changes = new DebouncedBatch(opts.debounceMs ?? 100, (files) => {
      if (!this.active) {
        appendAll(this.missedChanges, files);
        return;
      }
      this.watchDirectories();
      void this.load(describeChanges(files), true);
    });
  }

  /** Starts watching now; changes are collected until `activate`. */
  watchNow(): void {
    this.watchDirectories();
  }

  /**
   * From now on changes reload. `applied` is the load the caller applied first
   * (changes seen while it was applied reload at once).
   */
  activate(applied: LoadResult): void {
    this.remember(applied);
    this.active = true;
    const missed = this.missedChanges.splice(0);
    if (missed.length > 0) void this.load(describeChanges(missed), true);
  }

  /** Watches and loads once; every later change reloads. */
  async start(): Promise<LoadResult> {
    this.watchNow();
    const first = await this.opts.loader.load(this.opts.paths);
    this.opts.onLoad(first, 'startup');
    this.activate(first);
    return first;
  }

  /** Reload now, without waiting for files to settle (SIGHUP: the operator says the files are ready). */
  reload(reason = 'manual reload'): Promise<LoadResult> {
    return this.load(reason, false);
  }

  /** What a pending shrinking change is waiting for (for /debug/configz). */
  pendingSettle(): { files: ShrunkFile[]; until: number } | undefined {
    return this.waitingFor;
  }

  stop(): void {
    this.stopped = true;
    this.changes.cancel();
    clearTimeout(this.settleTimer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /** Loads one at a time, in order; resolves to what was loaded (passed on, or held back to settle). */
  private load(reason: string, settle: boolean): Promise<LoadResult> {
    const next = this.queue.then(() => this.loadNow(reason, settle));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async loadNow(reason: string, settle: boolean): Promise<LoadResult> {
    clearTimeout(this.settleTimer);
    this.waitingFor = undefined;
    const eventsBefore = this.events;
    this.events = new Map();
    const result = await this.opts.loader.load(this.opts.paths);
    if (this.stopped) return result;
    let shrunk = shrunkFiles(this.applied, result.summaries);
    const settleMs = this.opts.settleMs ?? DEFAULT_SETTLE_MS;
    if (settle && shrunk.length > 0 && Date.now() - this.lastEventAt < settleMs) {
      shrunk = await this.withoutWholeReplacements(shrunk, result, eventsBefore, reason);
      if (this.stopped) return result;
    }
    const quietFor = Date.now() - this.lastEventAt;
    if (settle && shrunk.length > 0 && quietFor < settleMs) {
      const waitMs = settleMs - quietFor;
      this.waitingFor = { files: shrunk, until: Date.now() + waitMs };
      this.opts.logger?.info(
        { reason, files: shrunk.map((s) => `${s.file} (${s.change})`), waitMs },
        'a config file shrank, emptied or vanished: waiting for the files to settle before applying (an in-place save may still be writing)',
      );
      this.settleTimer = setTimeout(() => void this.load(`${reason}; settled for ${settleMs} ms`, true), waitMs);
      this.settleTimer.unref();
      return result;
    }
    this.remember(result);
    this.opts.onLoad(result, reason);
    return result;
  }

  /**
   * The shrunk files that may still be mid-write: those not replaced whole by
   * a rename since they were last read. A write queued before the read has its
   * event delivered within a whole turn of the event loop (I/O polled), so one
   * passes before the events are judged; the size is checked again for a write after.
   */
  private async withoutWholeReplacements(
    shrunk: ShrunkFile[],
    result: LoadResult,
    eventsBefore: ReadonlyMap<string, ReadonlySet<string>>,
    reason: string,
  ): Promise<ShrunkFile[]> {
    const candidates = shrunk.filter((s) => s.change === 'smaller' || s.change === 'fewer documents');
    if (candidates.length === 0) return shrunk;
    await nextLoopTurn();
    const readBytes = new Map(result.summaries.map((s) => [s.file, s.bytes]));
    const replaced = new Set<ShrunkFile>();
    for (const s of candidates) {
      const real = realPathOf(s.file);
      if (real === undefined) continue;
      const kinds = new Set([...(eventsBefore.get(real) ?? []), ...(this.events.get(real) ?? [])]);
      if (!kinds.has('rename') || kinds.has('change') || sizeOf(real) !== readBytes.get(s.file)) continue;
      replaced.add(s);
    }
    if (replaced.size === 0) return shrunk;
    this.opts.logger?.info(
      { reason, files: [...replaced].map((s) => `${s.file} (${s.change})`) },
      'a config file shrank but was replaced whole by a rename (an atomic save): applying without waiting to settle',
    );
    return shrunk.filter((s) => !replaced.has(s));
  }

  private remember(result: LoadResult): void {
    if (result.ok) this.applied = new Map(result.summaries.map((s) => [s.file, s]));
  }

  /** Watches every directory under the config paths (a file path: its directory), adding new ones. */
  private watchDirectories(): void {
    for (const dir of configDirectories(this.opts.paths)) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (event, file) => this.schedule(file ? join(dir, String(file)) : dir, event));
        watcher.on('error', () => {
          watcher.close();
          this.watchers.delete(dir);
          this.schedule(dir, 'error');
        });
        this.watchers.set(dir, watcher);
      } catch {
        // Vanished between listing and watching: the next change re-scans.
      }
    }
  }

  private schedule(file: string, event: string): void {
    if (this.stopped) return;
    this.lastEventAt = Date.now();
    const kinds = this.events.get(file) ?? new Set<string>();
    kinds.add(event);
    this.events.set(file, kinds);
    this.changes.add(file);
  }
}

/** The files of `before` that `now` has smaller, with fewer documents, or not at all. */
export function shrunkFiles(before: ReadonlyMap<string, FileSummary>, now: readonly FileSummary[]): ShrunkFile[] {
  const current = new Map(now.map((s) => [s.file, s]));
  const out: ShrunkFile[] = [];
  for (const [file, was] of before) {
    const is = current.get(file);
    if (!is) out.push({ file, change: 'deleted' });
    else if (is.documents === 0 && was.documents > 0) out.push({ file, change: 'emptied' });
    else if (is.documents < was.documents) out.push({ file, change: 'fewer documents' });
    else if (is.bytes < was.bytes) out.push({ file, change: 'smaller' });
  }
  return out;
}

/** A loaded file's real path (the loader names files relative to the working directory). */
function realPathOf(file: string): string | undefined {
  try {
    return realpathSync(resolve(file));
  } catch {
    return undefined;
  }
}

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

function configDirectories(paths: readonly string[]): string[] {
  const dirs = new Set<string>();
  const walk = (path: string): void => {
    let real: string;
    try {
      real = realpathSync(path);
      if (dirs.has(real)) return;
      if (!statSync(real).isDirectory()) {
        dirs.add(dirname(real));
        return;
      }
    } catch {
      return; // dangling link, loop or vanished entry: the loader reports it
    }
    dirs.add(real);
    let entries: string[] = [];
    try {
      entries = readdirSync(real);
    } catch {
      return;
    }
    for (const entry of entries) if (!entry.startsWith('.')) walk(join(real, entry));
  };
  for (const path of paths) walk(path);
  return [...dirs].sort();
}
