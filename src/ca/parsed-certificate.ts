// One certificate held in the three forms the CA needs: DER/PEM to hand out,
// Node's X509Certificate (OpenSSL) for chain checks, @peculiar's for extensions.
import { createPublicKey, X509Certificate as NodeCertificate } from 'node:crypto';
import { certificateBlocks, toPem, type Der } from './pem.js';
import { fail, ok, type Result } from './result.js';
import { x509 } from './x509-lib.js';
import { keyIdentifier } from './x509-template.js';

export interface ParsedCertificate {
  der: Der;
  pem: string;
  node: NodeCertificate;
  cert: x509.X509Certificate;
}

function parseCertificateDer(der: Der): ParsedCertificate {
  return { der, pem: toPem('CERTIFICATE', der), node: new NodeCertificate(der), cert: new x509.X509Certificate(der) };
}

/** Every certificate of a PEM text; `source` names the file in errors. */
export function parseCertificates(text: string, source: string): Result<ParsedCertificate[]> {
  const ders = certificateBlocks(text, source);
  if (!ders.ok) return ders;
  const parsed: ParsedCertificate[] = [];
  for (const [i, der] of ders.value.entries()) {
    try {
      parsed.push(parseCertificateDer(der));
    } catch {
      return fail(`${source}: certificate ${i + 1} is not a valid X.509 certificate`);
    }
  }
  return ok(parsed);
}

export function describeCertificate(c: ParsedCertificate): string {
  return `"${c.node.subject?.replace(/\n/g, ', ') || '(empty subject)'}" (serial ${c.cert.serialNumber})`;
}

/** Whether `child` names `parent` as its issuer and carries a valid signature by it. */
export function isIssuedBy(child: ParsedCertificate, parent: ParsedCertificate): boolean {
  return child.node.checkIssued(parent.node) && child.node.verify(parent.node.publicKey);
}

export function isSelfSigned(c: ParsedCertificate): boolean {
  return isIssuedBy(c, c);
}

export function sameCertificate(a: ParsedCertificate, b: ParsedCertificate): boolean {
  return a.der.equals(b.der);
}

/** Why a certificate may not sign certificates, or undefined when it may. */
export function notACaReason(c: ParsedCertificate): string | undefined {
  const constraints = c.cert.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) return 'is not a CA certificate (basicConstraints CA:true is missing)';
  const usage = c.cert.getExtension(x509.KeyUsagesExtension);
  if (usage && (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) return 'may not sign certificates (keyUsage lacks keyCertSign)';
  return undefined;
}

/** Why the certificate is not valid at `now`, or undefined when it is. */
export function outsideValidityReason(c: ParsedCertificate, now: Date): string | undefined {
  if (now < c.cert.notBefore) return `is not valid before ${c.cert.notBefore.toISOString()}`;
  if (now > c.cert.notAfter) return `expired at ${c.cert.notAfter.toISOString()}`;
  return undefined;
}

/** The subject key identifier: the extension when present, else the SHA-1 of the key's bits (the usual method). */
export function subjectKeyIdOf(c: ParsedCertificate): Buffer {
  const ski = c.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return Buffer.from(ski.keyId, 'hex');
  return keyIdentifier(c.node.publicKey.export({ format: 'der', type: 'spki' }));
}

/** Whether the private key belonging to `spkiDer` is the one this certificate certifies. */
export function certifiesKey(c: ParsedCertificate, spkiDer: Der): boolean {
  // Compared as keys, not bytes: an EC point may be encoded compressed in one place.
  return c.node.publicKey.equals(createPublicKey({ key: spkiDer, format: 'der', type: 'spki' }));
}
