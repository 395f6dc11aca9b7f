// The self-signed root kept in meshlite's state directory: created once,
// reused on every restart so the mesh's trust anchor never changes by itself.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createSigner, floorToSecond, randomSerialHex, CLOCK_SKEW_SECONDS, type Signer } from './issue.js';
import { generateKeyPair, loadPrivateKeyPem, privateKeyToPem, type KeyAlgorithm } from './keys.js';
import { certifiesKey, isSelfSigned, notACaReason, outsideValidityReason, parseCertificates } from './parsed-certificate.js';
import { fileMode, readIfExists, writeFileAtomic } from '../util/files.js';
import { fail, ok, type Result } from './result.js';
import { toPem } from './pem.js';
import {
  basicConstraints,
  distinguishedName,
  KEY_USAGE,
  keyIdentifier,
  keyUsage,
  OID,
  signCertificate,
  subjectKeyIdentifier,
} from './x509-template.js';

import { ROOT_CERT_FILE, ROOT_KEY_FILE } from './root-files.js';

export { ROOT_CERT_FILE, ROOT_KEY_FILE };

export interface StoredRoot {
  signer: Signer;
  directory: string;
  created: boolean;
  /** Set when the key file is readable by group or others. */
  looseKeyMode?: number;
}

export async function createRootPem(
  trustDomain: string,
  ttlSeconds: number,
  algorithm: KeyAlgorithm,
  now: Date,
  commonName = 'meshlite root CA',
): Promise<{ certPem: string; keyPem: string }> {
  const key = await generateKeyPair(algorithm);
  const name = distinguishedName([
    [OID.organization, trustDomain],
    [OID.commonName, commonName],
  ]);
  const der = signCertificate(
    {
      serialHex: randomSerialHex(),
      issuer: name,
      subject: name,
      notBefore: floorToSecond(now.getTime() - CLOCK_SKEW_SECONDS * 1000),
      notAfter: floorToSecond(now.getTime() + ttlSeconds * 1000),
      spkiDer: key.spkiDer,
      extensions: [
        basicConstraints(true),
        keyUsage([KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]),
        subjectKeyIdentifier(keyIdentifier(key.spkiDer)),
      ],
    },
    key,
  );
  return { certPem: toPem('CERTIFICATE', der), keyPem: privateKeyToPem(key.privateKey) };
}

/** Checks a root certificate + key pair and turns it into a signer. */
export function rootSigner(certPem: string, keyPem: string, certSource: string, keySource: string, now: Date): Result<Signer> {
  const certs = parseCertificates(certPem, certSource);
  if (!certs.ok) return certs;
  if (certs.value.length !== 1) return fail(`${certSource}: expected exactly one certificate, found ${certs.value.length}`);
  const root = certs.value[0]!;
  if (!isSelfSigned(root)) return fail(`${certSource}: the root certificate is not self-signed`);
  const notCa = notACaReason(root);
  if (notCa) return fail(`${certSource}: the certificate ${notCa}`);
  const expired = outsideValidityReason(root, now);
  if (expired)
    return fail(
      `${certSource}: the root certificate ${expired}; move the ca directory away to create a new root (every workload must then trust the new one)`,
    );
  const key = loadPrivateKeyPem(keyPem, keySource);
  if (!key.ok) return key;
  if (!certifiesKey(root, key.value.spkiDer)) return fail(`${keySource} does not match the public key of ${certSource}`);
  return ok(createSigner(root, key.value, [], root));
}

export async function loadOrCreateStoredRoot(
  stateDir: string,
  trustDomain: string,
  ttlSeconds: number,
  algorithm: KeyAlgorithm,
  now: Date,
): Promise<Result<StoredRoot>> {
  const directory = join(stateDir, 'ca');
  const certPath = join(directory, ROOT_CERT_FILE);
  const keyPath = join(directory, ROOT_KEY_FILE);
  let certPem = await readIfExists(certPath);
  let keyPem = await readIfExists(keyPath);
  const created = certPem === undefined && keyPem === undefined;
  if (created) {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await mkdir(directory, { recursive: true, mode: 0o700 });
    const made = await createRootPem(trustDomain, ttlSeconds, algorithm, now);
    // Key first: a crash in between leaves a lone key, reported below, never a cert without its key.
    await writeFileAtomic(keyPath, made.keyPem, 0o600);
    await writeFileAtomic(certPath, made.certPem, 0o644);
    ({ certPem, keyPem } = made);
  } else if (certPem === undefined || keyPem === undefined) {
    const missing = certPem === undefined ? certPath : keyPath;
    const present = certPem === undefined ? keyPath : certPath;
    return fail(`${present} exists but ${missing} is missing; restore it, or remove ${directory} to create a new root`);
  }
  const signer = rootSigner(certPem!, keyPem!, certPath, keyPath, now);
  if (!signer.ok) return signer;
  const mode = await fileMode(keyPath);
  return ok({ signer: signer.value, directory, created, ...((mode & 0o077) !== 0 ? { looseKeyMode: mode } : {}) });
}
