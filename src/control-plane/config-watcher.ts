// Watches the config paths and reloads on change (debounced). A reload either
// yields a whole new valid config or the list of problems; the caller keeps
// serving the last good one in the second case.
import { type FSWatcher, readdirSync, realpathSync, statSync, watch } from 'node:fs';
import { dirname, join } from 'node:path';
import { DebouncedBatch, describeChanges } from '../util/debounced-batch.js';
import type { ConfigIssue } from '../config/diagnostics.js';
import { loadMeshConfig as loadConfig, type LoadResult } from './load-mesh.js';

export interface ConfigWatcherOptions {
  paths: readonly string[];
  debounceMs?: number;
  onLoad(result: LoadResult, reason: string): void;
}

export class ConfigWatcher {
  /** One non-recursive watcher per real directory: set up synchronously, and it follows symlinks. */
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly changes: DebouncedBatch;
  private stopped = false;

  constructor(private readonly opts: ConfigWatcherOptions) {
    this.changes = new DebouncedBatch(opts.debounceMs ?? 100, (files) => {
      this.watchDirectories();
      this.reload(describeChanges(files));
    });
  }

  /** Starts watching, then loads once; every later change reloads. */
  start(): LoadResult {
    this.watchDirectories();
    const first = loadConfig(this.opts.paths);
    this.opts.onLoad(first, 'startup');
    return first;
  }

  /** Reload now (used by tests and SIGHUP). */
  reload(reason = 'manual reload'): LoadResult {
    const result = loadConfig(this.opts.paths);
    this.opts.onLoad(result, reason);
    return result;
  }

  stop(): void {
    this.stopped = true;
    this.changes.cancel();
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /** Watches every directory under the config paths (a file path: its directory), adding new ones. */
  private watchDirectories(): void {
    for (const dir of configDirectories(this.opts.paths)) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, (_event, file) => this.schedule(file ? join(dir, String(file)) : dir));
        watcher.on('error', () => {
          watcher.close();
          this.watchers.delete(dir);
          this.schedule(dir);
        });
        this.watchers.set(dir, watcher);
      } catch {
        // Vanished between listing and watching: the next change re-scans.
      }
    }
  }

  private schedule(file: string): void {
    if (!this.stopped) this.changes.add(file);
  }
}

function configDirectories(paths: readonly string[]): string[] {
  const dirs = new Set<string>();
  const walk = (path: string): void => {
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      return;
    }
    if (dirs.has(real)) return;
    if (!statSync(real).isDirectory()) {
      dirs.add(dirname(real));
      return;
    }
    dirs.add(real);
    for (const entry of readdirSync(real)) {
      if (entry.startsWith('.')) continue;
      const child = join(real, entry);
      try {
        if (statSync(child).isDirectory()) walk(child);
      } catch {
        // Dangling link or vanished entry.
      }
    }
  };
  for (const path of paths) walk(path);
  return [...dirs].sort();
}

export type ConfigStatus =
  | { state: 'ok'; generation: number; loadedAt: number; files: readonly string[] }
  | { state: 'rejected'; generation: number; loadedAt: number; files: readonly string[]; rejectedAt: number; issues: readonly ConfigIssue[] };
