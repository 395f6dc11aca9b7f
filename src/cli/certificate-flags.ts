// Flags that `meshlite agent` and `meshlite ca issue` share: meshlite's root
// to trust at first contact, and the certificate lifetime to ask for.
import { readFileSync } from 'node:fs';
import { certificateBlocks } from '../ca/pem.js';
import { parseDurationSeconds } from './duration.js';
import { exitWith } from './state.js';

/** The PEM text of `--root-cert`, or exit 1 naming `command` when it is unreadable or holds no certificate. */
export function readRootCertOrExit(path: string, command: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return exitWith(`${command}: cannot read --root-cert ${path}: ${(err as Error).message}`);
  }
  const certs = certificateBlocks(text, `--root-cert ${path}`);
  if (!certs.ok) return exitWith(`${command}: ${certs.error}`);
  return text;
}

/** A lifetime flag in seconds (at least 1), or exit 1. */
export function ttlSecondsOrExit(text: string, flag: string, command: string): number {
  let seconds: number;
  try {
    seconds = parseDurationSeconds(text);
  } catch (err) {
    return exitWith(`${command}: ${flag}: ${(err as Error).message}`);
  }
  if (!(seconds >= 1)) exitWith(`${command}: ${flag}: must be at least 1 s (got "${text}")`);
  return seconds;
}
