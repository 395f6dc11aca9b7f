// Measures convergence: from a config change being applied until every proxy
// that was connected then has accepted its new snapshot.
export class ConvergenceTracker {
  private pending: { startedAt: number; proxies: Set<string> } | undefined;

  constructor(
    private readonly isSynced: (proxy: string) => boolean,
    private readonly observe: (seconds: number) => void,
  ) {}

  begin(proxies: readonly string[], startedAt: number): void {
    this.pending = { startedAt, proxies: new Set(proxies) };
    for (const proxy of proxies) this.check(proxy);
    this.finishIfDone();
  }

  /** Called on every ACK, for the proxy that ACKed: O(1) work, whatever the mesh size. */
  check(proxy: string): void {
    const p = this.pending;
    if (!p?.proxies.has(proxy)) return;
    if (this.isSynced(proxy)) {
      p.proxies.delete(proxy);
      this.finishIfDone();
    }
  }

  forget(proxy: string): void {
    this.pending?.proxies.delete(proxy);
    this.finishIfDone();
  }

  private finishIfDone(): void {
    const p = this.pending;
    if (p && p.proxies.size === 0) {
      this.observe((Date.now() - p.startedAt) / 1000);
      this.pending = undefined;
    }
  }
}
