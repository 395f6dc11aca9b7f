// Turns the key/value content of one secret (files of a folder, or keys of a
// manifest) into a validated Credential. Key choice follows Istio: `cert`/`key`
// before `tls.crt`/`tls.key`; CA from `cacert` before `ca.crt`.
import { createHash, type KeyObject, type X509Certificate } from 'node:crypto';
import type { Credential, CredentialLayout, CredentialOrigin } from './credential.js';
import { keyMatches, parseCertificates, parsePrivateKey, summarize, validityProblems } from './pem-validation.js';

export interface RawSecretFile {
  /** The file (or `manifest (data.key)`) as messages name it. */
  display: string;
  text?: string;
  /** Why it could not be read (then `text` is absent). */
  error?: string;
}

export interface RawSecret {
  name: string;
  origin: CredentialOrigin;
  /** By secret key: `tls.crt`, `cert`, `cacert`, ... */
  files: Map<string, RawSecretFile>;
  /** Problems found while reading, already formatted. */
  errors: string[];
  warnings?: string[];
}

interface Pair {
  layout: 'tls' | 'generic';
  cert: string;
  key: string;
}

const GENERIC: Pair = { layout: 'generic', cert: 'cert', key: 'key' };
const TLS: Pair = { layout: 'tls', cert: 'tls.crt', key: 'tls.key' };

export function interpretSecret(raw: RawSecret, now: Date): Credential {
  const { name, files } = raw;
  const errors = [...raw.errors];
  const warnings = [...(raw.warnings ?? [])];
  const where = (key: string): string => files.get(key)?.display ?? expectedPath(raw.origin, key);
  const error = (key: string, message: string) => errors.push(`secret "${name}": ${where(key)}: ${message}`);
  const warn = (key: string, message: string) => warnings.push(`secret "${name}": ${where(key)}: ${message}`);
  const text = (key: string): string | undefined => {
    const file = files.get(key);
    if (file?.error !== undefined) error(key, file.error);
    return file?.text;
  };

  const has = (key: string) => files.has(key);
  const complete = (p: Pair) => has(p.cert) && has(p.key);
  const partial = (p: Pair) => has(p.cert) !== has(p.key);
  const pair: Pair | undefined = complete(GENERIC) ? GENERIC : complete(TLS) ? TLS : undefined;
  for (const p of [GENERIC, TLS]) {
    if (!partial(p)) continue;
    const missing = has(p.cert) ? p.key : p.cert;
    const present = has(p.cert) ? p.cert : p.key;
    if (pair) warn(present, `ignored: no "${missing}" next to it (using ${pair.cert}/${pair.key})`);
    else error(missing, `missing: "${present}" needs "${missing}" (a certificate and its private key go together)`);
  }
  if (pair === GENERIC && complete(TLS)) warn(TLS.cert, `ignored: the secret also has cert/key, which take precedence (as in Istio)`);
  const caKey = has('cacert') ? 'cacert' : has('ca.crt') ? 'ca.crt' : undefined;
  if (caKey === 'cacert' && has('ca.crt')) warn('ca.crt', 'ignored: the secret also has "cacert", which takes precedence (as in Istio)');

  const layout: CredentialLayout = pair ? pair.layout : caKey ? 'ca-only' : 'none';
  if (layout === 'none' && errors.length === 0) {
    errors.push(`secret "${name}": ${raw.origin.path}: no tls.crt/tls.key, cert/key, ca.crt or cacert found`);
  }

  const out: Credential = { name, origin: raw.origin, layout, caCertificates: [], errors, warnings, fingerprint: '' };
  let leaf: X509Certificate | undefined;
  let privateKey: KeyObject | undefined;
  if (pair) {
    const certText = text(pair.cert);
    const keyText = text(pair.key);
    if (certText !== undefined) {
      const certs = parseCertificates(certText);
      if (!certs.ok) error(pair.cert, certs.error);
      else {
        leaf = certs.value[0]!;
        out.certChainPem = certs.value.map((c) => c.toString()).join('');
        out.certificate = summarize(leaf);
        out.notAfter = out.certificate.notAfter;
        for (const [i, c] of certs.value.entries()) {
          for (const p of validityProblems(c, now, i === 0 ? 'leaf' : 'ca')) (p.severity === 'error' ? error : warn)(pair.cert, p.message);
        }
      }
    }
    if (keyText !== undefined) {
      const key = parsePrivateKey(keyText);
      if (!key.ok) error(pair.key, key.error);
      else {
        privateKey = key.value;
        out.privateKeyPem = String(key.value.export({ type: 'pkcs8', format: 'pem' }));
      }
    }
    if (leaf && privateKey && !keyMatches(leaf, privateKey))
      error(pair.key, `private key does not match the certificate in ${where(pair.cert)}`);
  }
  if (caKey) {
    const caText = text(caKey);
    if (caText !== undefined) {
      const cas = parseCertificates(caText);
      if (!cas.ok) error(caKey, cas.error);
      else {
        out.caPem = cas.value.map((c) => c.toString()).join('');
        out.caCertificates = cas.value.map(summarize);
        const problems = cas.value.map((c) => validityProblems(c, now, 'ca'));
        problems.flat().forEach((p) => warn(caKey, p.message));
        if (cas.value.every((c) => new Date(c.validTo).getTime() <= now.getTime())) error(caKey, 'every CA certificate has expired');
        if (!pair) out.notAfter = new Date(out.caCertificates.reduce((min, c) => Math.min(min, c.notAfter.getTime()), Infinity));
      }
    }
  }
  out.fingerprint = fingerprint(out);
  return out;
}

function expectedPath(origin: CredentialOrigin, key: string): string {
  return origin.form === 'directory' ? `${origin.path}/${key}` : `${origin.path} (data.${key})`;
}

function fingerprint(c: Credential): string {
  const h = createHash('sha256');
  for (const part of [
    c.layout,
    c.origin.form,
    c.origin.path,
    c.certChainPem ?? '',
    c.privateKeyPem ?? '',
    c.caPem ?? '',
    ...c.errors,
    ...c.warnings,
  ]) {
    h.update(part).update('\u0000');
  }
  return h.digest('hex').slice(0, 16);
}
