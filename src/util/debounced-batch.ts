// Collects items (changed paths) and hands them over, sorted and once, after
// things have been quiet for `delayMs`: a burst of file events becomes one reload.
export class DebouncedBatch {
  private readonly items = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly flush: (items: string[]) => void,
  ) {}

  add(item: string): void {
    this.items.add(item);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const items = [...this.items].sort();
      this.items.clear();
      this.flush(items);
    }, this.delayMs);
    this.timer.unref();
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.items.clear();
  }
}

/** "changed: a, b, c and 4 more" for log lines. */
export function describeChanges(items: readonly string[], shown = 5): string {
  const more = items.length > shown ? ` and ${items.length - shown} more` : '';
  return `changed: ${items.slice(0, shown).join(', ')}${more}`;
}
