// What a failed TLS handshake on the ADS port most likely means, for the log:
// a proxy that does not trust meshlite's certificate was almost always
// bootstrapped from another state directory; one speaking plaintext, with an
// --insecure bootstrap. Logged at most once a minute per peer IP.

export interface TlsFailure {
  /** OpenSSL's reason ("tlsv1 alert unknown ca") or the error code. */
  reason: string;
  /** A metric label. */
  kind: 'untrusted_certificate' | 'plaintext_client' | 'closed_early' | 'other';
  hint?: string;
}

const UNTRUSTED = /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|DECRYPT_ERROR)$/;
const PLAINTEXT = /^ERR_SSL_(WRONG_VERSION_NUMBER|HTTP_REQUEST|HTTPS_PROXY_REQUEST|PACKET_LENGTH_TOO_LONG|UNEXPECTED_MESSAGE)$/;

export const UNTRUSTED_HINT = "was this proxy's bootstrap made with another --state-dir?";
export const PLAINTEXT_HINT = 'the peer speaks plaintext: was its bootstrap made with --insecure?';

export function classifyTlsFailure(err: Error & { code?: string; reason?: string }): TlsFailure {
  const code = err.code ?? '';
  const reason = err.reason ?? (code || err.message);
  if (UNTRUSTED.test(code)) return { reason, kind: 'untrusted_certificate', hint: UNTRUSTED_HINT };
  if (PLAINTEXT.test(code)) return { reason, kind: 'plaintext_client', hint: PLAINTEXT_HINT };
  if (code === 'ECONNRESET' || code === 'ERR_TLS_HANDSHAKE_TIMEOUT' || /hang up|timeout/i.test(err.message))
    return { reason: err.message, kind: 'closed_early' };
  return { reason, kind: 'other' };
}

/** At most one line per key per interval; counts what it held back. */
export class PerKeyRateLimit {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs = 60_000,
    private readonly maxKeys = 10_000,
  ) {}

  /** undefined: stay quiet; otherwise how many were held back since the last one. */
  admit(key: string, now = Date.now()): number | undefined {
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed += 1;
      return undefined;
    }
    if (!seen && this.last.size >= this.maxKeys) this.prune(now);
    this.last.set(key, { at: now, suppressed: 0 });
    return seen?.suppressed ?? 0;
  }

  private prune(now: number): void {
    for (const [k, v] of this.last) if (now - v.at >= this.intervalMs) this.last.delete(k);
    // Still full (a flood of distinct peers): forget the oldest half rather than grow.
    if (this.last.size >= this.maxKeys) [...this.last.keys()].slice(0, this.maxKeys / 2).forEach((k) => this.last.delete(k));
  }
}
