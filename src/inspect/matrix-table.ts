// Text forms of a predicted matrix: a table with clients as rows and service
// ports as columns, and the cells that differ between two predictions.
import type { MatrixCell, PredictedMatrix } from './matrix-types.js';

export const MATRIX_LEGEND =
  'legend: 200 answered by the app; 403 denied by RBAC; 503 answered by the client sidecar (TLS mismatch, no healthy upstream, reset); 000 connection reset or refused; ? not predictable (reasons: -o json); mTLS: mutual TLS with the client identity';

export function cellText(cell: Pick<MatrixCell, 'code' | 'mtls'>): string {
  return cell.mtls ? `${cell.code} mTLS` : cell.code;
}

/** `httpbin.bar.svc.cluster.local:8000` as `httpbin.bar:8000` (the service's short name). */
export function shortService(service: string): string {
  return service.replace(/\.svc\.[^:]+/, '');
}

export function matrixTable(matrix: PredictedMatrix): string {
  const byKey = new Map(matrix.cells.map((c) => [`${c.from}\u0000${c.to}`, c]));
  const header = ['FROM \\ TO', ...matrix.services.map(shortService)];
  const rows = matrix.clients.map((client) => [
    client,
    ...matrix.services.map((service) => {
      const cell = byKey.get(`${client}\u0000${service}`);
      return cell ? cellText(cell) : '';
    }),
  ]);
  const widths = header.map((h, i) => rows.reduce((max, r) => Math.max(max, r[i]!.length), h.length));
  const line = (cols: string[]) =>
    cols
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n${MATRIX_LEGEND}\n`;
}

export interface CellChange {
  from: string;
  to: string;
  /** The old cell's text (`200 mTLS`), or `absent`. */
  before: string;
  after: string;
  reason: string;
}

/** Every cell whose code or mTLS differs between `before` and `after` (including cells only one has). */
export function matrixChanges(before: PredictedMatrix, after: PredictedMatrix): CellChange[] {
  const old = new Map(before.cells.map((c) => [`${c.from}\u0000${c.to}`, c]));
  const changes: CellChange[] = [];
  for (const cell of after.cells) {
    const key = `${cell.from}\u0000${cell.to}`;
    const was = old.get(key);
    old.delete(key);
    if (was && cellText(was) === cellText(cell)) continue;
    changes.push({ from: cell.from, to: cell.to, before: was ? cellText(was) : 'absent', after: cellText(cell), reason: cell.reason });
  }
  for (const was of old.values())
    changes.push({ from: was.from, to: was.to, before: cellText(was), after: 'absent', reason: 'no longer in the matrix' });
  return changes;
}

export function changesText(changes: readonly CellChange[]): string {
  if (changes.length === 0) return 'no cell changes\n';
  return changes.map((c) => `${c.from} -> ${shortService(c.to)}: ${c.before} -> ${c.after} (${c.reason})\n`).join('');
}
