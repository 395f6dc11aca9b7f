// A cross-signed certificate: the new root's subject and public key, issued
// by the old signing CA. Served after meshlite's own leaf, it lets a client
// that trusts only the old root build leaf -> cross-signed -> old root, while
// a client that trusts the new root stops at the new root itself (the leaf
// names the new root's subject and key identifier as its issuer).
import { floorToSecond, randomSerialHex, type Signer } from './issue.js';
import { toPem } from './pem.js';
import { describeCertificate, parseCertificates, subjectKeyIdOf, type ParsedCertificate } from './parsed-certificate.js';
import { fail, ok, type Result } from './result.js';
import { basicConstraints, KEY_USAGE, keyUsage, signCertificate, subjectKeyIdentifier, subjectNameDer } from './x509-template.js';

/**
 * Cross-signs `newRoot` with `oldSigner`. The lifetime lies within the new
 * root's and within every certificate of the old signer's chain, so no
 * verifier sees it outlive what vouches for it.
 */
export function crossSign(newRoot: ParsedCertificate, oldSigner: Signer, now: Date): Result<ParsedCertificate> {
  const oldChain = [oldSigner.certificate, ...oldSigner.intermediates, oldSigner.root];
  const bounds = [newRoot, ...oldChain];
  const notBefore = floorToSecond(bounds.reduce((max, c) => Math.max(max, c.cert.notBefore.getTime()), -Infinity));
  const notAfter = floorToSecond(bounds.reduce((min, c) => Math.min(min, c.cert.notAfter.getTime()), Infinity));
  if (notAfter.getTime() <= now.getTime() || notAfter <= notBefore)
    return fail(`the new root ${describeCertificate(newRoot)} and the old CA are never valid together after now`);
  const spkiDer = Buffer.from(newRoot.node.publicKey.export({ format: 'der', type: 'spki' }));
  const der = signCertificate(
    {
      serialHex: randomSerialHex(),
      issuer: oldSigner.issuerName,
      subject: subjectNameDer(newRoot.der),
      notBefore,
      notAfter,
      spkiDer,
      extensions: [
        basicConstraints(true),
        keyUsage([KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]),
        // The new root's own identifier, so leaves it signs find this certificate as their issuer.
        subjectKeyIdentifier(subjectKeyIdOf(newRoot)),
        oldSigner.authorityKeyIdentifier,
      ],
    },
    oldSigner.key,
  );
  const parsed = parseCertificates(toPem('CERTIFICATE', der), 'cross-signed certificate');
  if (!parsed.ok) return parsed;
  return ok(parsed.value[0]!);
}

/**
 * What follows a leaf signed by `newSigner` so that both kinds of client
 * verify it: the new intermediates, the cross-signed certificate, then the
 * old signer's own intermediates (when the old signer is not its root). No
 * root: a client supplies its own.
 */
export function crossChainTail(newSigner: Signer, crossSigned: ParsedCertificate, oldSigner: Signer): string {
  return [...newSigner.intermediates, crossSigned, ...oldSigner.intermediates].map((c) => c.pem).join('');
}
