// The proxy token as the agent reads it: from a file that an operator (or a
// secret manager) may replace at any time, so it is read at each use.
import { readFileSync } from 'node:fs';
import { decodeJwt } from 'jose';

/** The token in `path`, trimmed; undefined when the file is missing or empty. Other read errors throw. */
export function readTokenFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the token file ${path}: ${(err as Error).message}`);
  }
}

/**
 * The proxy a token names (its subject), read without verifying it: only to
 * catch a token meant for another proxy early. meshlite does the verifying.
 */
export function tokenSubject(token: string): string | undefined {
  try {
    const sub = decodeJwt(token).sub;
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}
