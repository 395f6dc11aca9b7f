// Fetches the JWKS documents named by RequestAuthentication `jwksUri`s so the
// control plane can inline them into jwt_authn (Envoy then needs no route to
// the identity provider). Each URI is cached and refreshed on an interval
// (Istio's default: 20 minutes); a failed refresh keeps the last good
// document, and `onChange` fires whenever the served document changes.
//
// Only http/https, a timeout per fetch, a size limit, and the body must be a
// JSON object with a `keys` array: anything else is a failure, never cached.

export const DEFAULT_JWKS_REFRESH_MILLIS = 20 * 60 * 1000;
export const DEFAULT_JWKS_TIMEOUT_MILLIS = 5_000;
export const DEFAULT_JWKS_MAX_BYTES = 1024 * 1024;

export interface JwksFetcherOptions {
  refreshMillis?: number;
  timeoutMillis?: number;
  maxBytes?: number;
  /** Called when a URI's document is first fetched or its content changes. */
  onChange?: (uri: string, jwks: string) => void;
  /** Called when a fetch fails (the last good document, if any, stays current). */
  onError?: (uri: string, error: Error) => void;
}

export interface JwksEntry {
  /** The last good document, verbatim. */
  jwks?: string;
  fetchedAt?: number;
  lastError?: string;
  lastAttemptAt?: number;
}

interface Watched {
  entry: JwksEntry;
  timeoutMillis: number;
  timer?: NodeJS.Timeout;
  inFlight?: Promise<JwksEntry>;
}

export class JwksFetchError extends Error {
  constructor(
    readonly uri: string,
    message: string,
  ) {
    super(`JWKS ${uri}: ${message}`);
    this.name = 'JwksFetchError';
  }
}

/** Parses and checks `text` as a JWKS; returns an error message or undefined. */
export function checkJwks(text: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return `invalid JSON: ${(err as Error).message}`;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'not a JSON object';
  if (!Array.isArray((doc as { keys?: unknown }).keys)) return 'no "keys" array';
  return undefined;
}

/** Checks that `uri` is an absolute http(s) URL; returns it parsed. */
export function parseJwksUri(uri: string): URL {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new JwksFetchError(uri, 'not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new JwksFetchError(uri, `unsupported scheme ${url.protocol.replace(/:$/, '')} (only http and https)`);
  }
  return url;
}

async function readLimited(uri: string, body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new JwksFetchError(uri, `document larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
}

/** One fetch of `uri`, validated; throws JwksFetchError. */
export async function fetchJwks(
  uri: string,
  timeoutMillis = DEFAULT_JWKS_TIMEOUT_MILLIS,
  maxBytes = DEFAULT_JWKS_MAX_BYTES,
): Promise<string> {
  const url = parseJwksUri(uri);
  const signal = AbortSignal.timeout(timeoutMillis);
  try {
    const res = await fetch(url, { signal, headers: { accept: 'application/json' }, redirect: 'follow' });
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new JwksFetchError(uri, `HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw new JwksFetchError(uri, `document larger than ${maxBytes} bytes (content-length ${declared})`);
    }
    const text = await readLimited(uri, res.body, maxBytes);
    const problem = checkJwks(text);
    if (problem) throw new JwksFetchError(uri, problem);
    return text;
  } catch (err) {
    if (err instanceof JwksFetchError) throw err;
    if (signal.aborted) throw new JwksFetchError(uri, `timed out after ${timeoutMillis}ms`);
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new JwksFetchError(uri, `${(err as Error).message}${cause ? ` (${cause})` : ''}`);
  }
}

export class JwksFetcher {
  private readonly watched = new Map<string, Watched>();
  private readonly refreshMillis: number;
  private readonly timeoutMillis: number;
  private readonly maxBytes: number;
  private closed = false;

  constructor(private readonly options: JwksFetcherOptions = {}) {
    this.refreshMillis = options.refreshMillis ?? DEFAULT_JWKS_REFRESH_MILLIS;
    this.timeoutMillis = options.timeoutMillis ?? DEFAULT_JWKS_TIMEOUT_MILLIS;
    this.maxBytes = options.maxBytes ?? DEFAULT_JWKS_MAX_BYTES;
  }

  /** The last good document for `uri`, or undefined if none was fetched yet. */
  current(uri: string): string | undefined {
    return this.watched.get(uri)?.entry.jwks;
  }

  /** Cache state of `uri` (a copy), or undefined if it is not watched. */
  entry(uri: string): JwksEntry | undefined {
    const w = this.watched.get(uri);
    return w ? { ...w.entry } : undefined;
  }

  uris(): string[] {
    return [...this.watched.keys()].sort();
  }

  /**
   * Starts watching `uri` (first fetch now, then every refresh interval) and
   * resolves once the first fetch settles; already watched URIs resolve at once
   * (or with the in-flight fetch). Never rejects: see `entry(uri).lastError`.
   */
  watch(uri: string, timeoutMillis = this.timeoutMillis): Promise<JwksEntry> {
    if (this.closed) throw new Error('JwksFetcher is closed');
    const existing = this.watched.get(uri);
    if (existing) existing.timeoutMillis = timeoutMillis;
    if (existing) return existing.inFlight ?? Promise.resolve({ ...existing.entry });
    const w: Watched = { entry: {}, timeoutMillis };
    this.watched.set(uri, w);
    w.timer = setInterval(() => void this.refresh(uri), this.refreshMillis);
    w.timer.unref();
    return this.refresh(uri);
  }

  /**
   * Watches exactly `uris`: new ones start, ones no longer listed are dropped.
   * `timeouts` gives a URI its own fetch timeout (a RequestAuthentication's
   * `timeout`); others use the fetcher's default.
   */
  async setUris(uris: Iterable<string>, timeouts?: ReadonlyMap<string, number>): Promise<void> {
    const wanted = new Set(uris);
    for (const uri of [...this.watched.keys()]) if (!wanted.has(uri)) this.unwatch(uri);
    await Promise.all([...wanted].map((uri) => this.watch(uri, timeouts?.get(uri) ?? this.timeoutMillis)));
  }

  unwatch(uri: string): void {
    const w = this.watched.get(uri);
    if (!w) return;
    clearInterval(w.timer);
    this.watched.delete(uri);
  }

  /** Fetches `uri` now (joining a fetch in flight); never rejects. */
  refresh(uri: string): Promise<JwksEntry> {
    const w = this.watched.get(uri);
    if (!w) return Promise.reject(new Error(`JWKS ${uri} is not watched`));
    w.inFlight ??= this.fetchInto(uri, w).finally(() => {
      w.inFlight = undefined;
    });
    return w.inFlight;
  }

  close(): void {
    this.closed = true;
    for (const uri of [...this.watched.keys()]) this.unwatch(uri);
  }

  private async fetchInto(uri: string, w: Watched): Promise<JwksEntry> {
    w.entry.lastAttemptAt = Date.now();
    try {
      const text = await fetchJwks(uri, w.timeoutMillis, this.maxBytes);
      if (this.watched.get(uri) !== w) return { ...w.entry };
      const changed = text !== w.entry.jwks;
      w.entry.jwks = text;
      w.entry.fetchedAt = Date.now();
      w.entry.lastError = undefined;
      if (changed) this.options.onChange?.(uri, text);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      w.entry.lastError = error.message;
      if (this.watched.get(uri) === w) this.options.onError?.(uri, error);
    }
    return { ...w.entry };
  }
}
