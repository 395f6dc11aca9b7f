// What an apply or a delete would do to the stored config, decided before
// anything is written: the resulting config is checked as a whole, with the
// same checks `validate` runs, so a change that breaks it is refused with every
// error, each naming the file (or store key) and line it is in.
import { type ConfigIssue, sortIssues } from '../config/diagnostics.js';
import type { ConfigFile } from '../config/config-files.js';
import type { LoadResult } from '../config/load-config.js';
import type { ConfigText } from '../config/load-texts.js';
import type { ConfigChange, ConfigSnapshot } from './config-transaction.js';
import type { StoredValue } from './etcd-store.js';
import { splitResourceDocuments } from './resource-documents.js';
import { storedConfigTexts } from './stored-resources.js';

export interface ResourceOutcome {
  key: string;
  action: 'created' | 'configured' | 'unchanged' | 'deleted';
  /** The file it came from (apply, delete -f). */
  source?: string;
}

export type ConfigPlan =
  | { ok: true; outcomes: ResourceOutcome[]; changes: ConfigChange[] }
  | { ok: false; issues: ConfigIssue[]; totalIssues: number; notFound?: string[] };

export interface PlanOptions {
  /** The checks `validate` runs, over named texts (the control plane's loadMeshTexts; the store layer may not import it). */
  validate: (texts: readonly ConfigText[]) => LoadResult;
}

/**
 * The stored config with the files' resources put in (one key each, replacing
 * what the key held). A file's `defaultNamespace` is written into its
 * documents that name none. `readIssues`: problems reading the files (unreadable,
 * too large), reported with the rest.
 */
export function planApply(
  snapshot: ConfigSnapshot,
  files: readonly ConfigFile[],
  readIssues: readonly ConfigIssue[],
  options: PlanOptions,
): ConfigPlan {
  const applied = new Map<string, { text: string; source: string }>();
  const keyless: string[] = [];
  for (const file of files) {
    for (const doc of splitResourceDocuments(file.text, file.defaultNamespace)) {
      // Twice in the files: the loader reports the duplicate.
      if (doc.key === undefined) keyless.push(file.display);
      else if (!applied.has(doc.key)) applied.set(doc.key, { text: doc.text, source: file.display });
    }
  }
  const kept = snapshot.resources.filter((r) => !applied.has(r.key));
  const stored = storedConfigTexts(snapshot.prefix, kept);
  // Stored first (sorted by key), the files after: what conflicts with the stored config is reported in the file.
  const texts: ConfigText[] = [
    ...stored.texts,
    ...files.map((f) => ({ name: f.display, text: f.text, ...(f.defaultNamespace ? { defaultNamespace: f.defaultNamespace } : {}) })),
  ];
  const checked = checkConfig(texts, [...readIssues, ...stored.issues], options);
  if (!checked.ok) return checked;
  // The loader rejects every document that names no key; this is the guard that none slips through unwritten.
  if (keyless.length > 0) {
    const issues = keyless.map((f) => issue(f, 'a document names no store key (apiVersion, kind, metadata.name)'));
    return { ok: false, issues, totalIssues: issues.length };
  }
  if (applied.size === 0) return { ok: false, issues: [issue(files[0]?.display ?? '-', 'no resources to apply')], totalIssues: 1 };

  const current = new Map(snapshot.resources.map((r) => [r.key, r.value.toString('utf8')]));
  const outcomes: ResourceOutcome[] = [];
  const changes: ConfigChange[] = [];
  for (const [key, { text, source }] of applied) {
    const before = current.get(key);
    if (before === text) {
      outcomes.push({ key, action: 'unchanged', source });
      continue;
    }
    const action = before === undefined ? 'created' : 'configured';
    outcomes.push({ key, action, source });
    changes.push({ key, action, before, after: text });
  }
  const result = [
    ...kept.map((r) => ({ key: r.key, text: r.value.toString('utf8') })),
    ...[...applied].map(([key, a]) => ({ key, text: a.text })),
  ];
  return servedCheck(snapshot.prefix, result, { ok: true, outcomes, changes }, options);
}

/** The stored config without `keys`; a key that is not stored is reported unless `ignoreNotFound`. */
export function planDelete(
  snapshot: ConfigSnapshot,
  keys: readonly { key: string; source?: string }[],
  ignoreNotFound: boolean,
  options: PlanOptions,
): ConfigPlan {
  const current = new Map(snapshot.resources.map((r) => [r.key, r]));
  const notFound = keys.filter((k) => !current.has(k.key)).map((k) => k.key);
  if (notFound.length > 0 && !ignoreNotFound) {
    const issues = notFound.map((key) => issue(key, 'not found in the store'));
    return { ok: false, issues, totalIssues: issues.length, notFound };
  }
  const removed = new Map<string, StoredValue>();
  const outcomes: ResourceOutcome[] = [];
  for (const { key, source } of keys) {
    const entry = current.get(key);
    if (!entry || removed.has(key)) continue;
    removed.set(key, entry);
    outcomes.push({ key, action: 'deleted', source });
  }
  const kept = snapshot.resources.filter((r) => !removed.has(r.key));
  const changes: ConfigChange[] = [...removed.values()].map((r) => ({ key: r.key, action: 'deleted', before: r.value.toString('utf8') }));
  return servedCheck(
    snapshot.prefix,
    kept.map((r) => ({ key: r.key, text: r.value.toString('utf8') })),
    { ok: true, outcomes, changes },
    options,
  );
}

/**
 * The values to be stored, checked as `serve` will load them: the same
 * result the files were checked as, unless a document does not stand alone
 * when cut out of its file.
 */
function servedCheck(
  prefix: string,
  result: readonly { key: string; text: string }[],
  plan: ConfigPlan & { ok: true },
  options: PlanOptions,
): ConfigPlan {
  const entries: StoredValue[] = result.map((r) => ({ key: r.key, value: Buffer.from(r.text), modRevision: 0, createRevision: 0 }));
  const stored = storedConfigTexts(prefix, entries);
  const checked = checkConfig(stored.texts, stored.issues, options);
  return checked.ok ? plan : checked;
}

function checkConfig(
  texts: readonly ConfigText[],
  extraIssues: readonly ConfigIssue[],
  options: PlanOptions,
): { ok: true } | { ok: false; issues: ConfigIssue[]; totalIssues: number } {
  const loaded = options.validate(texts);
  if (loaded.ok && extraIssues.length === 0) return { ok: true };
  const issues = sortIssues([...extraIssues, ...(loaded.ok ? [] : loaded.issues)]);
  return { ok: false, issues, totalIssues: extraIssues.length + (loaded.ok ? 0 : loaded.totalIssues) };
}

function issue(file: string, message: string): ConfigIssue {
  return { file, line: 0, column: 0, path: '', message };
}
