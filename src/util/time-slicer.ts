// Cooperative time slicing for long CPU work on the main thread: the work
// asks `due()` between small steps and awaits the promise it returns, which
// is set only once the current slice has run for `sliceMs`. Yielding through
// setImmediate lets the event loop poll I/O (ADS, admin) before going on.
export class TimeSlicer {
  private sliceStart = performance.now();

  constructor(readonly sliceMs = 20) {}

  /** A promise to await when the slice is used up; undefined while there is time left. */
  due(): Promise<void> | undefined {
    if (performance.now() - this.sliceStart < this.sliceMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        this.sliceStart = performance.now();
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
