// Envoy resources shared between proxies, built once. Views hand out the same
// object for every proxy that shares a part (the outbound side of a namespace,
// a proxyless namespace's targets), so those parts are keyed by identity; the
// access filters by the AuthzView key. A cache belongs to one set of views
// (one mesh model): whoever owns the views makes a new cache with them.
export class ResourceCache {
  private readonly parts = new Map<string, Map<unknown, unknown>>();

  /** A cache holding `previous`'s entries of `parts` (each a pure function of its key, whose keys are still in use). */
  static carrying(previous: ResourceCache, parts: (part: string) => boolean): ResourceCache {
    const cache = new ResourceCache();
    for (const [part, entries] of previous.parts) if (parts(part)) cache.parts.set(part, new Map(entries));
    return cache;
  }

  /** The value of `part` for `key`, built on first use. */
  get<K, V>(part: string, key: K, build: () => V): V {
    let entries = this.parts.get(part);
    if (!entries) this.parts.set(part, (entries = new Map()));
    if (entries.has(key)) return entries.get(key) as V;
    const value = build();
    entries.set(key, value);
    return value;
  }
}
