// The tables of `meshlite proxy-config` for secrets (certificate facts, never
// key material) and endpoints (from EDS in the dump, or Envoy's /clusters).
import { X509Certificate } from 'node:crypto';
import type { DumpSecret, Resource } from './config-dump-sections.js';
import type { Table } from './config-dump-tables.js';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The text of a DataSource: inline_string, or inline_bytes (base64); a file is only named. */
function dataSourceText(source: Resource | undefined): string | undefined {
  if (!source) return undefined;
  if (typeof source.inline_string === 'string') return source.inline_string;
  if (typeof source.inline_bytes === 'string') return Buffer.from(source.inline_bytes, 'base64').toString('utf8');
  return undefined;
}

export function secretTable(secrets: readonly DumpSecret[], now: number): Table {
  const rows: string[][] = [];
  for (const s of secrets) {
    const tls = s.secret?.tls_certificate;
    const validation = s.secret?.validation_context;
    const material = Object.keys(s.secret ?? {}).some((k) => k !== 'name');
    const [type, source] = tls
      ? ['Cert Chain', tls.certificate_chain]
      : validation
        ? ['CA', validation.trusted_ca]
        : [material ? 'Other' : '-', undefined];
    const text = dataSourceText(source);
    const certs = text ? [...text.matchAll(PEM_CERT)].map((m) => parseCertificate(m[0])) : [];
    // Active with no material: meshlite names a secret whose material the proxy's node agent serves.
    const status = material || s.status === 'WARMING' ? s.status : 'ON NODE';
    if (certs.length === 0) {
      const note = source?.filename ? `file ${source.filename}` : text === undefined ? '-' : 'not PEM';
      rows.push([s.name, type, status, note, '-', '-', '-']);
      continue;
    }
    // A chain: its leaf; a trust bundle: every root.
    for (const cert of tls ? certs.slice(0, 1) : certs) {
      if (!cert) {
        rows.push([s.name, type, status, 'unreadable', '-', '-', '-']);
        continue;
      }
      const valid = now >= Date.parse(cert.validFrom) && now <= Date.parse(cert.validTo);
      rows.push([s.name, type, status, valid ? 'true' : 'false', cert.serialNumber.toLowerCase(), iso(cert.validTo), iso(cert.validFrom)]);
    }
  }
  rows.sort((a, b) => a[0]!.localeCompare(b[0]!));
  return { header: ['RESOURCE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'], rows };
}

function parseCertificate(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

const iso = (date: string) => new Date(date).toISOString().replace('.000Z', 'Z');

/** From the ClusterLoadAssignments of a dump: health as EDS set it (unset counts as healthy); no outlier facts there. */
export function endpointTableFromEds(assignments: readonly Resource[], cluster?: string): Table {
  const rows: string[][] = [];
  for (const a of assignments) {
    if (cluster !== undefined && a.cluster_name !== cluster) continue;
    for (const locality of (a.endpoints ?? []) as Resource[])
      for (const lb of (locality.lb_endpoints ?? []) as Resource[]) {
        const health = String(lb.health_status ?? 'HEALTHY');
        rows.push([endpointAddress(lb.endpoint?.address), health === 'UNKNOWN' ? 'HEALTHY' : health, '-', String(a.cluster_name ?? '-')]);
      }
  }
  return { header: ENDPOINT_HEADER, rows: rows.sort(byEndpoint) };
}

/** From Envoy's `/clusters?format=json`: the health Envoy acts on and whether outlier detection ejected the host. */
export function endpointTableFromEnvoyClusters(clusters: Resource, cluster?: string): Table {
  const rows: string[][] = [];
  for (const c of (clusters.cluster_statuses ?? []) as Resource[]) {
    if (cluster !== undefined && c.name !== cluster) continue;
    for (const host of (c.host_statuses ?? []) as Resource[]) {
      const h = host.health_status ?? {};
      const failed = Object.entries(h).filter(([k, v]) => k.startsWith('failed_') && v === true && k !== 'failed_outlier_check');
      const status = failed.length > 0 ? 'UNHEALTHY' : String(h.eds_health_status ?? 'HEALTHY').replace('UNKNOWN', 'HEALTHY');
      rows.push([endpointAddress(host.address), status, h.failed_outlier_check ? 'FAILED' : 'OK', String(c.name)]);
    }
  }
  return { header: ENDPOINT_HEADER, rows: rows.sort(byEndpoint) };
}

const ENDPOINT_HEADER = ['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'];

function byEndpoint(a: string[], b: string[]): number {
  return a[3]!.localeCompare(b[3]!) || a[0]!.localeCompare(b[0]!);
}

function endpointAddress(address: Resource | undefined): string {
  const s = address?.socket_address;
  if (s) return `${s.address}:${s.port_value ?? 0}`;
  if (address?.pipe) return `unix://${address.pipe.path}`;
  return '-';
}
