// Values found by a digest of their content, kept across mesh models: a reload
// builds new resource objects, but most of them say exactly what the old ones
// said, and their encodings can be reused. Bounded by rounds: mark() starts a
// round, every lookup stamps the entry with it, and sweep() drops the entries
// not used since the mark. The control plane marks before it refreshes every
// proxy for a new config and sweeps after, so what remains is what the
// current snapshots hold. Past `limit` entries a sweep happens on its own
// (dropping an entry costs an encode later, never a wrong answer).
import * as crypto from 'node:crypto';

const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64') => string }).hash;

/** A collision-resistant digest of `text` (node:crypto's one-shot form where the runtime has it: it is several times cheaper per call). */
export function contentDigest(text: string): string {
  return oneShotHash ? oneShotHash('sha256', text, 'base64') : crypto.createHash('sha256').update(text).digest('base64');
}

interface Entry<V> {
  value: V;
  round: number;
}

export class ContentCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private round = 0;
  /** Lookups answered from the cache, and values added (tests, benchmarks). */
  hits = 0;
  misses = 0;

  constructor(private limit = 20_000) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.hits++;
    entry.round = this.round;
    return entry.value;
  }

  set(key: string, value: V): void {
    this.misses++;
    if (this.entries.size >= this.limit) {
      this.sweep();
      this.mark();
      // A working set this large is the mesh's: let it be, rather than sweep on every miss.
      this.limit = Math.max(this.limit, 2 * this.entries.size);
    }
    this.entries.set(key, { value, round: this.round });
  }

  /** Starts a round: lookups from now on count as use. */
  mark(): void {
    this.round++;
  }

  /** Drops every entry not used since the last mark. */
  sweep(): void {
    for (const [key, entry] of this.entries) if (entry.round < this.round) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
