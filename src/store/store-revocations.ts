// Token and proxy revocations shared by every replica: one JSON entry per
// `revocations/<id>` key, the same shape as an entry of the revocation file.
// Each replica reads them all, then follows the prefix; a compaction that
// outran the watch means reading everything again. An entry that turns
// invalid never un-revokes: the last valid value of that key stays in force.
import { type Parsed, parseRevocationEntry, type Revocation, RevocationList } from '../identity/token-revocations.js';
import type { Logger } from '../util/logger.js';
import type { EtcdStore, StoreChange, StoredValue, StoreWatch } from './etcd-store.js';
import { revocationKey, STORE_KEYS } from './store-keys.js';
import { StoreContentError, untilStoreAnswers } from './store-retry.js';

export interface StoreRevocationOptions {
  store: EtcdStore;
  logger: Logger;
  /** A new list is in force (streams it revokes should be closed). */
  onChange(list: RevocationList): void;
}

/** Records a revocation for every replica; returns its key. */
export async function writeRevocation(store: EtcdStore, revocation: Revocation): Promise<string> {
  const key = revocationKey(revocation);
  await store.call((kv) => kv.put(key).value(JSON.stringify(revocation)).exec());
  return key;
}

/** Every revocation in the store, by key; an invalid entry is an error naming its key. */
export function parseStoredRevocation(entry: StoredValue): Parsed<Revocation> {
  let doc: unknown;
  try {
    doc = JSON.parse(entry.value.toString('utf8'));
  } catch {
    return { ok: false, error: `${entry.key}: not JSON` };
  }
  const parsed = parseRevocationEntry(doc);
  return parsed.ok ? parsed : { ok: false, error: `${entry.key}: ${parsed.error}` };
}

export class StoreRevocationWatcher {
  readonly #o: StoreRevocationOptions;
  readonly #byKey = new Map<string, Revocation>();
  #list: RevocationList;
  #revision: number;
  #watch: StoreWatch | undefined;
  readonly #stop = new AbortController();

  private constructor(options: StoreRevocationOptions, entries: StoredValue[], revision: number) {
    this.#o = options;
    this.#revision = revision;
    for (const e of entries) {
      const parsed = parseStoredRevocation(e);
      if (parsed.ok) this.#byKey.set(e.key, parsed.value);
    }
    this.#list = new RevocationList([...this.#byKey.values()]);
  }

  /**
   * Reads every revocation, waiting for a store that does not answer. Throws
   * when one is invalid: meshlite does not start blind to a revocation.
   */
  static async open(options: StoreRevocationOptions): Promise<StoreRevocationWatcher> {
    const { store, logger } = options;
    const read = await untilStoreAnswers(store, 'reading the token revocations', () => store.range(STORE_KEYS.revocations), { logger });
    const invalid = read.entries.map(parseStoredRevocation).find((p) => !p.ok);
    if (invalid && !invalid.ok)
      throw new StoreContentError(
        `${invalid.error}; meshlite will not serve without knowing which tokens are revoked: fix the entry or delete it (meshlite token revoke writes valid ones)`,
      );
    if (read.entries.length > 0) logger.info({ revocations: read.entries.length }, 'token revocations loaded from the store');
    return new StoreRevocationWatcher(options, read.entries, read.revision);
  }

  get current(): RevocationList {
    return this.#list;
  }

  start(): void {
    void this.#follow();
  }

  stop(): void {
    this.#stop.abort();
    void this.#watch?.cancel();
  }

  async #follow(): Promise<void> {
    const { store, logger } = this.#o;
    try {
      const watch = await untilStoreAnswers(
        store,
        'watching the token revocations',
        () =>
          store.watchPrefix(STORE_KEYS.revocations, this.#revision, {
            onChanges: (changes, revision) => this.#apply(changes, revision),
            onCompacted: () => void this.#reread(),
          }),
        { logger, signal: this.#stop.signal },
      );
      if (this.#stop.signal.aborted) await watch.cancel();
      else this.#watch = watch;
    } catch (err) {
      if (!this.#stop.signal.aborted)
        logger.warn({ err: String(err) }, 'watching the token revocations failed; the revocations already known stay in force');
    }
  }

  /** The revision to resume from was compacted: read everything again, then follow from there. */
  async #reread(): Promise<void> {
    const { store, logger } = this.#o;
    this.#watch = undefined;
    logger.warn({}, 'the store compacted past the revocations watch; reading every revocation again');
    try {
      const read = await untilStoreAnswers(store, 'reading the token revocations', () => store.range(STORE_KEYS.revocations), {
        logger,
        signal: this.#stop.signal,
      });
      const present = new Set(read.entries.map((e) => e.key));
      const changes: StoreChange[] = [
        ...[...this.#byKey.keys()]
          .filter((k) => !present.has(k))
          .map((key) => ({ type: 'delete' as const, key, modRevision: read.revision })),
        ...read.entries.map((entry) => ({ type: 'put' as const, entry })),
      ];
      this.#apply(changes, read.revision);
    } catch {
      return; // stopped
    }
    if (!this.#stop.signal.aborted) await this.#follow();
  }

  #apply(changes: StoreChange[], revision: number): void {
    const { logger } = this.#o;
    this.#revision = Math.max(this.#revision, revision);
    let changed = false;
    for (const c of changes) {
      if (c.type === 'delete') {
        if (this.#byKey.delete(c.key)) {
          changed = true;
          logger.info({ key: c.key }, 'a token revocation was deleted from the store; what it revoked is valid again');
        }
        continue;
      }
      const parsed = parseStoredRevocation(c.entry);
      if (!parsed.ok) {
        (logger.error ?? logger.warn).call(
          logger,
          { error: parsed.error },
          'invalid revocation in the store; its last valid value (if any) stays in force',
        );
        continue;
      }
      if (JSON.stringify(this.#byKey.get(c.entry.key)) === JSON.stringify(parsed.value)) continue;
      this.#byKey.set(c.entry.key, parsed.value);
      changed = true;
    }
    if (!changed || this.#stop.signal.aborted) return;
    this.#list = new RevocationList([...this.#byKey.values()]);
    logger.info({ revocations: this.#list.size }, 'the token revocations in the store changed; reloaded');
    this.#o.onChange(this.#list);
  }
}
