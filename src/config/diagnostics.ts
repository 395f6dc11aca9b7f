// Every config problem carries where it is (file, line, column) and what it is
// (field path + message), so a user can fix all of them in one pass.
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** Dotted field path inside the document, e.g. `spec.mtls.mode`. */
  path: string;
  message: string;
}

export function formatIssue(issue: ConfigIssue): string {
  // Problems with a file as a whole (unreadable, too large) have no line.
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

export function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.path.localeCompare(b.path));
}

/** The issues as log/CLI lines, with a closing count of those not listed. */
export function formatIssues(issues: readonly ConfigIssue[], total = issues.length): string[] {
  const lines = issues.map(formatIssue);
  if (total > issues.length) lines.push(`... and ${total - issues.length} more error(s) not listed (--max-errors)`);
  return lines;
}

export type PathSegment = string | number;

export function joinPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
