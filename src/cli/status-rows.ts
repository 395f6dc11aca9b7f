// `meshlite status` rows from what /debug/syncz reports of each proxy, and the
// three ways to print them: a table, a wide table, and one proxy in detail.
import { formatColumns, shorten } from './text-columns.js';

/** One type of one proxy, as /debug/syncz reports it (src/admin/sync-status.ts). */
export interface TypeSyncFacts {
  type: string;
  state: string;
  resources?: number;
  snapshotVersion?: string;
  sentVersion?: string;
  ackedVersion?: string;
  nacked?: { version: string; message: string };
}

/** One proxy of /debug/syncz, with what proxy-facts.ts adds. */
export interface ProxySyncFacts {
  proxy: string;
  kind?: string;
  synced?: boolean;
  types: TypeSyncFacts[];
  /** notBefore is absent for a node agent's certificate (known from its stream, not the certificate). */
  certificate?: { serialNumber: string; notBefore?: string; notAfter: string };
  heldBack?: { since: string; reason: string; dangling: string[] };
}

export interface StatusRow extends ProxySyncFacts {
  /** The replica the proxy is connected to (store mode), '-' otherwise. */
  replica: string;
}

/** The table's type columns, in istioctl's order, and the xDS type each one is. */
export const TYPE_COLUMNS = [
  ['CDS', 'clusters'],
  ['LDS', 'listeners'],
  ['EDS', 'endpoints'],
  ['RDS', 'routes'],
  ['SDS', 'secrets'],
] as const;

const NACK_WIDTH = 40;

/** The most recent NACK of a proxy that is still the verdict on what was sent (a later ACK clears it). */
export function lastNack(row: ProxySyncFacts): { type: string; version: string; message: string } | undefined {
  const nacked = row.types.find((t) => t.state === 'NACKED' && t.nacked);
  return nacked?.nacked ? { type: nacked.type, ...nacked.nacked } : undefined;
}

/** `23h59m`, `3d4h`, `42s`; `expired 5m ago` once past. */
export function untilText(notAfter: string, now: number): string {
  const ms = Date.parse(notAfter) - now;
  if (Number.isNaN(ms)) return '-';
  const text = spanText(Math.abs(ms));
  return ms >= 0 ? text : `expired ${text} ago`;
}

function timeLeft(notAfter: string, now: number): string {
  const text = untilText(notAfter, now);
  return text.startsWith('expired') ? text : `${text} left`;
}

function spanText(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d >= 2) return `${d}d${h}h`;
  if (s >= 3600) return `${d * 24 + h}h${m}m`;
  if (s >= 60) return `${m}m${s % 60}s`;
  return `${s}s`;
}

function stateOf(row: ProxySyncFacts, type: string): string {
  return row.types.find((t) => t.type === type)?.state ?? 'UNKNOWN';
}

export function formatStatusTable(rows: readonly StatusRow[], now: number, wide: boolean): string {
  const header = [
    'NAME',
    'KIND',
    'REPLICA',
    ...TYPE_COLUMNS.map(([c]) => c),
    'LAST NACK',
    'CERT EXPIRES',
    ...(wide ? ['CERT SERIAL'] : []),
  ];
  const lines = rows.map((r) => {
    const nack = lastNack(r);
    const nackText = nack ? `${nack.type}: ${nack.message}` : '-';
    return [
      r.proxy,
      r.kind ?? '-',
      r.replica,
      ...TYPE_COLUMNS.map(([, type]) => stateOf(r, type)),
      wide ? nackText.replace(/\s+/g, ' ') : shorten(nackText, NACK_WIDTH),
      r.certificate ? untilText(r.certificate.notAfter, now) : '-',
      ...(wide ? [r.certificate?.serialNumber ?? '-'] : []),
    ];
  });
  return formatColumns(header, lines);
}

/** One proxy: every type's versions (meant, sent, accepted) and the full NACK message. */
export function formatStatusDetail(row: StatusRow, now: number): string {
  const out = [`proxy: ${row.proxy}`, `kind: ${row.kind ?? '-'}`, `replica: ${row.replica}`];
  if (row.synced !== undefined) out.push(`synced: ${row.synced ? 'yes' : 'no'}`);
  if (row.certificate)
    out.push(
      `certificate: serial ${row.certificate.serialNumber}, valid ${row.certificate.notBefore ? `${row.certificate.notBefore} ` : ''}until ${row.certificate.notAfter} (${timeLeft(row.certificate.notAfter, now)})`,
    );
  else out.push('certificate: - (meshlite issued it none)');
  if (row.heldBack)
    out.push(
      `held back since ${row.heldBack.since}: ${row.heldBack.reason} (names resources it lacks: ${row.heldBack.dangling.join(', ')})`,
    );
  const table = formatColumns(
    ['TYPE', 'STATE', 'RESOURCES', 'VERSION MEANT', 'VERSION SENT', 'VERSION ACKED'],
    TYPE_COLUMNS.map(([column, type]) => {
      const t = row.types.find((x) => x.type === type);
      return [
        `${column} (${type})`,
        t?.state ?? 'UNKNOWN',
        String(t?.resources ?? '-'),
        t?.snapshotVersion || '-',
        t?.sentVersion ?? '-',
        t?.ackedVersion ?? '-',
      ];
    }),
  );
  out.push('', table.trimEnd());
  for (const t of row.types)
    if (t.nacked)
      out.push('', `NACK of ${t.type} version ${t.nacked.version}${t.state === 'NACKED' ? '' : ' (since superseded)'}:`, t.nacked.message);
  return `${out.join('\n')}\n`;
}
