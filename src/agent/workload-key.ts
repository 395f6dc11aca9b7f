// The workload's key pair and the certificate request that carries its public
// half to meshlite. The key is made here and stays on this host: only the CSR,
// which proves possession by its signature, is ever sent. meshlite takes the
// identity from the caller's credential, so the request names nothing.
import { generateKeyPair as generateNodeKeyPair, type KeyObject, sign } from 'node:crypto';
import { promisify } from 'node:util';
import { bitString, explicit, objectIdentifier, sequence, unsignedInteger } from '../ca/der.js';
import { toPem } from '../ca/pem.js';
import { EMPTY_NAME } from '../ca/x509-template.js';

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const makeEcKeyPair = promisify(generateNodeKeyPair);

export interface WorkloadKey {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** PKCS#10 PEM, signed by the private key. */
  csrPem: string;
}

/** A fresh ECDSA P-256 key and a CSR for its public key, with an empty subject and no attributes. */
export async function generateWorkloadKey(): Promise<WorkloadKey> {
  const { privateKey, publicKey } = await makeEcKeyPair('ec', { namedCurve: 'P-256' });
  return { privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), csrPem: csrFor(privateKey, publicKey) };
}

function csrFor(privateKey: KeyObject, publicKey: KeyObject): string {
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  // CertificationRequestInfo: version 0, subject, subjectPKInfo, attributes [0] (empty).
  const info = sequence(unsignedInteger(Buffer.from([0])), EMPTY_NAME, spki, explicit(0, Buffer.alloc(0)));
  const signature = sign('sha256', info, privateKey);
  return toPem('CERTIFICATE REQUEST', sequence(info, sequence(objectIdentifier(ECDSA_WITH_SHA256)), bitString(signature)));
}
