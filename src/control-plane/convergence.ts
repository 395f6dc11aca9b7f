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
    this.check();
  }

  /** Called on every ACK (cheap when nothing is pending). */
  check(): void {
    const p = this.pending;
    if (!p) return;
    for (const proxy of p.proxies) if (this.isSynced(proxy)) p.proxies.delete(proxy);
    if (p.proxies.size === 0) {
      this.observe((Date.now() - p.startedAt) / 1000);
      this.pending = undefined;
    }
  }

  forget(proxy: string): void {
    this.pending?.proxies.delete(proxy);
    this.check();
  }
}
