// One apply or delete from start to end: read the stored config, plan the
// change against it, write it in one transaction; when someone else wrote in
// between, read again and plan again (the change may no longer be valid on
// top of theirs) up to `retries` times.
import type { ConfigPlan, ResourceOutcome } from './config-plan.js';
import {
  type ConfigChange,
  type ConfigConflict,
  type ConfigSnapshot,
  commitConfigChanges,
  readConfigSnapshot,
  summarizeChanges,
} from './config-transaction.js';
import type { EtcdStore } from './etcd-store.js';

export interface ConfigWriteRequest {
  /** Decides the change from a fresh read; called again after each conflict. */
  plan(snapshot: ConfigSnapshot): ConfigPlan;
  retries: number;
  dryRun: boolean;
  /** Who writes, for the `config-writes` note (user@host). */
  by: string;
  /** Test hook: runs between the read and the write of every attempt. */
  afterRead?: (snapshot: ConfigSnapshot, attempt: number) => Promise<void>;
}

export type ConfigWriteOutcome =
  | { kind: 'invalid'; plan: ConfigPlan & { ok: false } }
  | { kind: 'unchanged'; outcomes: ResourceOutcome[]; storeRevision: number }
  | { kind: 'dry-run'; outcomes: ResourceOutcome[]; changes: ConfigChange[]; storeRevision: number }
  | { kind: 'written'; outcomes: ResourceOutcome[]; changes: ConfigChange[]; revision: number; retries: number }
  | { kind: 'conflict'; conflict: ConfigConflict; retries: number };

/** Throws only what the store throws (unreachable, timed out): nothing is half-written then either. */
export async function writeConfig(store: EtcdStore, request: ConfigWriteRequest): Promise<ConfigWriteOutcome> {
  for (let attempt = 0; ; attempt++) {
    const snapshot = await readConfigSnapshot(store);
    const plan = request.plan(snapshot);
    if (!plan.ok) return { kind: 'invalid', plan };
    if (plan.changes.length === 0) return { kind: 'unchanged', outcomes: plan.outcomes, storeRevision: snapshot.revision };
    if (request.dryRun) return { kind: 'dry-run', outcomes: plan.outcomes, changes: plan.changes, storeRevision: snapshot.revision };
    await request.afterRead?.(snapshot, attempt);
    const result = await commitConfigChanges(store, snapshot, plan.changes, {
      by: request.by,
      at: new Date().toISOString(),
      summary: summarizeChanges(plan.changes),
    });
    if (result.committed)
      return { kind: 'written', outcomes: plan.outcomes, changes: plan.changes, revision: result.revision, retries: attempt };
    if (attempt >= request.retries) return { kind: 'conflict', conflict: result.conflict, retries: attempt };
  }
}
