// A bound on the response bytes all ADS streams together have handed to
// gRPC but the connections have not yet flushed. Without it, a thousand
// proxies connecting at once get every response encoded, framed and
// encrypted up front: hundreds of megabytes of native buffers at the peak,
// which the allocator keeps as resident memory long after they were freed.
// Responses beyond the bound wait in arrival order, and are only encoded
// once admitted, so the order of each stream's responses is kept.

/** Produces the bytes of one response; called once admitted, never for a stream closed meanwhile. */
export type Encode = () => Uint8Array;
/** Hands bytes to the transport; `flushed` is called once they left (or the stream ended). */
export type Transmit = (bytes: Uint8Array, flushed: () => void) => void;

interface Waiting {
  encode: Encode;
  transmit: Transmit;
  isClosed: () => boolean;
  onWritten?: (bytes: number) => void;
}

export class WriteBudget {
  private inFlight = 0;
  private readonly queue: Waiting[] = [];
  private head = 0;

  /** `maxBytes` 0: no bound (every write goes out at once). */
  constructor(private readonly maxBytes: number) {}

  /** Bytes written and not yet flushed. */
  get pendingBytes(): number {
    return this.inFlight;
  }

  /** Responses waiting for room. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /**
   * Encodes and transmits now if there is room and nobody is waiting, else
   * once earlier writes flushed. A write larger than the bound still goes
   * out alone: the bound delays, it never refuses.
   */
  submit(encode: Encode, transmit: Transmit, isClosed: () => boolean, onWritten?: (bytes: number) => void): void {
    const w = { encode, transmit, isClosed, onWritten };
    if (this.queued === 0 && this.hasRoom()) this.send(w);
    else this.queue.push(w);
  }

  private hasRoom(): boolean {
    return this.maxBytes === 0 || this.inFlight < this.maxBytes;
  }

  private send(w: Waiting): void {
    if (w.isClosed()) return;
    const bytes = w.encode();
    const size = bytes.byteLength;
    this.inFlight += size;
    let released = false;
    w.transmit(bytes, () => {
      if (released) return;
      released = true;
      this.inFlight -= size;
      this.drain();
    });
    w.onWritten?.(size);
  }

  private drain(): void {
    while (this.queued > 0 && this.hasRoom()) {
      const next = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Waiting;
      this.send(next);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** One stream's side of the budget. */
export interface BudgetedWriter {
  write(encode: Encode): void;
  /** The stream ended: writes not flushed yet give their room back now (their callbacks may never come). */
  close(): void;
}

/** `send` writes bytes to the stream and calls back once they were flushed (as a Node Writable does). */
export function budgetedWriter(
  budget: WriteBudget,
  send: (bytes: Uint8Array, done: () => void) => void,
  isClosed: () => boolean,
): BudgetedWriter {
  const unflushed = new Set<() => void>();
  const transmit: Transmit = (bytes, flushed) => {
    unflushed.add(flushed);
    send(bytes, () => {
      unflushed.delete(flushed);
      flushed();
    });
  };
  return {
    write: (encode) => budget.submit(encode, transmit, isClosed),
    close: () => {
      for (const flushed of [...unflushed]) flushed();
      unflushed.clear();
    },
  };
}
