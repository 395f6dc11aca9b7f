// uvu drops an error thrown by a `before` hook: the file ends with "(0 / N)",
// no reason and exit code 0 (its runner returns from a `finally` block). Test
// files register their hooks here instead: an error is printed to stderr,
// naming the hook, before it is rethrown. (An `after` error does stop uvu
// loudly; it goes through the same wrapper so both read alike.)
import type { Callback, Test } from 'uvu';

function reporting<T>(kind: 'before' | 'after', hook: Callback<T>): Callback<T> {
  return async (context) => {
    try {
      await hook(context);
    } catch (err) {
      console.error(`✘ the ${kind} hook failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      throw err;
    }
  };
}

/** `suite.before(hook)`, with the hook's error printed. */
export function before<T>(suite: Test<T>, hook: Callback<T>): void {
  suite.before(reporting('before', hook));
}

/** `suite.after(hook)`, with the hook's error printed. */
export function after<T>(suite: Test<T>, hook: Callback<T>): void {
  suite.after(reporting('after', hook));
}
