// One certificate for this workload: a new key and CSR, one CreateCertificate
// call, and a check of what came back before anything is served from it. The
// private key exists only in this process and in the HeldCertificate returned.
import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { certificateBlocks, toPem } from '../ca/pem.js';
import type { HeldCertificate } from './agent-types.js';
import type { CaClient, CaCredential } from './ca-client.js';
import { generateWorkloadKey } from './workload-key.js';

export type CertificateOutcome = { ok: true; certificate: HeldCertificate } | { ok: false; code: grpc.status; message: string };

export interface CertificateRequestOptions {
  ca: Pick<CaClient, 'createCertificate'>;
  credential: CaCredential;
  validitySeconds?: number;
  now?: Date;
}

/** A fresh key, certified by meshlite for the identity `credential` stands for. */
export async function requestCertificate(opts: CertificateRequestOptions): Promise<CertificateOutcome> {
  const key = await generateWorkloadKey();
  const answer = await opts.ca.createCertificate({
    csrPem: key.csrPem,
    validitySeconds: opts.validitySeconds,
    credential: opts.credential,
  });
  if (!answer.ok) return answer;
  const checked = checkIssuedChain(answer.chain, createPublicKey(key.privateKeyPem), opts.now ?? new Date());
  if (!checked.ok) return { ok: false, code: grpc.status.INTERNAL, message: `meshlite's certificate chain is unusable: ${checked.error}` };
  return { ok: true, certificate: { ...checked.value, privateKeyPem: key.privateKeyPem } };
}

export type IssuedChain = Omit<HeldCertificate, 'privateKeyPem'>;
type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

const SPIFFE_URI = /^spiffe:\/\/[^/]+\/\S+$/;

/**
 * A CreateCertificate chain (leaf first, root last) as the agent holds it: the
 * leaf certifies `publicKey`, names exactly one SPIFFE id and has not expired;
 * each entry is signed by the next; the last one is a self-signed CA.
 */
export function checkIssuedChain(chain: readonly string[], publicKey: KeyObject, now: Date): Checked<IssuedChain> {
  if (chain.length < 2) return { ok: false, error: `${chain.length} certificate(s); expected the leaf and at least its root` };
  const certs: X509Certificate[] = [];
  for (const [i, pem] of chain.entries()) {
    const blocks = certificateBlocks(pem, `entry ${i + 1}`);
    if (!blocks.ok) return { ok: false, error: blocks.error };
    if (blocks.value.length !== 1) return { ok: false, error: `entry ${i + 1} holds ${blocks.value.length} certificates` };
    try {
      certs.push(new X509Certificate(blocks.value[0]!));
    } catch {
      return { ok: false, error: `entry ${i + 1} is not a valid X.509 certificate` };
    }
  }
  const leaf = certs[0]!;
  const root = certs[certs.length - 1]!;
  const spki = (k: KeyObject) => k.export({ format: 'der', type: 'spki' });
  if (!spki(leaf.publicKey).equals(spki(publicKey)))
    return { ok: false, error: 'the leaf certifies another public key than the one in the CSR' };
  if (leaf.ca) return { ok: false, error: 'the leaf is a CA certificate' };
  const uris = uriSans(leaf);
  if (uris.length !== 1 || !SPIFFE_URI.test(uris[0]!))
    return { ok: false, error: `the leaf has ${uris.length} URI SAN(s); a workload certificate has exactly one spiffe:// id` };
  const notAfter = new Date(leaf.validTo);
  if (!(notAfter.getTime() > now.getTime())) return { ok: false, error: `the leaf expired at ${notAfter.toISOString()}` };
  for (let i = 0; i + 1 < certs.length; i++) {
    if (!signedBy(certs[i]!, certs[i + 1]!)) return { ok: false, error: `entry ${i + 1} is not signed by entry ${i + 2}` };
  }
  if (!root.ca || !signedBy(root, root)) return { ok: false, error: 'the last entry is not a self-signed CA certificate (a root)' };
  return {
    ok: true,
    value: {
      certChainPem: certs
        .slice(0, -1)
        .map((c) => toPem('CERTIFICATE', c.raw))
        .join(''),
      rootPem: toPem('CERTIFICATE', root.raw),
      serialNumber: leaf.serialNumber.toLowerCase(),
      spiffeId: uris[0]!,
      notBefore: new Date(leaf.validFrom),
      notAfter,
    },
  };
}

function signedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/** URI SANs as OpenSSL prints them; a value with a separator in it is quoted and so fails SPIFFE_URI. */
export function uriSans(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice('URI:'.length));
}
