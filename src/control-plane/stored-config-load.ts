// One load of the config resources a store holds: the same texts in the same
// order for the same entries (so one store revision always loads the same
// way), validated like files, and a value under the wrong key rejects the
// load like any other error.
import type { ConfigIssue } from '../config/diagnostics.js';
import type { LoadResult } from '../config/load-config.js';
import type { ConfigText } from '../config/load-texts.js';
import type { StoredValue } from '../store/etcd-store.js';
import { storedConfigTexts } from '../store/stored-resources.js';

export interface TextConfigLoader {
  loadTexts(texts: readonly ConfigText[]): Promise<LoadResult>;
}

export async function loadStoredConfig(prefix: string, entries: readonly StoredValue[], loader: TextConfigLoader): Promise<LoadResult> {
  const { texts, issues } = storedConfigTexts(prefix, entries);
  const result = await loader.loadTexts(texts);
  return withKeyIssues(result, issues);
}

/** The load, rejected when any stored value sits under a key that is not its own. */
export function withKeyIssues(result: LoadResult, keyIssues: readonly ConfigIssue[]): LoadResult {
  if (keyIssues.length === 0) return result;
  const loaderIssues = result.ok ? [] : result.issues;
  const issues = [...keyIssues, ...loaderIssues].sort(
    (a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.column - b.column,
  );
  return {
    ok: false,
    issues,
    totalIssues: keyIssues.length + (result.ok ? 0 : result.totalIssues),
    files: result.files,
    summaries: result.summaries,
  };
}
