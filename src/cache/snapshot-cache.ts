// Holds the current snapshot of every proxy and tells watchers when it changes.
// It knows nothing of gRPC; streams subscribe to it.
import type { ProxySnapshot } from './snapshot.js';

export type SnapshotListener = (snapshot: ProxySnapshot) => void;

export class SnapshotCache {
  private readonly snapshots = new Map<string, ProxySnapshot>();
  private readonly listeners = new Map<string, Set<SnapshotListener>>();

  get(proxyId: string): ProxySnapshot | undefined {
    return this.snapshots.get(proxyId);
  }

  /** Stores the snapshot; watchers hear of it only if something changed. */
  set(proxyId: string, snapshot: ProxySnapshot): boolean {
    const before = this.snapshots.get(proxyId);
    if (before && sameVersions(before, snapshot)) return false;
    this.snapshots.set(proxyId, snapshot);
    for (const listener of this.listeners.get(proxyId) ?? []) listener(snapshot);
    return true;
  }

  delete(proxyId: string): void {
    this.snapshots.delete(proxyId);
  }

  watch(proxyId: string, listener: SnapshotListener): () => void {
    const set = this.listeners.get(proxyId) ?? new Set();
    set.add(listener);
    this.listeners.set(proxyId, set);
    // Idempotent, and it only ever drops its own set: a stream's cleanup may run more than once, after
    // the proxy's next stream has watched with a new set.
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(proxyId) === set) this.listeners.delete(proxyId);
    };
  }

  watcherCount(proxyId: string): number {
    return this.listeners.get(proxyId)?.size ?? 0;
  }
}

function sameVersions(a: ProxySnapshot, b: ProxySnapshot): boolean {
  return (
    a.clusters.version === b.clusters.version &&
    a.endpoints.version === b.endpoints.version &&
    a.listeners.version === b.listeners.version &&
    a.routes.version === b.routes.version &&
    a.secrets.version === b.secrets.version
  );
}
