// TLS credentials named by `credentialName` (DestinationRule TLS, Gateway
// servers), read from a secrets directory and served over SDS as
// `kubernetes://<name>` (chain + key) and `kubernetes://<name>-cacert` (CA).
// Nothing here that can reach a log or an admin page ever holds key material:
// messages name secrets, files and PEM labels only.

/** Which of Istio's key sets a secret uses. */
export type CredentialLayout =
  /** kubernetes.io/tls keys: `tls.crt`, `tls.key`, optional `ca.crt`. */
  | 'tls'
  /** Istio's generic keys: `cert`, `key`, optional `cacert`. */
  | 'generic'
  /** Only a CA (`cacert` or `ca.crt`): typically the separate `<name>-cacert` secret. */
  | 'ca-only'
  /** Nothing usable was found. */
  | 'none';

/** Where a secret came from: a folder of files, or one Kubernetes Secret manifest. */
export type CredentialOrigin = { form: 'directory'; path: string } | { form: 'manifest'; path: string };

/** What the admin page shows of a certificate (never the key). */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  subjectAltNames: string[];
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  fingerprintSha256: string;
}

export interface Credential {
  name: string;
  origin: CredentialOrigin;
  layout: CredentialLayout;
  certChainPem?: string;
  privateKeyPem?: string;
  caPem?: string;
  /** The leaf certificate (first of the chain), when there is a valid one. */
  certificate?: CertificateSummary;
  /** Each certificate of the CA bundle. */
  caCertificates: CertificateSummary[];
  /** The leaf's NotAfter, or for a CA-only secret the earliest CA NotAfter. */
  notAfter?: Date;
  /** Each message starts with `secret "<name>": <file>: `. Any error: nothing of this secret is served. */
  errors: string[];
  /** Same form; the secret is still served (e.g. expiring within 7 days). */
  warnings: string[];
  /** Content hash (material, errors, warnings): equal fingerprints mean nothing to push. */
  fingerprint: string;
}

export interface CredentialSet {
  /** The secrets directory as given. */
  directory: string;
  readAt: Date;
  credentials: ReadonlyMap<string, Credential>;
  /** Problems with the directory itself (unreadable, missing), not with one secret. */
  directoryErrors: string[];
  /** Top-level entries that are not secrets (not a folder, not *.yaml/*.yml/*.json). */
  ignored: string[];
  /** Every real directory whose change could change the set (for the watcher). */
  watchDirectories: string[];
}

/** The answer to "what would `kubernetes://...` serve?" for one SDS secret name. */
export type CredentialLookup =
  | { ok: true; kind: 'certificate'; certChainPem: string; privateKeyPem: string; from: string }
  | { ok: true; kind: 'ca'; caPem: string; from: string }
  | { ok: false; reason: string };

/** What the control plane asks of the credentials: one lookup per `kubernetes://` SDS name. */
export interface TlsCredentialSource {
  lookup(secretName: string): CredentialLookup;
}

/** Where a proxy's reference to a credential stands (for logs, metrics, /debug/credentialz). */
export interface CredentialReference {
  proxy: string;
  secretName: string;
  available: boolean;
  /** Why it is not served; absent when available. */
  reason?: string;
}

export const EXPIRY_WARNING_DAYS = 7;
