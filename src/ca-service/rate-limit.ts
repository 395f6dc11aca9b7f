// A token bucket per key (a SPIFFE identity): `burst` requests at once, then
// `burst` more every `perMillis`, refilled continuously.

export interface RateLimit {
  burst: number;
  perMillis: number;
}

/** 60 a minute: many replicas of one identity restarting together are served at once; a looping caller gets one a second. */
export const DEFAULT_RATE_LIMIT: RateLimit = { burst: 60, perMillis: 60_000 };

/** Buckets that are full again carry no state; they are dropped once this many keys are held. */
const PRUNE_ABOVE = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class KeyedRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    if (!(limit.burst >= 1) || !(limit.perMillis > 0)) throw new Error(`invalid rate limit ${limit.burst}/${limit.perMillis} ms`);
    this.perMs = limit.burst / limit.perMillis;
  }

  /** Takes one token for `key`: 0 when granted, else the milliseconds until one is available. */
  take(key: string): number {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, at: now };
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    if (!this.buckets.has(key)) {
      if (this.buckets.size >= PRUNE_ABOVE) this.prune(now);
      this.buckets.set(key, bucket);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.perMs);
  }

  private prune(now: number): void {
    for (const [key, b] of this.buckets) if (b.tokens + (now - b.at) * this.perMs >= this.limit.burst) this.buckets.delete(key);
  }
}
