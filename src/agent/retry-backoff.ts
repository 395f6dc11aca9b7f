// Exponential backoff with jitter for reconnecting to meshlite: many agents
// that lost meshlite together must not all come back at the same moment.

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { initialMs: 1000, maxMs: 30_000 };

/**
 * The delay before retry `attempt` (1 for the first): the initial delay
 * doubled per attempt up to the maximum, then a random point in its upper half.
 */
export function retryDelayMs(attempt: number, settings: BackoffSettings, random: () => number = Math.random): number {
  const initial = Math.max(1, settings.initialMs);
  const max = Math.max(initial, settings.maxMs);
  const base = Math.min(max, initial * 2 ** Math.min(Math.max(0, attempt - 1), 30));
  return Math.round(base / 2 + (base / 2) * random());
}

/** The state of reconnecting: failures in a row since the last healthy stream, and the last error. */
export class RetryState {
  private failures = 0;
  lastError: string | undefined;

  constructor(private readonly settings: BackoffSettings) {}

  /** Records a failure; returns how long to wait before the next attempt. */
  failed(error: string): { delayMs: number; attempt: number } {
    this.lastError = error;
    this.failures++;
    return { delayMs: retryDelayMs(this.failures, this.settings), attempt: this.failures };
  }

  /** A stream worked (or a reconnect was asked for): the next failure starts the backoff over. */
  reset(): void {
    this.failures = 0;
  }
}
