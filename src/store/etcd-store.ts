// One connection to etcd for a meshlite process: every key is under the
// store prefix, every unary call has a deadline (etcd3 sets none, and a call
// to a partitioned member would wait forever), and the store's availability
// (the last call or watch succeeded, or did not) is tracked for /ready,
// metrics and logs.
import { ConsecutiveBreaker, circuitBreaker, ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { Etcd3, type IKeyValue, isRecoverableError, type Namespace, type Watcher } from 'etcd3';
import type { Logger } from '../util/logger.js';
import { explainStoreError, looseKeyMode, quietIpServerNameWarning, type StoreTlsFiles, storeTlsCredentials } from './store-tls.js';
import { describeStore, type StoreLocation } from './store-url.js';

export type { StoreTlsFiles } from './store-tls.js';

export interface EtcdStoreOptions {
  location: StoreLocation;
  tls?: StoreTlsFiles;
  /** Deadline of every unary call; default 3 s. */
  callTimeoutMs?: number;
  logger?: Logger;
}

export interface StoredValue {
  /** Relative to the store prefix. */
  key: string;
  value: Buffer;
  modRevision: number;
  createRevision: number;
}

export interface StoreAvailability {
  state: 'available' | 'unavailable';
  /** When the state last changed (ms since the epoch). */
  since: number;
  lastError?: string;
}

export interface WatchHandlers {
  /** Changes after `fromRevision`, in order; `revision` is the store revision they bring the watcher to. */
  onChanges(changes: StoreChange[], revision: number): void;
  /** The revision to resume from was compacted away: the caller must read everything again. */
  onCompacted(): void;
}

export type StoreChange = { type: 'put'; entry: StoredValue } | { type: 'delete'; key: string; modRevision: number };

export interface StoreWatch {
  cancel(): Promise<void>;
}

export class EtcdStore {
  readonly client: Etcd3;
  /** Every key relative to the store prefix. */
  readonly kv: Namespace;
  readonly description: string;
  readonly callTimeoutMs: number;
  #availability: StoreAvailability = { state: 'available', since: Date.now() };
  readonly #listeners = new Set<(a: StoreAvailability) => void>();
  readonly #watchers = new Set<Watcher>();
  #closed = false;

  constructor(readonly options: EtcdStoreOptions) {
    this.callTimeoutMs = options.callTimeoutMs ?? 3000;
    this.description = describeStore(options.location);
    const credentials = storeTlsCredentials(options.tls);
    if (credentials && !options.location.tls)
      throw new Error(`${this.description}: the --store-tls-* files need an etcds:// URL (etcd:// dials plaintext)`);
    quietIpServerNameWarning(options.location.endpoints);
    const loose = looseKeyMode(options.tls?.keyFile);
    if (loose !== undefined)
      options.logger?.warn(
        { file: options.tls?.keyFile, mode: loose.toString(8) },
        '--store-tls-key is readable by group or others; chmod 600 it',
      );
    this.client = new Etcd3({
      hosts: options.location.endpoints,
      credentials,
      dialTimeout: this.callTimeoutMs,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + this.callTimeoutMs }),
      // Notice a silent member (a partition, a stopped process) within seconds, on idle connections too.
      grpcOptions: { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000, 'grpc.keepalive_permit_without_calls': 1 },
      faultHandling: {
        // A failed member is skipped for a second, then tried again: recovery is noticed quickly.
        host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
        global: retry(handleWhen(isRecoverableError), { maxAttempts: Math.max(2, options.location.endpoints.length) }),
        watchBackoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 3000 }).next(),
      },
    });
    this.kv = this.client.namespace(options.location.prefix);
  }

  get availability(): StoreAvailability {
    return this.#availability;
  }

  /** Called on every change of availability. */
  onAvailability(listener: (a: StoreAvailability) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Runs one call against the store, noting whether the store answered. */
  async call<T>(fn: (kv: Namespace) => Promise<T>): Promise<T> {
    try {
      const result = await fn(this.kv);
      this.noteAvailable();
      return result;
    } catch (err) {
      if (isRecoverableError(err as Error) || /deadline|unavailable|circuit breaker/i.test(String(err))) this.noteUnavailable(err);
      throw err;
    }
  }

  /** Every key under `prefix` (relative to the store prefix), read at one revision. */
  async range(prefix: string): Promise<{ revision: number; entries: StoredValue[] }> {
    const res = await this.call((kv) => kv.getAll().prefix(prefix).sort('Key', 'Ascend').exec());
    return { revision: Number(res.header.revision), entries: res.kvs.map((kv) => this.toStored(kv)) };
  }

  /** One key, or undefined. */
  async get(key: string): Promise<StoredValue | undefined> {
    const res = await this.call((kv) => kv.get(key).exec());
    const first = res.kvs[0];
    return first ? this.toStored(first) : undefined;
  }

  /**
   * Follows every change under `prefix` after `fromRevision`. Reconnects (and
   * resumes where it was) by itself after a store outage; a compaction of the
   * revision to resume from is reported, and the watch ends.
   */
  async watchPrefix(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<StoreWatch> {
    const watcher = await this.kv
      .watch()
      .prefix(prefix)
      .startRevision(String(fromRevision + 1))
      .create();
    this.#watchers.add(watcher);
    watcher.on('data', (res) => {
      this.noteAvailable();
      const changes: StoreChange[] = res.events.map((ev) =>
        ev.type === 'Put'
          ? { type: 'put', entry: this.toStored(ev.kv) }
          : { type: 'delete', key: this.relative(ev.kv.key), modRevision: Number(ev.kv.mod_revision) },
      );
      if (changes.length > 0) handlers.onChanges(changes, Number(res.header.revision));
    });
    watcher.on('connected', () => this.noteAvailable());
    watcher.on('disconnected', (err) => this.noteUnavailable(err));
    // etcd cancels a watch only when its start revision was compacted (or the client asked).
    watcher.on('error', () => {
      this.#watchers.delete(watcher);
      void watcher.cancel().catch(() => undefined);
      handlers.onCompacted();
    });
    return {
      cancel: async () => {
        this.#watchers.delete(watcher);
        await withTimeout(watcher.cancel(), 1000);
      },
    };
  }

  /** Cancels every watch first: etcd3 would otherwise go on reconnecting a closed client's watches forever. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#watchers].map((w) => withTimeout(w.cancel(), 1000)));
    this.#watchers.clear();
    this.client.close();
  }

  noteAvailable(): void {
    if (this.#availability.state === 'available') return;
    this.setAvailability({ state: 'available', since: Date.now() });
  }

  noteUnavailable(err: unknown): void {
    if (this.#closed) return;
    const message = explainStoreError(err, this.options.location.tls);
    if (this.#availability.state === 'unavailable') {
      this.#availability = { ...this.#availability, lastError: message };
      return;
    }
    this.setAvailability({ state: 'unavailable', since: Date.now(), lastError: message });
  }

  private setAvailability(a: StoreAvailability): void {
    this.#availability = a;
    if (a.state === 'available') this.options.logger?.info({ store: this.description }, 'the store is available again');
    else this.options.logger?.warn({ store: this.description, err: a.lastError }, 'store unavailable; serving what was last read from it');
    for (const l of this.#listeners) l(a);
  }

  private toStored(kv: IKeyValue): StoredValue {
    return {
      key: this.relative(kv.key),
      value: kv.value,
      modRevision: Number(kv.mod_revision),
      createRevision: Number(kv.create_revision),
    };
  }

  private relative(key: Buffer): string {
    const text = key.toString('utf8');
    const prefix = this.options.location.prefix;
    return text.startsWith(prefix) ? text.slice(prefix.length) : text;
  }
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
