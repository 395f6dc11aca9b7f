// Helpers of the store config tests: polling a condition, writing resources
// to a store (also while it restarts), reading what a load holds.
import type { LoadResult } from '../../src/config/load-config.js';
import type { EtcdStore } from '../../src/store/etcd-store.js';
import { resourceKeyOf } from '../../src/store/stored-resources.js';
import { type Document, workloadEntry, yamlOf } from '../support/fixtures/index.js';

export interface Load {
  result: LoadResult;
  reason: string;
}

/** Polls `check` (after `refresh`, when given) until it holds. */
export async function until(what: string, check: () => boolean, timeoutMs = 20_000, refresh?: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await refresh?.();
    if (check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function put(store: EtcdStore, doc: Document): Promise<number> {
  const res = await store.kv.put(resourceKeyOf(doc)!).value(yamlOf(doc));
  return Number(res.header.revision);
}

/** Retries a write until etcd takes it (it was just restarted). */
export async function putWhenUp(store: EtcdStore, doc: Document): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await put(store, doc);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export const workloadIds = (load: Load | undefined): string[] => {
  if (!load?.result.ok) throw new Error(`expected a valid load, got ${JSON.stringify(load && !load.result.ok && load.result.issues)}`);
  return load.result.config.workloadEntries.map((w) => `${w.meta.name}.${w.meta.namespace}`).sort();
};

export const wl = (ref: string, address: string) => workloadEntry(ref, { address });
