// Loading config that is not in files: each source is a named text (a store
// key and its value), validated exactly as files are, with the source's name
// where a file name would be in every error.
import type { ConfigIssue } from './diagnostics.js';
import { DEFAULT_NAMESPACE, type LoadOptions, type LoadResult, buildConfigSet } from './load-config.js';
import { type LoadLimits, overLimit, withDefaults } from './limits.js';
import { parseYamlText, readYamlFiles, type FileSummary, type YamlDocument } from './yaml-files.js';
import type { YamlParseCache } from './yaml-parse-cache.js';

export interface ConfigText {
  /** What errors name as the file, e.g. `etcd:/meshlite/config/security.istio.io/AuthorizationPolicy/foo/deny`. */
  name: string;
  text: string;
  /** Files given to apply: the namespace of their documents that name none (stored values always name theirs). */
  defaultNamespace?: string;
}

/** Never throws; sources are read in the order given (sort them for a deterministic result). */
export function loadConfigTexts(sources: readonly ConfigText[], options: LoadOptions = {}): LoadResult {
  const limits = withDefaults(options.limits);
  const parsed = parseTexts(sources, limits, options.parseCache);
  options.parseCache?.endLoad();
  options.onDocuments?.(parsed.documents);
  return buildConfigSet(
    parsed.documents,
    parsed.issues,
    sources.map((s) => s.name),
    { limits, summaries: parsed.summaries },
  );
}

/** Files and named texts (a registry's resources) as one config. */
export function loadConfigFilesAndTexts(paths: readonly string[], sources: readonly ConfigText[], options: LoadOptions = {}): LoadResult {
  const limits = withDefaults(options.limits);
  const cache = options.parseCache;
  const read = readYamlFiles(paths, options.cwd ?? process.cwd(), limits, options.defaultNamespace ?? DEFAULT_NAMESPACE, cache?.parse);
  const parsed = parseTexts(sources, limits, cache);
  cache?.endLoad();
  options.onDocuments?.([...read.documents, ...parsed.documents]);
  return buildConfigSet(
    [...read.documents, ...parsed.documents],
    [...read.issues, ...parsed.issues],
    [...read.files, ...sources.map((s) => s.name)],
    { limits, summaries: [...read.summaries, ...parsed.summaries] },
  );
}

function parseTexts(
  sources: readonly ConfigText[],
  limits: LoadLimits,
  cache?: YamlParseCache,
): { documents: YamlDocument[]; issues: ConfigIssue[]; summaries: FileSummary[] } {
  const documents: YamlDocument[] = [];
  const issues: ConfigIssue[] = [];
  const summaries: FileSummary[] = [];
  for (const source of sources) {
    const bytes = Buffer.byteLength(source.text);
    if (bytes > limits.maxFileBytes) {
      issues.push({
        file: source.name,
        line: 0,
        column: 0,
        path: '',
        message: `${bytes} bytes, ${overLimit('maxFileBytes', limits.maxFileBytes)}`,
      });
      continue;
    }
    const parsed = (cache?.parse ?? parseYamlText)(source.text, source.name, limits, source.defaultNamespace);
    for (const d of parsed.documents) documents.push(d);
    for (const i of parsed.issues) issues.push(i);
    summaries.push({ file: source.name, bytes, documents: parsed.documents.length });
  }
  return { documents, issues, summaries };
}
