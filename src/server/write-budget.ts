// A bound on the response bytes all ADS streams together have handed to
// gRPC but the connections have not yet flushed. Without it, a thousand
// proxies connecting at once get every response encoded, framed and
// encrypted up front: hundreds of megabytes of native buffers at the peak,
// which the allocator keeps as resident memory long after they were freed.
// Responses beyond the bound wait in arrival order, and are only encoded
// once admitted, so the order of each stream's responses is kept.
//
// A peer that stops reading one stream (its connection alive, so keepalive
// sees nothing) would otherwise hold its share of the bound for ever and,
// change after change, stall every other stream: a write unflushed for
// `stallMs` stops counting against the bound, and a stream with a write
// unflushed for `deadMs` is reported to its owner, which closes it.

/** Produces the bytes of one response; called once admitted, never for a stream closed meanwhile. */
export type Encode = () => Uint8Array;
/** Hands bytes to the transport; `flushed` is called once they left (or the stream ended). */
export type Transmit = (bytes: Uint8Array, flushed: () => void) => void;

interface Waiting {
  encode: Encode;
  transmit: Transmit;
  isClosed: () => boolean;
  onDead?: () => void;
}

interface InFlight {
  size: number;
  at: number;
  /** Still counted against the bound (not yet given up as stalled). */
  counted: boolean;
  onDead?: () => void;
}

export interface WriteBudgetTiming {
  /** A write unflushed this long no longer holds room (default 5 s). */
  stallMs?: number;
  /** A write unflushed this long reports its stream dead (default 60 s). */
  deadMs?: number;
  now?: () => number;
  /** How often in-flight writes are checked while there are any (default 1 s; 0: only by sweep()). */
  sweepEveryMs?: number;
}

export class WriteBudget {
  private inFlight = 0;
  private readonly queue: Waiting[] = [];
  private head = 0;
  private readonly unflushed = new Set<InFlight>();
  private readonly stallMs: number;
  private readonly deadMs: number;
  private readonly now: () => number;
  private readonly sweepEveryMs: number;
  private sweeper: NodeJS.Timeout | undefined;

  /** `maxBytes` 0: no bound (every write goes out at once). */
  constructor(
    private readonly maxBytes: number,
    timing: WriteBudgetTiming = {},
  ) {
    this.stallMs = timing.stallMs ?? 5_000;
    this.deadMs = timing.deadMs ?? 60_000;
    this.now = timing.now ?? Date.now;
    this.sweepEveryMs = timing.sweepEveryMs ?? 1_000;
  }

  /** Bytes written and not yet flushed. */
  get pendingBytes(): number {
    return this.inFlight;
  }

  /** Whether the periodic sweep is scheduled (only while writes are unflushed). */
  get sweeping(): boolean {
    return this.sweeper !== undefined;
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
  submit(encode: Encode, transmit: Transmit, isClosed: () => boolean, onDead?: () => void): void {
    const w = { encode, transmit, isClosed, onDead };
    if (this.queued === 0 && this.hasRoom()) this.send(w);
    else this.queue.push(w);
  }

  private hasRoom(): boolean {
    return this.maxBytes === 0 || this.inFlight < this.maxBytes;
  }

  private send(w: Waiting): void {
    if (w.isClosed()) return;
    const bytes = w.encode();
    const entry: InFlight = { size: bytes.byteLength, at: this.now(), counted: true, onDead: w.onDead };
    this.inFlight += entry.size;
    this.unflushed.add(entry);
    this.startSweeping();
    w.transmit(bytes, () => {
      if (!this.unflushed.delete(entry)) return;
      if (entry.counted) this.inFlight -= entry.size;
      if (this.unflushed.size === 0) this.stopSweeping();
      this.drain();
    });
  }

  /** Gives up the room of stalled writes and reports dead streams (once per write). */
  sweep(): void {
    const now = this.now();
    let freed = false;
    for (const entry of this.unflushed) {
      const age = now - entry.at;
      if (entry.counted && age >= this.stallMs) {
        entry.counted = false;
        this.inFlight -= entry.size;
        freed = true;
      }
      if (entry.onDead && age >= this.deadMs) {
        const dead = entry.onDead;
        entry.onDead = undefined;
        dead();
      }
    }
    if (freed) this.drain();
  }

  private startSweeping(): void {
    if (this.sweeper || this.sweepEveryMs === 0) return;
    this.sweeper = setInterval(() => this.sweep(), this.sweepEveryMs);
    this.sweeper.unref();
  }

  private stopSweeping(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
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

/**
 * `send` writes bytes to the stream and calls back once they were flushed (as
 * a Node Writable does); `onDead` is told (once) that the peer read nothing of
 * a write for the budget's `deadMs`.
 */
export function budgetedWriter(
  budget: WriteBudget,
  send: (bytes: Uint8Array, done: () => void) => void,
  isClosed: () => boolean,
  onDead?: () => void,
): BudgetedWriter {
  let reported = false;
  const dead =
    onDead &&
    (() => {
      if (reported || isClosed()) return;
      reported = true;
      onDead();
    });
  const unflushed = new Set<() => void>();
  const transmit: Transmit = (bytes, flushed) => {
    unflushed.add(flushed);
    send(bytes, () => {
      unflushed.delete(flushed);
      flushed();
    });
  };
  return {
    write: (encode) => budget.submit(encode, transmit, isClosed, dead),
    close: () => {
      for (const flushed of [...unflushed]) flushed();
      unflushed.clear();
    },
  };
}
