// Loads config (with the mesh-level checks and the analysis) in a worker thread. The worker lives for one load, so the
// memory a large (or hostile) file took is returned with it; a worker that
// dies (out of memory, a bug) yields a rejected load, never an exception.
import { Worker } from 'node:worker_threads';
import type { LoadOptions, LoadResult } from '../config/load-config.js';
import type { ConfigText } from '../config/load-texts.js';
import type { LoadRequest } from './analyzed-load.js';
import { analyzedLoad } from './analyzed-load.js';

export interface ConfigLoader {
  load(paths: readonly string[]): Promise<LoadResult>;
}

export interface BackgroundLoaderOptions extends LoadOptions {
  /** Heap limit of the worker; over it the load fails instead of the process. */
  maxHeapMb?: number;
  /** Read-only resources of a registry (Marathon), loaded with every config as if they were more files. */
  registryTexts?: () => readonly ConfigText[];
}

const WORKER_URL = new URL('./config-load-worker.js', import.meta.url);

export class BackgroundConfigLoader implements ConfigLoader {
  constructor(private readonly options: BackgroundLoaderOptions = {}) {}

  load(paths: readonly string[]): Promise<LoadResult> {
    const registry = this.options.registryTexts?.() ?? [];
    return this.run({ paths, registry, options: this.loadOptions() }, paths.join(', '));
  }

  /** Named texts (a store's values) instead of files. */
  loadTexts(texts: readonly ConfigText[]): Promise<LoadResult> {
    const registry = this.options.registryTexts?.() ?? [];
    return this.run({ texts: [...texts, ...registry], options: this.loadOptions() }, 'the store');
  }

  private loadOptions(): LoadOptions {
    const { maxHeapMb: _, registryTexts: __, ...options } = this.options;
    return options;
  }

  private run(request: LoadRequest, source: string): Promise<LoadResult> {
    const maxHeapMb = this.options.maxHeapMb ?? 2048;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: LoadResult) => {
        if (settled) return;
        settled = true;
        resolve(result);
        void worker.terminate();
      };
      const worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb }, stdout: false, stderr: false });
      worker.once('message', (result: LoadResult) => finish(result));
      worker.once('error', (err) => finish(failedLoad(source, `the config could not be loaded: ${describeWorkerError(err)}`)));
      worker.once('exit', (code) => finish(failedLoad(source, `the config loader stopped (exit code ${code}) before finishing`)));
      worker.postMessage(request);
    });
  }
}

/** Loads on the calling thread (CLI commands, tests). */
export class InlineConfigLoader implements ConfigLoader {
  constructor(private readonly options: LoadOptions = {}) {}

  async load(paths: readonly string[]): Promise<LoadResult> {
    return analyzedLoad({ paths, options: this.options });
  }
}

function failedLoad(source: string, message: string): LoadResult {
  return {
    ok: false,
    issues: [{ file: source, line: 0, column: 0, path: '', message }],
    totalIssues: 1,
    files: [],
    summaries: [],
  };
}

function describeWorkerError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') return 'it needs more memory than the loader may use (is a file unreasonably large?)';
  return err.message;
}
