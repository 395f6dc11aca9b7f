// The config resources a store holds, one per key, turned into the named
// texts the config loader validates. The key must be the one the resource
// itself names (group, kind, namespace, name): a value written by hand under
// another key, or holding several documents, is an error of that key, so
// what `get` lists, what `delete` removes and what is served always agree.
import { parseAllDocuments } from 'yaml';
import type { ConfigIssue } from '../config/diagnostics.js';
import type { ConfigText } from '../config/load-texts.js';
import type { StoredValue } from './etcd-store.js';
import { configKey, STORE_KEYS } from './store-keys.js';

/** How errors name a stored resource: `etcd:<prefix><key>`. */
export function storedResourceName(prefix: string, key: string): string {
  return `etcd:${prefix}${key}`;
}

/** The key a parsed resource belongs under, or undefined when it lacks apiVersion, kind or metadata.name. */
export function resourceKeyOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const doc = value as Record<string, unknown>;
  const meta = doc.metadata as Record<string, unknown> | undefined;
  if (typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string' || typeof meta?.name !== 'string') return undefined;
  const group = doc.apiVersion.split('/')[0]!;
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : undefined;
  if (!/^[A-Za-z0-9.-]+$/.test(group) || !/^[A-Za-z0-9]+$/.test(doc.kind)) return undefined;
  if (!/^[a-z0-9.-]+$/.test(meta.name) || (namespace !== undefined && !/^[a-z0-9-]+$/.test(namespace))) return undefined;
  return configKey({ group, kind: doc.kind, namespace, name: meta.name });
}

/**
 * The stored resources as texts for the loader (sorted by key, so the same
 * store revision always loads the same way), and the problems of keys whose
 * value is not exactly one resource of that key.
 */
export function storedConfigTexts(prefix: string, entries: readonly StoredValue[]): { texts: ConfigText[]; issues: ConfigIssue[] } {
  const texts: ConfigText[] = [];
  const issues: ConfigIssue[] = [];
  const sorted = [...entries]
    .filter((e) => e.key.startsWith(STORE_KEYS.config))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const entry of sorted) {
    const name = storedResourceName(prefix, entry.key);
    const text = entry.value.toString('utf8');
    const problem = keyMismatch(entry.key, text);
    if (problem) issues.push({ file: name, line: 1, column: 1, path: '', message: problem });
    texts.push({ name, text });
  }
  return { texts, issues };
}

function keyMismatch(key: string, text: string): string | undefined {
  let values: unknown[];
  try {
    values = parseAllDocuments(text, { prettyErrors: false })
      .filter((d) => d.contents !== null)
      .map((d) => d.toJS({ maxAliasCount: 0 }));
  } catch {
    return undefined; // not parseable: the loader reports where
  }
  if (values.length !== 1) return `a store key holds exactly one resource; this one holds ${values.length}`;
  const expected = resourceKeyOf(values[0]);
  if (expected !== undefined && expected !== key)
    return `the resource stored here belongs under the key ${expected} (its apiVersion, kind, namespace and name); write it with meshlite apply`;
  return undefined;
}
