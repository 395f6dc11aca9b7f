// What `meshlite analyze` reports: a stable code, how serious it is, the
// resource and the field it is about, and a sentence on what to do. Findings
// are advice on a config that loaded: they never reject it.
import { joinPath, type PathSegment } from '../config/diagnostics.js';
import type { Resource, Source } from '../config/resource.js';
import type { ConfigFinding, FindingSeverity } from '../config/config-status.js';

export type { ConfigFinding as Finding, FindingSeverity as Severity };

export const SEVERITIES: readonly FindingSeverity[] = ['Error', 'Warning', 'Info'];

/** Lower is more serious. */
export function severityRank(severity: FindingSeverity): number {
  return SEVERITIES.indexOf(severity);
}

/** Line and column of a field of a resource, when the YAML it came from is at hand. */
export type FieldLocator = (source: Source, path: readonly PathSegment[]) => { line: number; column: number } | undefined;

/** What a check reports before it is placed: the locator turns `path` into file:line:column. */
export interface RawFinding {
  code: string;
  severity: FindingSeverity;
  resource: Resource<string, unknown>;
  path: readonly PathSegment[];
  message: string;
}

export function placeFinding(raw: RawFinding, locate: FieldLocator | undefined): ConfigFinding {
  const { resource, path } = raw;
  const at = locate?.(resource.source, path) ?? { line: resource.source.line, column: 1 };
  return {
    code: raw.code,
    severity: raw.severity,
    kind: resource.kind,
    namespace: resource.meta.namespace,
    name: resource.meta.name,
    file: resource.source.file,
    line: at.line,
    column: at.column,
    field: joinPath(path),
    message: raw.message,
  };
}

/** Deterministic order: file, line, code (then column and message, so equal places still sort one way). */
export function sortFindings(findings: readonly ConfigFinding[]): ConfigFinding[] {
  return [...findings].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      a.code.localeCompare(b.code) ||
      a.column - b.column ||
      a.message.localeCompare(b.message),
  );
}

export function countBySeverity(findings: readonly ConfigFinding[]): Record<FindingSeverity, number> {
  const counts: Record<FindingSeverity, number> = { Error: 0, Warning: 0, Info: 0 };
  for (const f of findings) counts[f.severity] += 1;
  return counts;
}

/** `Kind namespace/name`, how findings name a resource. */
export function resourceName(f: Pick<ConfigFinding, 'kind' | 'namespace' | 'name'>): string {
  return `${f.kind} ${f.namespace}/${f.name}`;
}

export function formatFinding(f: ConfigFinding): string {
  const where = `${f.file}:${f.line}:${f.column}`;
  const field = f.field ? ` ${f.field}:` : '';
  return `${where}: ${f.severity} ${f.code} ${resourceName(f)}:${field} ${f.message}`;
}
