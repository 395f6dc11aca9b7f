// Revoked proxy tokens, kept in `<stateDir>/token-revocations.json` (mode
// 0600, always replaced atomically). An entry revokes either one token (by its
// id) or every token of a proxy issued up to a moment (tokens issued later,
// e.g. by a fresh `meshlite bootstrap`, are good again).
import { join } from 'node:path';
import { readIfExists, writeFileAtomic } from '../util/files.js';
import type { TokenClaims } from './proxy-token.js';

export const REVOCATIONS_FILE = 'token-revocations.json';
const FORMAT_VERSION = 1;

export type Revocation =
  /** Every token of `proxy` whose `iat` is at or before `issuedUpTo` (seconds since the epoch). */
  { proxy: string; issuedUpTo: number; revokedAt: string } | { tokenId: string; revokedAt: string };

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export function revocationsPath(stateDir: string): string {
  return join(stateDir, REVOCATIONS_FILE);
}

/** Strict: anything unexpected makes the whole file invalid (the caller keeps what it knew). */
export function parseRevocations(text: string): Parsed<Revocation[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not valid JSON (${(err as Error).message})` };
  }
  if (!isObject(doc)) return { ok: false, error: 'expected a JSON object {"version": 1, "revocations": [...]}' };
  if (doc.version !== FORMAT_VERSION)
    return { ok: false, error: `unsupported version ${JSON.stringify(doc.version)} (expected ${FORMAT_VERSION})` };
  if (!Array.isArray(doc.revocations)) return { ok: false, error: '"revocations" must be an array' };
  const out: Revocation[] = [];
  for (const [i, entry] of doc.revocations.entries()) {
    const parsed = parseRevocationEntry(entry);
    if (!parsed.ok) return { ok: false, error: `revocations[${i}]: ${parsed.error}` };
    out.push(parsed.value);
  }
  return { ok: true, value: out };
}

/** One entry, as the file and the store's `revocations/<id>` keys hold it. */
export function parseRevocationEntry(entry: unknown): Parsed<Revocation> {
  if (!isObject(entry)) return { ok: false, error: 'expected an object' };
  const keys = Object.keys(entry).sort().join(',');
  if (typeof entry.revokedAt !== 'string' || Number.isNaN(Date.parse(entry.revokedAt)))
    return { ok: false, error: '"revokedAt" must be an ISO date' };
  if (keys === 'issuedUpTo,proxy,revokedAt') {
    if (typeof entry.proxy !== 'string' || entry.proxy === '') return { ok: false, error: '"proxy" must be a non-empty string' };
    if (!Number.isSafeInteger(entry.issuedUpTo) || (entry.issuedUpTo as number) < 0)
      return { ok: false, error: '"issuedUpTo" must be seconds since the epoch' };
    return { ok: true, value: { proxy: entry.proxy, issuedUpTo: entry.issuedUpTo as number, revokedAt: entry.revokedAt } };
  }
  if (keys === 'revokedAt,tokenId') {
    if (typeof entry.tokenId !== 'string' || entry.tokenId === '') return { ok: false, error: '"tokenId" must be a non-empty string' };
    return { ok: true, value: { tokenId: entry.tokenId, revokedAt: entry.revokedAt } };
  }
  return { ok: false, error: `expected {proxy, issuedUpTo, revokedAt} or {tokenId, revokedAt}, found {${keys}}` };
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function formatRevocations(entries: readonly Revocation[]): string {
  return `${JSON.stringify({ version: FORMAT_VERSION, revocations: entries }, null, 2)}\n`;
}

/** The revocations of a state dir: none when the file does not exist, an error when it cannot be read or parsed. */
export async function readRevocations(stateDir: string): Promise<Parsed<Revocation[]>> {
  const path = revocationsPath(stateDir);
  let text: string | undefined;
  try {
    text = await readIfExists(path);
  } catch (err) {
    return { ok: false, error: `${path}: ${(err as Error).message}` };
  }
  if (text === undefined) return { ok: true, value: [] };
  const parsed = parseRevocations(text);
  return parsed.ok ? parsed : { ok: false, error: `${path}: ${parsed.error}` };
}

/** Appends entries to the state dir's file; refuses to touch a file it cannot parse (that would lose its revocations). */
export async function addRevocations(stateDir: string, added: readonly Revocation[]): Promise<Revocation[]> {
  const current = await readRevocations(stateDir);
  if (!current.ok) throw new Error(`${current.error}; fix or restore it first (nothing was written)`);
  const all = [...current.value, ...added];
  await writeFileAtomic(revocationsPath(stateDir), formatRevocations(all), 0o600);
  return all;
}

/** What a running meshlite checks every token against. */
export class RevocationList {
  private readonly byTokenId = new Map<string, Revocation>();
  /** Per proxy: the latest `issuedUpTo`. */
  private readonly byProxy = new Map<string, number>();

  constructor(readonly entries: readonly Revocation[] = []) {
    for (const e of entries) {
      if ('tokenId' in e) this.byTokenId.set(e.tokenId, e);
      else this.byProxy.set(e.proxy, Math.max(e.issuedUpTo, this.byProxy.get(e.proxy) ?? -1));
    }
  }

  get size(): number {
    return this.entries.length;
  }

  /** Why a token is revoked, or undefined when it is not. A token without `iat` counts as issued before any revocation. */
  revokedReason(claims: Pick<TokenClaims, 'workloadId' | 'tokenId' | 'issuedAt'>): string | undefined {
    if (claims.tokenId !== undefined && this.byTokenId.has(claims.tokenId))
      return `token ${claims.tokenId} was revoked at ${this.byTokenId.get(claims.tokenId)!.revokedAt}`;
    const upTo = this.byProxy.get(claims.workloadId);
    if (upTo !== undefined && (claims.issuedAt === undefined || claims.issuedAt <= upTo)) {
      return `every token of ${claims.workloadId} issued up to ${new Date(upTo * 1000).toISOString()} was revoked`;
    }
    return undefined;
  }
}
