// Changing the stored config: read it at one revision, then write every change
// in one etcd transaction that only succeeds if nobody wrote the config in
// between (the `config-writes` key, bumped by every apply and delete, has not
// moved). Either all of an apply lands or none of it does.
import type { EtcdStore, StoredValue } from './etcd-store.js';
import { STORE_KEYS } from './store-keys.js';

export interface ConfigSnapshot {
  /** The store prefix, for naming stored resources in errors. */
  prefix: string;
  /** The store revision the config was read at. */
  revision: number;
  /** The `config-writes` key as read; undefined before the first write. */
  writes: { modRevision: number } | undefined;
  /** Every `config/` key, sorted by key. */
  resources: StoredValue[];
}

export type ConfigChange =
  | { key: string; action: 'created' | 'configured'; before?: string; after: string }
  | { key: string; action: 'deleted'; before: string };

/** What `config-writes` holds after a write: who changed the config, when, on top of which revision. */
export interface ConfigWriteNote {
  /** The store revision the change was computed from. */
  revision: number;
  by: string;
  at: string;
  summary: string;
}

export type CommitResult = { committed: true; revision: number } | { committed: false; conflict: ConfigConflict };

export interface ConfigConflict {
  /** Where `config-writes` is now (0 when it is gone). */
  currentRevision: number;
  readRevision: number;
}

/** `config/` and `config-writes` in one read, so both are of the same revision. */
export async function readConfigSnapshot(store: EtcdStore): Promise<ConfigSnapshot> {
  // Both keys start with "config"; one range over that prefix reads them together.
  const read = await store.range('config');
  const writes = read.entries.find((e) => e.key === STORE_KEYS.configWrites);
  return {
    prefix: store.options.location.prefix,
    revision: read.revision,
    writes: writes ? { modRevision: writes.modRevision } : undefined,
    resources: read.entries.filter((e) => e.key.startsWith(STORE_KEYS.config)),
  };
}

/** Writes `changes` if the config is still as `snapshot` read it; never writes part of them. */
export async function commitConfigChanges(
  store: EtcdStore,
  snapshot: ConfigSnapshot,
  changes: readonly ConfigChange[],
  note: Omit<ConfigWriteNote, 'revision'>,
): Promise<CommitResult> {
  const writesKey = STORE_KEYS.configWrites;
  const value: ConfigWriteNote = { revision: snapshot.revision, ...note };
  const res = await store.call((kv) => {
    const unchanged = snapshot.writes ? kv.if(writesKey, 'Mod', '==', snapshot.writes.modRevision) : kv.if(writesKey, 'Create', '==', 0);
    const ops = changes.map((c) => (c.action === 'deleted' ? kv.delete().key(c.key) : kv.put(c.key).value(c.after)));
    return unchanged
      .then(...ops, kv.put(writesKey).value(JSON.stringify(value)))
      .else(kv.get(writesKey))
      .commit();
  });
  if (res.succeeded) return { committed: true, revision: Number(res.header.revision) };
  const current = res.responses[0]?.response_range?.kvs[0];
  return {
    committed: false,
    conflict: { currentRevision: current ? Number(current.mod_revision) : 0, readRevision: snapshot.writes?.modRevision ?? 0 },
  };
}

export function conflictMessage(conflict: ConfigConflict, retriesUsed: number): string {
  const tried = retriesUsed > 0 ? ` (after ${retriesUsed} retr${retriesUsed === 1 ? 'y' : 'ies'})` : '';
  return (
    `the store's config changed since it was read (config-writes at revision ${conflict.currentRevision}, read at ${conflict.readRevision})${tried}: ` +
    'nothing was written; run again to apply on top of the new config, or use --retries'
  );
}

export function summarizeChanges(changes: readonly ConfigChange[]): string {
  const count = (action: ConfigChange['action']) => changes.filter((c) => c.action === action).length;
  const parts = (['created', 'configured', 'deleted'] as const).filter((a) => count(a) > 0).map((a) => `${count(a)} ${a}`);
  return parts.join(', ') || 'no changes';
}
