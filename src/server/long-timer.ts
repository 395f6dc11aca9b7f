// setTimeout caps delays at 2^31-1 ms (about 24.8 days) and fires a longer one
// at once; a token may well live longer, so long delays are chained.
const MAX_DELAY_MS = 2_147_483_647;

/** Runs `fn` once at `Date.now() + delayMs` (immediately when not positive); returns a cancel function. */
export function setLongTimeout(fn: () => void, delayMs: number): () => void {
  const due = Date.now() + delayMs;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = due - Date.now();
    if (left > MAX_DELAY_MS) timer = setTimeout(arm, MAX_DELAY_MS);
    else timer = setTimeout(fn, Math.max(0, left));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
