// Tokens whose signature and claims already checked out, so that a token
// presented again (every CreateCertificate call and ADS stream of a proxy
// carries the same one) costs a lookup instead of a signature check. An
// entry holds until the token's own `exp`, checked at every lookup; tokens
// without one are not kept. Revocation is not cached: callers check it at
// every use. Only verified tokens get in, so garbage cannot crowd them out;
// past `capacity` the oldest entry goes.
/** More than the proxies one meshlite serves; an entry is a few hundred bytes. */
export const DEFAULT_VERIFIED_TOKENS = 10_000;

/** What a verified token says; `expiresAt` in seconds since the epoch. */
interface Expiring {
  expiresAt?: number;
}

export class VerifiedTokenCache<Claims extends Expiring> {
  readonly #entries = new Map<string, Claims & { expiresAt: number }>();

  constructor(readonly capacity: number = DEFAULT_VERIFIED_TOKENS) {}

  get size(): number {
    return this.#entries.size;
  }

  /** The claims of `token` if it was verified and has not expired at `nowSeconds`. */
  get(token: string, nowSeconds: number): Claims | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > nowSeconds) return entry;
    this.#entries.delete(token);
    return undefined;
  }

  remember(token: string, claims: Claims): void {
    if (claims.expiresAt === undefined || this.capacity < 1) return;
    if (this.#entries.size >= this.capacity && !this.#entries.has(token)) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, { ...claims, expiresAt: claims.expiresAt });
  }
}
