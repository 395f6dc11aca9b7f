// Bounds on what one config load may read. Each guards a way a file (by
// accident or on purpose) could exhaust memory, the stack or the event loop;
// going over one is a config error naming the file, and nothing is applied.
export interface LoadLimits {
  /** Bytes in one file. */
  maxFileBytes: number;
  /** Bytes across every file of one load. */
  maxTotalBytes: number;
  /** YAML documents in one file. */
  maxDocumentsPerFile: number;
  /** Items in any one list of a resource (hosts, endpoints, addresses, rules, ...). */
  maxListItems: number;
  /** Nesting depth of maps and lists in one document. */
  maxDepth: number;
  /** Alias (`*name`) references in one document: a handful expand into gigabytes. */
  maxAliases: number;
  /** Errors listed in one result; the rest are counted. */
  maxReportedErrors: number;
}

export const DEFAULT_LOAD_LIMITS: Readonly<LoadLimits> = Object.freeze({
  maxFileBytes: 8 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
  maxDocumentsPerFile: 10_000,
  maxListItems: 10_000,
  maxDepth: 64,
  maxAliases: 100,
  maxReportedErrors: 100,
});

/** The command-line flag that sets each limit, named in the errors so users know what to change. */
export const LIMIT_FLAGS: Readonly<Record<keyof LoadLimits, string>> = Object.freeze({
  maxFileBytes: '--max-file-bytes',
  maxTotalBytes: '--max-config-bytes',
  maxDocumentsPerFile: '--max-documents-per-file',
  maxListItems: '--max-list-items',
  maxDepth: '--max-yaml-depth',
  maxAliases: '--max-yaml-aliases',
  maxReportedErrors: '--max-errors',
});

export function withDefaults(partial: Partial<LoadLimits> = {}): LoadLimits {
  const limits = { ...DEFAULT_LOAD_LIMITS };
  for (const key of Object.keys(DEFAULT_LOAD_LIMITS) as (keyof LoadLimits)[]) {
    const value = partial[key];
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}

/** "over the limit of 10000 (--max-list-items)" */
export function overLimit(key: keyof LoadLimits, limit: number): string {
  return `over the limit of ${limit} (${LIMIT_FLAGS[key]})`;
}
