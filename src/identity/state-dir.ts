// meshlite's state directory holds the CA key and the token signing key: it is
// created 0700, and one that group or others can reach is tightened to 0700
// (and said so) before anything is read from it.
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface StateDirLogger {
  warn(fields: object, message: string): void;
}

const PRIVATE = 0o700;

/** Creates `stateDir` (and its `ca/` subdir, when present) 0700 or tightens them; throws a clear error when it cannot. */
export function secureStateDir(stateDir: string, logger?: StateDirLogger): void {
  try {
    mkdirSync(stateDir, { recursive: true, mode: PRIVATE });
  } catch (err) {
    throw new Error(`cannot create state directory ${stateDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  tighten(stateDir, logger);
  const ca = join(stateDir, 'ca');
  if (isDirectory(ca)) tighten(ca, logger);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function tighten(dir: string, logger?: StateDirLogger): void {
  const st = statSync(dir);
  if (!st.isDirectory()) throw new Error(`state directory ${dir} is not a directory`);
  const mode = st.mode & 0o777;
  if ((mode & 0o077) === 0) return;
  try {
    chmodSync(dir, mode & PRIVATE);
  } catch (err) {
    throw new Error(
      `state directory ${dir} is accessible to group or others (mode ${octal(mode)}) and cannot be made private: ${(err as Error).message}`,
    );
  }
  logger?.warn(
    { dir, from: octal(mode), to: octal(mode & PRIVATE) },
    'state directory was accessible to group or others; made it private (owner only)',
  );
}

const octal = (mode: number) => `0${mode.toString(8).padStart(3, '0')}`;
