// Loads config (with the mesh-level checks and the analysis) in a worker thread.
// The worker is kept between loads, with the parsed YAML of the current files
// (a reload re-parses only the files that changed), while the config it holds
// stays small; after a load that read more than `recycleBytes` it is ended, so
// the memory a large (or hostile) file took is returned with it. A worker that
// dies (out of memory, a bug) yields a rejected load, never an exception.
import { Worker } from 'node:worker_threads';
import type { LoadOptions, LoadResult } from '../config/load-config.js';
import type { ConfigText } from '../config/load-texts.js';
import { YamlParseCache } from '../config/yaml-parse-cache.js';
import { analyzedLoad, type LoadRequest } from './analyzed-load.js';
import { MeshCheckMemo } from './load-mesh.js';
import type { LoadReply } from './config-load-worker.js';

export interface ConfigLoader {
  load(paths: readonly string[]): Promise<LoadResult>;
}

export interface BackgroundLoaderOptions extends LoadOptions {
  /** Heap limit of the worker; over it the load fails instead of the process. */
  maxHeapMb?: number;
  /** Read-only resources of a registry (Marathon), loaded with every config as if they were more files. */
  registryTexts?: () => readonly ConfigText[];
  /** A load that read more bytes than this ends the worker afterwards, returning its memory (default 16 MiB). */
  recycleBytes?: number;
}

const WORKER_URL = new URL('./config-load-worker.js', import.meta.url);
const RECYCLE_BYTES = 16 * 1024 * 1024;

export class BackgroundConfigLoader implements ConfigLoader {
  private worker: Worker | undefined;
  /** Loads run one after another: the worker answers one request at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 0;

  constructor(private readonly options: BackgroundLoaderOptions = {}) {}

  load(paths: readonly string[]): Promise<LoadResult> {
    return this.enqueue(() => {
      const registry = this.options.registryTexts?.() ?? [];
      return this.run({ paths, registry, options: this.loadOptions() }, paths.join(', '));
    });
  }

  /** Named texts (a store's values) instead of files. */
  loadTexts(texts: readonly ConfigText[]): Promise<LoadResult> {
    return this.enqueue(() => {
      const registry = this.options.registryTexts?.() ?? [];
      return this.run({ texts: [...texts, ...registry], options: this.loadOptions() }, 'the store');
    });
  }

  /** Ends the worker (a later load starts a new one). */
  close(): void {
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
  }

  private enqueue(load: () => Promise<LoadResult>): Promise<LoadResult> {
    const next = this.queue.then(load, load);
    this.queue = next;
    return next;
  }

  private loadOptions(): LoadOptions {
    const { maxHeapMb: _, registryTexts: __, recycleBytes: ___, parseCache: ____, ...options } = this.options;
    return options;
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const maxHeapMb = this.options.maxHeapMb ?? 2048;
    const worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb }, stdout: false, stderr: false });
    // An idle worker must not keep the process alive (a load refs it while it runs).
    worker.unref();
    // Dying while idle is no load's failure: the next load starts a new worker.
    worker.on('error', () => {});
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    this.worker = worker;
    return worker;
  }

  private run(request: LoadRequest, source: string): Promise<LoadResult> {
    const worker = this.started();
    const id = ++this.nextId;
    return new Promise((resolve) => {
      const finish = (result: LoadResult, keep: boolean) => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        worker.unref();
        if (!keep && this.worker === worker) this.close();
        resolve(result);
      };
      const onMessage = (reply: LoadReply) => {
        if (reply.id !== id) return;
        const read = reply.result.summaries.reduce((n, s) => n + s.bytes, 0);
        finish(reply.result, read <= (this.options.recycleBytes ?? RECYCLE_BYTES));
      };
      const onError = (err: Error) => finish(failedLoad(source, `the config could not be loaded: ${describeWorkerError(err)}`), false);
      const onExit = (code: number) => finish(failedLoad(source, `the config loader stopped (exit code ${code}) before finishing`), false);
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.ref();
      worker.postMessage({ id, request });
    });
  }
}

/** Loads on the calling thread (CLI commands, tests). */
export class InlineConfigLoader implements ConfigLoader {
  private readonly parseCache = new YamlParseCache();
  private readonly meshChecks = new MeshCheckMemo();

  constructor(private readonly options: LoadOptions = {}) {}

  async load(paths: readonly string[]): Promise<LoadResult> {
    return analyzedLoad({ paths, options: { parseCache: this.parseCache, ...this.options } }, this.meshChecks);
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
