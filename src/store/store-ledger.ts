// The ledger of issued certificates, shared: each certificate a replica's CA
// issues is written to `ledger/<serial>` under a lease that ends when the
// certificate does (etcd then deletes the entry), and every replica follows
// the prefix into its own IssuedLedger. So revoking a proxy on any replica
// also revokes the certificates another replica issued to it. A write the
// store does not take (an outage) never fails the issuance: it waits in a
// small queue and is tried again.
import type { IssuedRecord } from '../ca/certificate-authority.js';
import type { IssuedLedger, LedgerEntry } from '../ca/issued-ledger.js';
import type { Logger } from '../util/logger.js';
import type { EtcdStore, StoreChange, StoredValue, StoreWatch } from './etcd-store.js';
import { ledgerKey, STORE_KEYS } from './store-keys.js';
import { untilStoreAnswers } from './store-retry.js';

/** Entries waiting for the store beyond this are dropped, oldest first (and logged). */
const MAX_QUEUED = 1000;
const RETRY_MS = 2000;

export interface StoredLedgerEntry {
  holder: string;
  subject: string;
  /** SHA-256 fingerprint of the root the certificate chains to. */
  root: string;
  issuedAt: string;
  notAfter: string;
}

export interface StoreLedgerOptions {
  store: EtcdStore;
  ledger: IssuedLedger;
  logger: Logger;
  now?: () => number;
}

export class StoreLedger {
  readonly #o: StoreLedgerOptions;
  readonly #now: () => number;
  readonly #queue: LedgerEntry[] = [];
  readonly #stop = new AbortController();
  #retry: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #watch: StoreWatch | undefined;
  #onEntries: (() => void) | undefined;

  constructor(options: StoreLedgerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** How many entries wait for the store. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Shares an entry of the local ledger; returns at once (the write goes on in the background). */
  publish(entry: LedgerEntry): void {
    if (this.#stop.signal.aborted) return;
    this.#queue.push({ ...entry });
    if (this.#queue.length > MAX_QUEUED) {
      const dropped = this.#queue.shift()!;
      this.#o.logger.warn(
        { serial: dropped.serial },
        'the store has not taken the ledger for a while; an entry waiting for it was dropped',
      );
    }
    void this.flush();
  }

  /** Writes what waits; resolves when done (or given up for now). */
  flush(): Promise<void> {
    this.#flushing ??= this.#drain().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  /**
   * Reads the shared ledger and follows it, in the background. `onEntries`:
   * entries from other replicas were added (streams their holders'
   * revocations cover should be closed).
   */
  start(onEntries?: () => void): void {
    this.#onEntries = onEntries;
    void this.#follow();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#retry);
    await this.#watch?.cancel();
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#stop.signal.aborted) {
      const entry = this.#queue[0]!;
      const ttlSeconds = Math.ceil((entry.notAfter - this.#now()) / 1000);
      if (ttlSeconds >= 1) {
        try {
          await this.#write(entry, ttlSeconds);
        } catch (err) {
          this.#o.logger.warn(
            { serial: entry.serial, queued: this.#queue.length, err: String((err as Error)?.message ?? err) },
            'could not share an issued certificate in the store; retrying',
          );
          clearTimeout(this.#retry);
          this.#retry = setTimeout(() => void this.flush(), RETRY_MS);
          this.#retry.unref();
          return;
        }
      }
      this.#queue.shift();
    }
  }

  async #write(entry: LedgerEntry, ttlSeconds: number): Promise<void> {
    const value: StoredLedgerEntry = {
      holder: entry.holder,
      subject: entry.subject,
      root: entry.root,
      issuedAt: new Date(entry.issuedAt).toISOString(),
      notAfter: new Date(entry.notAfter).toISOString(),
    };
    await this.#o.store.call(async (kv) => {
      const lease = kv.lease(ttlSeconds, { autoKeepAlive: false });
      lease.on('lost', () => undefined);
      await lease.put(ledgerKey(entry.serial)).value(JSON.stringify(value));
      lease.release();
    });
  }

  async #follow(): Promise<void> {
    const { store, logger } = this.#o;
    const signal = this.#stop.signal;
    try {
      const read = await untilStoreAnswers(store, 'reading the ledger of issued certificates', () => store.range(STORE_KEYS.ledger), {
        logger,
        signal,
      });
      this.#add(read.entries);
      const watch = await untilStoreAnswers(
        store,
        'watching the ledger of issued certificates',
        () =>
          store.watchPrefix(STORE_KEYS.ledger, read.revision, {
            onChanges: (changes: StoreChange[]) => this.#add(changes.flatMap((c) => (c.type === 'put' ? [c.entry] : []))),
            onCompacted: () => {
              this.#watch = undefined;
              if (!signal.aborted) void this.#follow();
            },
          }),
        { logger, signal },
      );
      if (signal.aborted) await watch.cancel();
      else this.#watch = watch;
    } catch (err) {
      if (!signal.aborted) logger.warn({ err: String(err) }, 'following the shared ledger failed');
    }
  }

  /** Entries this replica does not know yet (its own come back through the watch too). */
  #add(entries: StoredValue[]): void {
    const { ledger, logger } = this.#o;
    let added = 0;
    for (const e of entries) {
      const serial = e.key.slice(STORE_KEYS.ledger.length);
      if (ledger.entry(serial)) continue;
      const record = parseStoredLedgerEntry(serial, e.value);
      if (!record) {
        logger.warn({ key: e.key }, 'the shared ledger holds an entry that is not one; ignored');
        continue;
      }
      if (record.notAfter.getTime() <= this.#now()) continue;
      ledger.record(record);
      added++;
    }
    if (added > 0 && !this.#stop.signal.aborted) this.#onEntries?.();
  }
}

export function parseStoredLedgerEntry(serial: string, value: Buffer): IssuedRecord | undefined {
  let doc: Partial<StoredLedgerEntry>;
  try {
    doc = JSON.parse(value.toString('utf8')) as Partial<StoredLedgerEntry>;
  } catch {
    return undefined;
  }
  const issuedAt = Date.parse(String(doc.issuedAt));
  const notAfter = Date.parse(String(doc.notAfter));
  if (!/^[0-9a-f]+$/.test(serial) || typeof doc.holder !== 'string' || doc.holder === '') return undefined;
  if (Number.isNaN(issuedAt) || Number.isNaN(notAfter)) return undefined;
  return {
    serialNumber: serial,
    subject: typeof doc.subject === 'string' ? doc.subject : '',
    holder: doc.holder,
    rootFingerprintSha256: typeof doc.root === 'string' ? doc.root : '',
    issuedAt: new Date(issuedAt),
    notAfter: new Date(notAfter),
  };
}
