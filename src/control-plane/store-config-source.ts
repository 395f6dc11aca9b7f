// Config read from the store instead of files: every key under config/ read
// at one revision, loaded as one config, then followed with a watch from that
// revision. Changes are debounced into one load; each load names the store
// revision it reflects. A compaction the watch cannot resume across, or a
// reload, reads everything again. The store being down never throws: the
// first read is retried with backoff and the last load stays what is served.
import type { StoreStatus } from '../admin/store-status.js';
import type { LoadResult } from '../config/load-config.js';
import type { EtcdStore, StoreChange, StoredValue, StoreWatch } from '../store/etcd-store.js';
import { STORE_KEYS } from '../store/store-keys.js';
import { DebouncedBatch, describeChanges } from '../util/debounced-batch.js';
import type { Logger } from '../util/logger.js';
import { loadStoredConfig, type TextConfigLoader } from './stored-config-load.js';

export interface StoreConfigSourceOptions {
  store: EtcdStore;
  loader: TextConfigLoader;
  logger?: Logger;
  /** Quiet time after a change before reloading; default 100 ms. */
  debounceMs?: number;
  /** Backoff of a failed full read: from this (default 1 s), doubling up to `retryMaxMs` (default 10 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Every load after activation, in order; awaited before the next one starts. `reason` names the store revision. */
  onLoad(result: LoadResult, reason: string): void | Promise<void>;
  /** A valid config of this store revision is now served (the first one included). */
  onServed?(revision: number): void;
}

export class StoreConfigSource {
  readonly #o: StoreConfigSourceOptions;
  readonly #batch: DebouncedBatch;
  #entries = new Map<string, StoredValue>();
  /** The store revision `#entries` reflects; 0 until the first read. */
  #revision = 0;
  #loadedRevision: number | undefined;
  #appliedRevision: number | undefined;
  #rejectedRevision: number | undefined;
  #latestRejected = false;
  #watch: StoreWatch | undefined;
  /** Bumped whenever a watch is replaced: callbacks of an older one are ignored. */
  #epoch = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs: number;
  #failedReads = 0;
  #active = false;
  #paused = false;
  #stopped = false;

  constructor(options: StoreConfigSourceOptions) {
    this.#o = options;
    this.#retryMs = options.retryInitialMs ?? 1000;
    this.#batch = new DebouncedBatch(options.debounceMs ?? 100, (keys) => void this.#enqueue(describeChanges(keys), false));
  }

  /** The revision of the last valid load passed on (what is served). */
  get appliedRevision(): number | undefined {
    return this.#appliedRevision;
  }

  /** The revision of the last rejected load. */
  get rejectedRevision(): number | undefined {
    return this.#rejectedRevision;
  }

  /** Whether a watch follows the store now (it is established once etcd answered it). */
  get following(): boolean {
    return this.#watch !== undefined;
  }

  /** The latest store revision read (loaded, or about to be). */
  get readRevision(): number {
    return this.#revision;
  }

  /**
   * Reads and loads everything once, without passing it on (startup: the
   * caller applies it itself). Undefined when the store could not be read.
   */
  async readFirst(): Promise<{ result: LoadResult; reason: string } | undefined> {
    const read = await this.#range();
    if (!read) return undefined;
    this.#replace(read);
    const revision = this.#revision;
    const result = await loadStoredConfig(this.#o.store.options.location.prefix, [...this.#entries.values()], this.#o.loader);
    this.#loadedRevision = revision;
    return { result, reason: `store revision ${revision}: startup` };
  }

  /**
   * From now on the store is followed. `first` is the load of `readFirst` the
   * caller applied; without one the store is read (and retried) now.
   */
  activate(first: LoadResult | undefined): void {
    if (this.#active || this.#stopped) return;
    this.#active = true;
    if (first === undefined || this.#loadedRevision === undefined) {
      void this.#resync('first read of the store', false);
      return;
    }
    this.#noteOutcome(first, this.#loadedRevision);
    void this.#follow(this.#epoch);
  }

  /** readFirst, onLoad and activate in one. */
  async start(): Promise<LoadResult | undefined> {
    const first = await this.readFirst();
    if (first) await this.#o.onLoad(first.result, first.reason);
    this.activate(first?.result);
    return first?.result;
  }

  /** Reads everything again and loads it (SIGHUP). When the store cannot be read, following it goes on as before. */
  reload(reason = 'reload requested'): Promise<boolean> {
    if (!this.#active) return Promise.resolve(false);
    return this.#resync(reason, true);
  }

  status(): StoreStatus {
    const a = this.#o.store.availability;
    const served = this.#appliedRevision !== undefined;
    const rejected = this.#latestRejected ? this.#rejectedRevision : undefined;
    return {
      url: this.#o.store.description,
      state: a.state,
      since: new Date(a.since).toISOString(),
      ...(a.lastError === undefined ? {} : { lastError: a.lastError }),
      ...(served ? { revision: this.#appliedRevision } : {}),
      ...(rejected === undefined ? {} : { rejectedRevision: rejected }),
      servingLastGood: served && (a.state === 'unavailable' || rejected !== undefined),
      ...(served
        ? {}
        : { reason: this.#revision === 0 ? 'store not read yet' : 'the config in the store was rejected; nothing is served yet' }),
    };
  }

  /** Stops following (tests: to let the watch fall behind a compaction). Loads already due still run. */
  async pauseWatch(): Promise<void> {
    this.#paused = true;
    this.#epoch += 1;
    const watch = this.#watch;
    this.#watch = undefined;
    await watch?.cancel();
  }

  /** Follows again from the revision last read. */
  resumeWatch(): void {
    this.#paused = false;
    if (this.#active && !this.#stopped) void this.#follow(this.#epoch);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#epoch += 1;
    this.#batch.cancel();
    clearTimeout(this.#retryTimer);
    const watch = this.#watch;
    this.#watch = undefined;
    await watch?.cancel();
  }

  async #range(): Promise<{ revision: number; entries: StoredValue[] } | undefined> {
    try {
      const read = await this.#o.store.range(STORE_KEYS.config);
      this.#failedReads = 0;
      return read;
    } catch (err) {
      this.#failedReads += 1;
      const log = this.#failedReads === 1 ? this.#o.logger?.warn : this.#o.logger?.debug;
      log?.call(
        this.#o.logger,
        { store: this.#o.store.description, err: String((err as Error)?.message ?? err), attempt: this.#failedReads },
        this.#appliedRevision === undefined
          ? 'the store could not be read; no config is served until it is (retrying)'
          : 'the store could not be read; still serving the config last read from it',
      );
      return undefined;
    }
  }

  #replace(read: { revision: number; entries: StoredValue[] }): void {
    this.#entries = new Map(read.entries.map((e) => [e.key, e]));
    this.#revision = read.revision;
  }

  /** Reads everything, replaces the key map, watches from the new revision and loads. */
  async #resync(reason: string, fromReload: boolean): Promise<boolean> {
    clearTimeout(this.#retryTimer);
    if (this.#stopped) return false;
    const read = await this.#range();
    if (this.#stopped) return false;
    if (!read) {
      // A reload while the watch still follows the store changes nothing; anything else must read again.
      if (!(fromReload && this.#watch)) this.#retryLater(reason);
      return false;
    }
    this.#retryMs = this.#o.retryInitialMs ?? 1000;
    this.#epoch += 1;
    const old = this.#watch;
    this.#watch = undefined;
    void old?.cancel();
    this.#batch.cancel();
    this.#replace(read);
    if (!this.#paused) void this.#follow(this.#epoch);
    await this.#enqueue(reason, fromReload);
    return true;
  }

  #retryLater(reason: string): void {
    const delay = this.#retryMs;
    this.#retryMs = Math.min(delay * 2, this.#o.retryMaxMs ?? 10_000);
    this.#retryTimer = setTimeout(() => void this.#resync(reason, false), delay);
    this.#retryTimer.unref();
  }

  async #follow(epoch: number): Promise<void> {
    try {
      const watch = await this.#o.store.watchPrefix(STORE_KEYS.config, this.#revision, {
        onChanges: (changes) => {
          if (epoch === this.#epoch) this.#changed(changes);
        },
        onCompacted: () => {
          if (epoch !== this.#epoch) return;
          this.#watch = undefined;
          this.#o.logger?.info(
            { store: this.#o.store.description, revision: this.#revision },
            'the store compacted the history the config watch resumes from; reading all config again',
          );
          void this.#resync('store history compacted: full read', false);
        },
      });
      if (epoch !== this.#epoch) await watch.cancel();
      else this.#watch = watch;
    } catch (err) {
      if (epoch !== this.#epoch || this.#stopped) return;
      this.#o.logger?.warn(
        { store: this.#o.store.description, err: String(err) },
        'could not watch the config in the store; reading it again',
      );
      this.#retryLater('config watch failed: full read');
    }
  }

  /** The revision noted is that of the newest config change (the header's may count writes to other keys since). */
  #changed(changes: readonly StoreChange[]): void {
    for (const c of changes) {
      const key = c.type === 'put' ? c.entry.key : c.key;
      if (c.type === 'put') this.#entries.set(key, c.entry);
      else this.#entries.delete(key);
      this.#revision = Math.max(this.#revision, c.type === 'put' ? c.entry.modRevision : c.modRevision);
      this.#batch.add(key);
    }
  }

  /** Loads one at a time, in order. A load of the revision last loaded is skipped unless forced. */
  #enqueue(reason: string, force: boolean): Promise<void> {
    const next = this.#queue.then(() => this.#loadNow(reason, force));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #loadNow(reason: string, force: boolean): Promise<void> {
    const revision = this.#revision;
    if (this.#stopped || (!force && revision === this.#loadedRevision)) return;
    const prefix = this.#o.store.options.location.prefix;
    const result = await loadStoredConfig(prefix, [...this.#entries.values()], this.#o.loader);
    if (this.#stopped) return;
    this.#loadedRevision = revision;
    try {
      await this.#o.onLoad(result, `store revision ${revision}: ${reason}`);
    } catch (err) {
      this.#o.logger?.warn({ revision, err: String(err) }, 'applying the config read from the store failed');
      return;
    }
    this.#noteOutcome(result, revision);
  }

  #noteOutcome(result: LoadResult, revision: number): void {
    this.#latestRejected = !result.ok;
    if (result.ok) {
      this.#appliedRevision = revision;
      this.#o.onServed?.(revision);
    } else this.#rejectedRevision = revision;
  }
}
