// Background traffic: calls one after another (with a short pause) until
// stopped, counting every outcome, so a test can assert "zero failures while
// X happened".
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallResult } from './client.js';

export interface TrafficRecord {
  at: number;
  label: string;
  result: CallResult;
}

export interface Traffic {
  readonly records: readonly TrafficRecord[];
  failures(): TrafficRecord[];
  /** Resolves once `n` more calls have completed than when called. */
  waitForMore(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<readonly TrafficRecord[]>;
}

export interface TrafficOptions {
  /** The calls, taken in turn. */
  calls: { label: string; run: () => Promise<CallResult> }[];
  pauseMs?: number;
  /** What counts as success (default: code 200). */
  ok?: (r: CallResult) => boolean;
}

export function startTraffic(options: TrafficOptions): Traffic {
  const records: TrafficRecord[] = [];
  const ok = options.ok ?? ((r: CallResult) => r.code === '200');
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const c = options.calls[i % options.calls.length]!;
      records.push({ at: Date.now(), label: c.label, result: await c.run() });
      await sleep(options.pauseMs ?? 20);
    }
  })();
  return {
    records,
    failures: () => records.filter((r) => !ok(r.result)),
    async waitForMore(n, timeoutMs = 30_000) {
      const target = records.length + n;
      const deadline = Date.now() + timeoutMs;
      while (records.length < target) {
        if (Date.now() > deadline) throw new Error(`traffic: only ${records.length} of ${target} calls after ${timeoutMs} ms`);
        await sleep(20);
      }
    },
    async stop() {
      running = false;
      await loop;
      return records;
    },
  };
}

export function describeFailures(failures: readonly TrafficRecord[], max = 5): string {
  return failures
    .slice(0, max)
    .map(
      (f) =>
        `${new Date(f.at).toISOString()} ${f.label}: ${f.result.code}${f.result.error ? ` (${f.result.error})` : ''} ${f.result.body.slice(0, 120)}`,
    )
    .join('\n');
}
