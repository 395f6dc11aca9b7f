// A CA supplied by the operator in Istio's `cacerts` layout:
//   ca-cert.pem     the signing certificate (an intermediate, or the root itself)
//   ca-key.pem      its private key
//   root-cert.pem   the root(s) workloads trust
//   cert-chain.pem  the chain from ca-cert up to the root
import { join } from 'node:path';
import { createSigner, type Signer } from './issue.js';
import { loadPrivateKeyPem } from './keys.js';
import { fileMode, readIfExists } from '../util/files.js';
import {
  certifiesKey,
  describeCertificate,
  isIssuedBy,
  notACaReason,
  outsideValidityReason,
  parseCertificates,
  sameCertificate,
  type ParsedCertificate,
} from './parsed-certificate.js';
import { fail, ok, type Result } from './result.js';

export const PLUGGED_IN_FILES = ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem'] as const;

export interface PluggedInCa {
  signer: Signer;
  /** root-cert.pem as given (every root in it), normalised to one PEM block per certificate. */
  trustBundlePem: string;
  looseKeyMode?: number;
}

export async function loadPluggedInCa(dir: string, now: Date): Promise<Result<PluggedInCa>> {
  const texts = new Map<string, string>();
  for (const name of PLUGGED_IN_FILES) {
    const text = await readIfExists(join(dir, name));
    if (text !== undefined) texts.set(name, text);
  }
  const missing = PLUGGED_IN_FILES.filter((name) => !texts.has(name));
  if (missing.length === PLUGGED_IN_FILES.length) return fail(`${dir}: no CA files found (expected ${PLUGGED_IN_FILES.join(', ')})`);
  if (missing.length > 0)
    return fail(`${dir}: incomplete plugged-in CA, missing ${missing.join(', ')} (all of ${PLUGGED_IN_FILES.join(', ')} are required)`);

  const path = (name: string) => join(dir, name);
  const caCerts = parseCertificates(texts.get('ca-cert.pem')!, path('ca-cert.pem'));
  if (!caCerts.ok) return caCerts;
  if (caCerts.value.length !== 1) return fail(`${path('ca-cert.pem')}: expected exactly one certificate, found ${caCerts.value.length}`);
  const caCert = caCerts.value[0]!;
  const roots = parseCertificates(texts.get('root-cert.pem')!, path('root-cert.pem'));
  if (!roots.ok) return roots;
  const chainFile = parseCertificates(texts.get('cert-chain.pem')!, path('cert-chain.pem'));
  if (!chainFile.ok) return chainFile;

  const notCa = notACaReason(caCert);
  if (notCa) return fail(`${path('ca-cert.pem')}: ${describeCertificate(caCert)} ${notCa}`);
  const key = loadPrivateKeyPem(texts.get('ca-key.pem')!, path('ca-key.pem'));
  if (!key.ok) return key;
  if (!certifiesKey(caCert, key.value.spkiDer))
    return fail(`${path('ca-key.pem')} does not match the public key of ${path('ca-cert.pem')}`);

  const anchored = anchorChain(caCert, chainFile.value, roots.value, dir);
  if (!anchored.ok) return anchored;
  const { intermediates, root } = anchored.value;
  for (const c of [...intermediates, root]) {
    const reason = outsideValidityReason(c, now);
    if (reason) return fail(`${dir}: CA certificate ${describeCertificate(c)} ${reason}`);
  }
  const mode = await fileMode(path('ca-key.pem'));
  return ok({
    signer: createSigner(caCert, key.value, intermediates, root),
    trustBundlePem: roots.value.map((r) => r.pem).join(''),
    ...((mode & 0o077) !== 0 ? { looseKeyMode: mode } : {}),
  });
}

/**
 * The path from ca-cert to a root of root-cert.pem. cert-chain.pem may or may
 * not start with ca-cert and may or may not end with the root (Istio's own
 * tooling writes ca-cert + root); only the intermediates are taken from it,
 * and every link must carry a valid signature.
 */
function anchorChain(
  caCert: ParsedCertificate,
  chainFile: ParsedCertificate[],
  roots: ParsedCertificate[],
  dir: string,
): Result<{ intermediates: ParsedCertificate[]; root: ParsedCertificate }> {
  const isRoot = (c: ParsedCertificate) => roots.some((r) => sameCertificate(r, c));
  if (isRoot(caCert)) return ok({ intermediates: [], root: roots.find((r) => sameCertificate(r, caCert))! });

  const intermediates = [caCert];
  for (const c of chainFile) {
    if (isRoot(c)) break;
    if (!intermediates.some((i) => sameCertificate(i, c))) intermediates.push(c);
  }
  for (let i = 0; i + 1 < intermediates.length; i++) {
    const child = intermediates[i]!;
    const parent = intermediates[i + 1]!;
    if (!isIssuedBy(child, parent)) {
      return fail(
        `${join(dir, 'cert-chain.pem')}: ${describeCertificate(child)} is not signed by the next certificate ${describeCertificate(parent)}`,
      );
    }
    const notCa = notACaReason(parent);
    if (notCa) return fail(`${join(dir, 'cert-chain.pem')}: ${describeCertificate(parent)} ${notCa}`);
  }
  const top = intermediates[intermediates.length - 1]!;
  const root = roots.find((r) => isIssuedBy(top, r));
  if (!root) {
    return fail(`${dir}: ${describeCertificate(top)} does not chain up to any certificate in root-cert.pem`);
  }
  const rootNotCa = notACaReason(root);
  if (rootNotCa) return fail(`${join(dir, 'root-cert.pem')}: ${describeCertificate(root)} ${rootNotCa}`);
  return ok({ intermediates, root });
}
