// Reads a replica cannot start without (the shared CA, the revocations) are
// retried while the store does not answer: an etcd outage delays a start, it
// never ends the process. Errors that are not the store's are thrown at once.
import type { Logger } from '../util/logger.js';
import type { EtcdStore } from './etcd-store.js';

/** Thrown by an attempt for a problem retrying cannot cure (a wrong key, a different CA). */
export class StoreContentError extends Error {}

export interface RetryOptions {
  logger?: Pick<Logger, 'warn'>;
  /** Give up (rethrow the store's error) after this long; default: never. */
  giveUpAfterMs?: number;
  /** Stop retrying when this is aborted. */
  signal?: AbortSignal;
}

export async function untilStoreAnswers<T>(
  store: EtcdStore,
  what: string,
  attempt: () => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const started = Date.now();
  let delay = 200;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof StoreContentError || options.signal?.aborted) throw err;
      if (options.giveUpAfterMs !== undefined && Date.now() - started >= options.giveUpAfterMs) throw err;
      if (tries === 1 || tries % 10 === 0)
        options.logger?.warn(
          { store: store.description, err: String((err as Error)?.message ?? err), tries },
          `the store does not answer; ${what} is retried until it does`,
        );
      await pause(delay, options.signal);
      delay = Math.min(delay * 2, 5000);
    }
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}
