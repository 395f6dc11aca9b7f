// Polls Marathon for apps (with their tasks) and pod statuses and keeps their
// ServiceEntries and WorkloadEntries as read-only config texts, loaded with the
// files or the store on every load. A Marathon that does not answer, or answers
// something that is not an app or pod list, changes nothing: the texts of the
// last valid answer stay, and the status says so until a poll succeeds.
import type { RegistryStatus } from '../admin/registry-status.js';
import type { ConfigText } from '../config/load-texts.js';
import { readApps, readPods } from '../config/marathon/marathon-documents.js';
import { mapMarathon } from '../config/marathon/marathon-mapping.js';
import type { Logger } from '../util/logger.js';

export interface MarathonRegistryOptions {
  /** Marathon's base URL, e.g. http://marathon.example:8080. */
  url: string;
  intervalMs: number;
  /** The namespace of apps that name none and whose id has one segment (default: `default`). */
  namespace?: string;
  logger?: Logger;
  /** Called after a poll whose resources differ from the last ones. */
  onChange?: () => void;
}

/** Larger answers are refused rather than held in memory. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export class MarathonRegistry {
  readonly description: string;
  #texts: ConfigText[] = [];
  #notes = '';
  #up = false;
  #since = new Date();
  #lastError: string | undefined = 'not polled yet';
  #lastSuccess: Date | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #failures = 0;

  constructor(private readonly options: MarathonRegistryOptions) {
    this.description = withoutCredentials(options.url);
  }

  /** The resources of the last valid answer, one text per app or pod, named `marathon:<id>`. */
  texts(): readonly ConfigText[] {
    return this.#texts;
  }

  status(): RegistryStatus {
    return {
      source: 'marathon',
      url: this.description,
      up: this.#up,
      since: this.#since.toISOString(),
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
      ...(this.#lastSuccess ? { lastSuccess: this.#lastSuccess.toISOString() } : {}),
      sources: this.#texts.length,
      servingLastGood: !this.#up && this.#lastSuccess !== undefined,
    };
  }

  /** One poll; true when the resources changed. Never throws. */
  async poll(): Promise<boolean> {
    let texts: ConfigText[];
    let notes: string[];
    try {
      const timeoutMs = Math.min(Math.max(this.options.intervalMs, 1000), 10_000);
      const [apps, pods] = await Promise.all([
        this.#get('/v2/apps?embed=apps.tasks', timeoutMs).then(readApps),
        this.#get('/v2/pods/::status', timeoutMs, true).then((doc) => (doc === undefined ? [] : readPods(doc))),
      ]);
      const mapped = mapMarathon(apps, pods, { namespace: this.options.namespace });
      texts = mapped.filter((m) => m.text !== '').map((m) => ({ name: m.name, text: m.text }));
      notes = mapped.flatMap((m) => m.notes.map((n) => `${m.name}: ${n}`));
    } catch (err) {
      this.#failed((err as Error)?.message ?? String(err));
      return false;
    }
    if (this.#stopped) return false;
    this.#succeeded();
    const joinedNotes = notes.join('\n');
    if (joinedNotes !== this.#notes && notes.length > 0)
      this.options.logger?.info({ registry: this.description, notes }, 'some Marathon apps, tasks or ports were left out');
    this.#notes = joinedNotes;
    const changed = !sameTexts(texts, this.#texts);
    this.#texts = texts;
    return changed;
  }

  /** Polls every interval from now on; a poll that changes the resources calls onChange. */
  start(): void {
    const next = () => {
      if (this.#stopped) return;
      this.#timer = setTimeout(async () => {
        if (await this.poll()) this.options.onChange?.();
        next();
      }, this.options.intervalMs);
      this.#timer.unref();
    };
    next();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #get(path: string, timeoutMs: number, missingIsEmpty = false): Promise<unknown> {
    const base = new URL(this.options.url);
    const headers: Record<string, string> = { accept: 'application/json' };
    // fetch refuses URLs with credentials: they go in a header instead.
    if (base.username !== '')
      headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
    base.username = '';
    base.password = '';
    const response = await fetch(`${base.toString().replace(/\/$/, '')}${path}`, {
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
    // A Marathon without pods support has no pod endpoint.
    if (missingIsEmpty && response.status === 404) return undefined;
    if (response.status !== 200) throw new Error(`GET ${path}: HTTP ${response.status}`);
    const length = Number(response.headers.get('content-length') ?? 0);
    if (length > MAX_ANSWER_BYTES) throw new Error(`GET ${path}: answer of ${length} bytes is too large`);
    const body = await response.text();
    if (body.length > MAX_ANSWER_BYTES) throw new Error(`GET ${path}: answer is too large`);
    try {
      return JSON.parse(body);
    } catch {
      throw new Error(`GET ${path}: not JSON`);
    }
  }

  #failed(message: string): void {
    if (this.#up || this.#lastError === 'not polled yet') this.#since = new Date();
    this.#up = false;
    this.#lastError = message;
    this.#failures += 1;
    const log = this.#failures === 1 ? this.options.logger?.warn : this.options.logger?.debug;
    log?.call(
      this.options.logger,
      { registry: this.description, err: message, attempt: this.#failures },
      this.#lastSuccess
        ? 'Marathon could not be read: keeping the services and workloads it last gave (retrying)'
        : 'Marathon could not be read: none of its services are known yet (retrying)',
    );
  }

  #succeeded(): void {
    if (!this.#up) {
      this.#since = new Date();
      if (this.#failures > 0) this.options.logger?.info({ registry: this.description }, 'Marathon answers again');
    }
    this.#up = true;
    this.#failures = 0;
    this.#lastError = undefined;
    this.#lastSuccess = new Date();
  }
}

function sameTexts(a: readonly ConfigText[], b: readonly ConfigText[]): boolean {
  return a.length === b.length && a.every((t, i) => t.name === b[i]!.name && t.text === b[i]!.text);
}

function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(an invalid URL)';
  }
}
