// Watches the config paths and reloads on change (debounced). A reload either
// yields a whole new valid config or the list of problems; the caller keeps
// serving the last good one in the second case.
import { type FSWatcher, watch } from 'node:fs';
import type { ConfigIssue } from '../config/diagnostics.js';
import { loadConfig, type LoadResult } from '../config/load-config.js';

export interface ConfigWatcherOptions {
  paths: readonly string[];
  debounceMs?: number;
  onLoad(result: LoadResult, reason: string): void;
}

export class ConfigWatcher {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private changed = new Set<string>();

  constructor(private readonly opts: ConfigWatcherOptions) {}

  /** Loads once now, then on every change. */
  start(): LoadResult {
    const first = loadConfig(this.opts.paths);
    this.opts.onLoad(first, 'startup');
    for (const path of this.opts.paths) {
      const watcher = watch(path, { recursive: true, persistent: false }, (_event, file) => this.schedule(file ? String(file) : path));
      watcher.on('error', () => this.schedule(path));
      this.watchers.push(watcher);
    }
    return first;
  }

  /** Reload now (used by tests and SIGHUP). */
  reload(reason = 'manual reload'): LoadResult {
    const result = loadConfig(this.opts.paths);
    this.opts.onLoad(result, reason);
    return result;
  }

  stop(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  private schedule(file: string): void {
    this.changed.add(file);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const files = [...this.changed].sort();
      this.changed.clear();
      this.reload(`changed: ${files.join(', ')}`);
    }, this.opts.debounceMs ?? 100);
    this.timer.unref();
  }
}

export type ConfigStatus =
  | { state: 'ok'; generation: number; loadedAt: number; files: readonly string[] }
  | { state: 'rejected'; generation: number; loadedAt: number; files: readonly string[]; rejectedAt: number; issues: readonly ConfigIssue[] };
