// Runs proxy snapshot rebuilds one at a time, oldest request first. A proxy
// asked for again before its rebuild started is rebuilt once for both
// requests, and after every `sliceMs` of work the queue yields to the event
// loop, so a config change that rebuilds thousands of proxies never stalls
// ADS keepalives, ACKs or the admin server for longer than one rebuild.
import { TimeSlicer } from '../util/time-slicer.js';

/** A rebuild; long ones await `slicer.due()` between steps so they yield too. */
export type RebuildWork = (proxyId: string, reason: string, slicer: TimeSlicer) => Promise<void>;

interface Pending {
  reasons: Set<string>;
  done: (() => void)[];
}

/** How long the queue works before it yields to the event loop: short, so the first responses go out (and their ACKs come in) while the rest are rebuilt. */
export const REFRESH_SLICE_MS = 2;
/** The first slice of a burst of rebuilds: the first proxy's response leaves right after its rebuild. */
export const FIRST_REFRESH_SLICE_MS = 0.25;

export class RefreshQueue {
  private readonly pending = new Map<string, Pending>();
  private running = false;
  private idleWaiters: (() => void)[] = [];
  private readonly slicer: TimeSlicer;

  constructor(
    private readonly work: RebuildWork,
    private readonly onError: (proxyId: string, err: unknown) => void,
    sliceMs = REFRESH_SLICE_MS,
  ) {
    this.slicer = new TimeSlicer(sliceMs, Math.min(sliceMs, FIRST_REFRESH_SLICE_MS));
  }

  /** Resolves once `proxyId` was rebuilt after this call (never rejects: a failed rebuild goes to `onError`). */
  enqueue(proxyId: string, reason: string): Promise<void> {
    let entry = this.pending.get(proxyId);
    if (!entry) {
      entry = { reasons: new Set(), done: [] };
      this.pending.set(proxyId, entry);
    }
    entry.reasons.add(reason);
    const pending = entry;
    const done = new Promise<void>((resolve) => pending.done.push(resolve));
    if (!this.running) {
      this.running = true;
      queueMicrotask(() => void this.pump());
    }
    return done;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Resolves once nothing is queued or running, a turn of the event loop later (so what callers chained on the rebuilds ran too). */
  idle(): Promise<void> {
    if (!this.running) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async pump(): Promise<void> {
    this.slicer.begin();
    for (;;) {
      const pause = this.slicer.due();
      if (pause) await pause;
      const next = this.pending.entries().next();
      if (next.done) break;
      const [proxyId, entry] = next.value;
      this.pending.delete(proxyId);
      try {
        await this.work(proxyId, [...entry.reasons].join('; '), this.slicer);
      } catch (err) {
        this.onError(proxyId, err);
      }
      for (const resolve of entry.done) resolve();
    }
    this.running = false;
    const waiters = this.idleWaiters.splice(0);
    setImmediate(() => {
      for (const resolve of waiters) resolve();
    });
  }
}
