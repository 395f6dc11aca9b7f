// Cooperative time slicing for long CPU work on the main thread: the work
// asks `due()` between small steps and awaits the promise it returns, which
// is set only once the current slice has run for `sliceMs`. Yielding through
// setImmediate lets the event loop poll I/O (ADS, admin) before going on.
//
// A burst of work (`begin`) starts with a shorter slice: what the first steps
// produce (the first proxies' responses) leaves at the first yield, sooner
// than a whole slice later.
export class TimeSlicer {
  private sliceStart = performance.now();
  private currentSliceMs: number;

  constructor(
    readonly sliceMs = 20,
    readonly firstSliceMs = sliceMs,
  ) {
    this.currentSliceMs = sliceMs;
  }

  /** Starts a burst of work now, with a first slice of `firstSliceMs`. */
  begin(): void {
    this.sliceStart = performance.now();
    this.currentSliceMs = this.firstSliceMs;
  }

  /** A promise to await when the slice is used up; undefined while there is time left. */
  due(): Promise<void> | undefined {
    if (performance.now() - this.sliceStart < this.currentSliceMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        this.sliceStart = performance.now();
        this.currentSliceMs = this.sliceMs;
        resolve();
      }),
    );
  }
}

/**
 * Resolves after one whole turn of the event loop, I/O polling included. A
 * plain setImmediate scheduled from an I/O callback (a worker's message)
 * would run in the same turn, before any pending I/O is served.
 */
export function nextLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}
