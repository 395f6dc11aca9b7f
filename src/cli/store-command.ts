// What `apply`, `get` and `delete` share: one connection for the command, the
// exit codes, and how a change is reported (their --store flags come from
// store-connection.ts, like every store command's).
import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { createTwoFilesPatch } from 'diff';
import { formatIssues } from '../config/diagnostics.js';
import type { ConfigWriteOutcome, ConfigWriteRequest } from '../store/config-write.js';
import { conflictMessage, summarizeChanges } from '../store/config-transaction.js';
import type { EtcdStore } from '../store/etcd-store.js';
import { STORE_KEYS } from '../store/store-keys.js';
import { explainStoreError, tlsFailure } from '../store/store-tls.js';
import { openStore, type StoreConnectionFlags } from './store-connection.js';

/** 1: the config (or the request) is refused; 2: bad flags; 3: a concurrent write won; 4: etcd did not answer. */
export const EXIT = { ok: 0, refused: 1, usage: 2, conflict: 3, storeUnavailable: 4 } as const;

export type StoreFlags = StoreConnectionFlags & { store: string };

/**
 * Runs `fn` with a connection to the store and sets the exit code it returns.
 * etcd not answering becomes one line and exit 4: whatever the command writes
 * is one transaction, so nothing was half-written.
 */
export async function withStore(flags: StoreFlags, fn: (store: EtcdStore) => Promise<number>): Promise<void> {
  let store: EtcdStore;
  try {
    store = openStore(flags);
  } catch (err) {
    process.stderr.write(`meshlite: ${(err as Error).message}\n`);
    process.exitCode = EXIT.usage;
    return;
  }
  try {
    process.exitCode = await fn(store);
  } catch (err) {
    if (!isStoreFailure(err)) throw err;
    process.stderr.write(
      `meshlite: ${storeFailureLine(store.description, err as Error, store.options.location.tls)}; nothing was written\n`,
    );
    process.exitCode = EXIT.storeUnavailable;
  } finally {
    await store.close();
  }
}

/** Anything the etcd client throws (its errors, its fault-handling policies); a local bug is not one of them. */
export function isStoreFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const name = err.constructor?.name ?? '';
  return (
    /^(grpc|etcd|client|brokencircuit|isolatedcircuit|taskcancelled)/i.test(name) || /deadline|unavailable|ECONNREFUSED/i.test(err.message)
  );
}

/** One line for a store failure: what to fix for a TLS handshake that failed, else what etcd said. */
export function storeFailureLine(store: string, err: Error, tls: boolean): string {
  const refused = tlsFailure(err);
  if (refused) return `no TLS connection to the store ${store}: ${refused}`;
  const detail = explainStoreError(err, tls);
  if (/too many operations in txn/i.test(detail))
    return `the store ${store} refused the transaction as too large (${detail}); apply fewer resources at a time or raise etcd's --max-txn-ops`;
  if (/deadline|unavailable|circuit|ECONNREFUSED|connect/i.test(`${err.constructor?.name} ${detail}`))
    return `the store ${store} did not answer (${detail})`;
  return `the store ${store} failed the request (${detail})`;
}

export function whoWrites(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container): the environment's name stands
  }
  return `${user}@${hostname()}`;
}

export function parseCount(value: string): number {
  if (!/^\d{1,4}$/.test(value)) throw new Error(`expected a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** A resource as commands name it: its key without `config/` (group/Kind/namespace/name, `-` when cluster-scoped). */
export function resourceName(key: string): string {
  return key.startsWith(STORE_KEYS.config) ? key.slice(STORE_KEYS.config.length) : key;
}

/** Prints the outcome of an apply or delete and returns the exit code. */
export function reportWrite(outcome: ConfigWriteOutcome, output: 'text' | 'json', verb: string): number {
  if (outcome.kind === 'invalid') {
    const { plan } = outcome;
    for (const line of formatIssues(plan.issues, plan.totalIssues)) process.stderr.write(`${line}\n`);
    process.stderr.write(
      plan.notFound ? `${plan.notFound.length} not found; nothing was written\n` : `${plan.totalIssues} error(s); nothing was written\n`,
    );
    return EXIT.refused;
  }
  if (outcome.kind === 'conflict') {
    if (output === 'json')
      process.stdout.write(`${JSON.stringify({ written: false, conflict: outcome.conflict, retries: outcome.retries })}\n`);
    process.stderr.write(`meshlite ${verb}: ${conflictMessage(outcome.conflict, outcome.retries)}\n`);
    return EXIT.conflict;
  }
  const changes = outcome.kind === 'unchanged' ? [] : outcome.changes;
  if (output === 'json') {
    const written = outcome.kind === 'written';
    const revision = written ? outcome.revision : outcome.storeRevision;
    const retries = written ? outcome.retries : 0;
    const resources = outcome.outcomes.map((o) => ({ ...o, name: resourceName(o.key) }));
    const json = { written, dryRun: outcome.kind === 'dry-run', revision, retries, resources };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return EXIT.ok;
  }
  if (outcome.kind === 'dry-run') {
    for (const c of changes)
      process.stdout.write(patchOf(c.key, c.action === 'created' ? undefined : c.before, c.action === 'deleted' ? undefined : c.after));
  }
  const suffix = outcome.kind === 'dry-run' ? ' (dry run)' : '';
  for (const o of outcome.outcomes) process.stdout.write(`${resourceName(o.key)} ${o.action}${suffix}\n`);
  if (outcome.kind === 'unchanged') process.stdout.write(`no changes (store revision ${outcome.storeRevision})\n`);
  else if (outcome.kind === 'dry-run') process.stdout.write(`dry run: ${summarizeChanges(changes)}; nothing was written\n`);
  else {
    const retried = outcome.retries > 0 ? ` after ${outcome.retries} conflict retr${outcome.retries === 1 ? 'y' : 'ies'}` : '';
    process.stdout.write(`${summarizeChanges(changes)} at store revision ${outcome.revision}${retried}\n`);
  }
  return EXIT.ok;
}

function patchOf(key: string, before: string | undefined, after: string | undefined): string {
  const name = `etcd:${key}`;
  return createTwoFilesPatch(
    before === undefined ? '/dev/null' : name,
    after === undefined ? '/dev/null' : name,
    before ?? '',
    after ?? '',
    '',
    '',
    {
      context: 3,
    },
  );
}

/**
 * Test hook for the concurrent-write tests, not for users: with
 * MESHLITE_APPLY_HOLD_AFTER_READ=<file> every attempt stops between its read
 * and its write, says so on stderr, and goes on once <file> exists (60 s at most).
 */
export function holdAfterReadForTests(): ConfigWriteRequest['afterRead'] {
  const gate = process.env.MESHLITE_APPLY_HOLD_AFTER_READ;
  if (!gate) return undefined;
  return async (snapshot) => {
    process.stderr.write(`held after reading store revision ${snapshot.revision}\n`);
    const deadline = Date.now() + 60_000;
    while (!existsSync(gate) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  };
}
