// PEM checks for credential files: certificates parse as X.509, a key parses
// and belongs to its certificate, validity dates. Messages name the file and
// PEM labels, never block contents, and never pass on a parser's own message
// (which could quote the input).
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { type CertificateSummary, EXPIRY_WARNING_DAYS } from './credential.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const PRIVATE_KEY_LABELS = new Set(['PRIVATE KEY', 'EC PRIVATE KEY', 'RSA PRIVATE KEY']);
const DAY_MS = 24 * 3600 * 1000;

interface Block {
  label: string;
  pem: string;
}

function blocks(text: string): Parsed<Block[]> {
  const found: Block[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const [pem, begin, , end] = match;
    if (begin !== end) return { ok: false, error: `a "${begin}" PEM block ends with "${end}"` };
    found.push({ label: begin!, pem: `${pem}\n` });
  }
  return { ok: true, value: found };
}

/** Every certificate of a PEM text that must hold certificates only (a chain or a CA bundle). */
export function parseCertificates(text: string): Parsed<X509Certificate[]> {
  const found = blocks(text);
  if (!found.ok) return found;
  if (found.value.length === 0) return { ok: false, error: 'no PEM CERTIFICATE block found' };
  const other = found.value.find((b) => b.label !== 'CERTIFICATE');
  if (other) return { ok: false, error: `holds a "${other.label}" PEM block where only certificates belong` };
  const certs: X509Certificate[] = [];
  for (const [i, block] of found.value.entries()) {
    try {
      certs.push(new X509Certificate(block.pem));
    } catch {
      return { ok: false, error: `PEM block ${i + 1} of ${found.value.length} is not a valid X.509 certificate` };
    }
  }
  return { ok: true, value: certs };
}

/** The one unencrypted private key of a PEM text. */
export function parsePrivateKey(text: string): Parsed<KeyObject> {
  const found = blocks(text);
  if (!found.ok) return found;
  const keys = found.value.filter((b) => PRIVATE_KEY_LABELS.has(b.label));
  if (found.value.some((b) => b.label === 'ENCRYPTED PRIVATE KEY'))
    return { ok: false, error: 'holds an encrypted private key; only unencrypted keys are supported' };
  if (keys.length === 0)
    return {
      ok: false,
      error: found.value.length === 0 ? 'no PEM private key block found' : `holds no private key (found ${labels(found.value)})`,
    };
  if (found.value.length !== 1)
    return { ok: false, error: `must hold exactly one PEM block, the private key (found ${labels(found.value)})` };
  try {
    return { ok: true, value: createPrivateKey(keys[0]!.pem) };
  } catch {
    return { ok: false, error: `the "${keys[0]!.label}" PEM block is not a valid private key` };
  }
}

function labels(found: readonly Block[]): string {
  return [...new Set(found.map((b) => `"${b.label}"`))].join(', ');
}

/** Whether `key` is the private key of `cert`'s public key. */
export function keyMatches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}

export function summarize(cert: X509Certificate): CertificateSummary {
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    subjectAltNames: cert.subjectAltName ? cert.subjectAltName.split(/,\s*/).filter(Boolean) : [],
    serialNumber: cert.serialNumber,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    fingerprintSha256: cert.fingerprint256,
  };
}

/** A distinguished name on one line; Node reports an empty one as undefined. */
function oneLine(dn: string | undefined): string {
  return (dn ?? '').split('\n').filter(Boolean).join(', ');
}

export type ValidityProblem = { severity: 'error' | 'warning'; message: string };

/**
 * Date checks for one certificate. Expired: an error for a leaf (it would be
 * refused by every peer), a warning for a CA certificate (a bundle may carry
 * retired roots). The expiry warning's text does not change as time passes,
 * so a periodic re-read does not count as a change.
 */
export function validityProblems(cert: X509Certificate, now: Date, role: 'leaf' | 'ca'): ValidityProblem[] {
  const notAfter = new Date(cert.validTo);
  const notBefore = new Date(cert.validFrom);
  const what = role === 'leaf' ? 'certificate' : `CA certificate "${oneLine(cert.subject) || cert.serialNumber}"`;
  if (notAfter.getTime() <= now.getTime())
    return [{ severity: role === 'leaf' ? 'error' : 'warning', message: `${what} expired at ${notAfter.toISOString()}` }];
  const problems: ValidityProblem[] = [];
  if (notBefore.getTime() > now.getTime())
    problems.push({ severity: 'warning', message: `${what} is not valid before ${notBefore.toISOString()}` });
  if (notAfter.getTime() - now.getTime() < EXPIRY_WARNING_DAYS * DAY_MS) {
    problems.push({ severity: 'warning', message: `${what} expires within ${EXPIRY_WARNING_DAYS} days, at ${notAfter.toISOString()}` });
  }
  return problems;
}
