// The /debug/credentialz view: every secret in the directory (what it is, who
// references it, what is wrong) and every referenced credential that is not
// served. Built field by field from summaries: no key material can slip in.
import type { CertificateSummary, CredentialReference, CredentialSet } from './credential.js';
import { affectedSecretNames } from './credential-store.js';

export interface CredentialReportCertificate {
  subject: string;
  issuer: string;
  subjectAltNames: string[];
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
}

export interface CredentialReportEntry {
  name: string;
  form: 'directory' | 'manifest';
  path: string;
  layout: string;
  certificate?: CredentialReportCertificate;
  caCertificates: CredentialReportCertificate[];
  notAfter?: string;
  /** By SDS name (`kubernetes://<name>`, `kubernetes://<name>-cacert`): the proxies referencing it. */
  referencedBy: Record<string, string[]>;
  errors: string[];
  warnings: string[];
}

export interface MissingCredential {
  secretName: string;
  reason: string;
  proxies: string[];
}

export interface CredentialReport {
  directory: string | null;
  readAt?: string;
  directoryErrors: string[];
  ignored: string[];
  credentials: CredentialReportEntry[];
  missing: MissingCredential[];
}

export function credentialReport(set: CredentialSet | undefined, references: readonly CredentialReference[]): CredentialReport {
  const credentials = [...(set?.credentials.values() ?? [])]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c): CredentialReportEntry => {
      const referencedBy: Record<string, string[]> = {};
      for (const secretName of affectedSecretNames(c.name)) {
        const proxies = references.filter((r) => r.secretName === secretName).map((r) => r.proxy);
        if (proxies.length > 0) referencedBy[secretName] = [...new Set(proxies)].sort();
      }
      return {
        name: c.name,
        form: c.origin.form,
        path: c.origin.path,
        layout: c.layout,
        ...(c.certificate ? { certificate: certificateJson(c.certificate) } : {}),
        caCertificates: c.caCertificates.map(certificateJson),
        ...(c.notAfter ? { notAfter: c.notAfter.toISOString() } : {}),
        referencedBy,
        errors: [...c.errors],
        warnings: [...c.warnings],
      };
    });
  const missing = new Map<string, MissingCredential>();
  for (const r of references) {
    if (r.available) continue;
    const entry = missing.get(r.secretName) ?? { secretName: r.secretName, reason: r.reason ?? 'not available', proxies: [] };
    entry.proxies.push(r.proxy);
    missing.set(r.secretName, entry);
  }
  return {
    directory: set?.directory ?? null,
    ...(set ? { readAt: set.readAt.toISOString() } : {}),
    directoryErrors: [...(set?.directoryErrors ?? [])],
    ignored: [...(set?.ignored ?? [])],
    credentials,
    missing: [...missing.values()]
      .sort((a, b) => a.secretName.localeCompare(b.secretName))
      .map((m) => ({ ...m, proxies: [...new Set(m.proxies)].sort() })),
  };
}

function certificateJson(c: CertificateSummary): CredentialReportCertificate {
  return {
    subject: c.subject,
    issuer: c.issuer,
    subjectAltNames: [...c.subjectAltNames],
    serialNumber: c.serialNumber,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    fingerprintSha256: c.fingerprintSha256,
  };
}
