// PKCS#10 certificate requests for any key Node can make (DSA and small RSA
// too, which WebCrypto refuses), built from DER with the CA's own encoders,
// signed with Node's crypto: fast enough to make thousands ahead of a bench.
import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { bitString, explicit, NULL, objectIdentifier, sequence, set, unsignedInteger } from '../../src/ca/der.js';
import { toPem } from '../../src/ca/pem.js';
import { distinguishedName, type SanEntry, subjectAltName } from '../../src/ca/x509-template.js';

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const SIGNATURE_OIDS: Record<string, string> = {
  'ec:sha1': '1.2.840.10045.4.1',
  'ec:sha256': '1.2.840.10045.4.3.2',
  'ec:sha384': '1.2.840.10045.4.3.3',
  'rsa:sha1': '1.2.840.113549.1.1.5',
  'rsa:sha256': '1.2.840.113549.1.1.11',
  'dsa:sha256': '2.16.840.1.101.3.4.3.2',
};

export interface CsrOptions {
  /** Subject attributes as [OID, value] pairs. */
  subject?: [oid: string, value: string][];
  /** SANs asked for in an extensionRequest attribute. */
  sans?: SanEntry[];
  /** Sign with this key instead (the CSR then carries a key its signer does not hold). */
  signer?: KeyObject;
  hash?: 'sha1' | 'sha256' | 'sha384';
  /** Flip a bit of the signature. */
  corrupt?: boolean;
  /** The signature AlgorithmIdentifier's parameters: NULL for RSA and none for the others unless given. */
  parameters?: 'null' | 'none';
  /** Bytes appended after the request's DER, inside the PEM block. */
  trailing?: Buffer;
}

/** A PEM CSR for the public half of `privateKey`. */
export function csrFor(privateKey: KeyObject, opts: CsrOptions = {}): string {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const attributes = opts.sans
    ? sequence(objectIdentifier(EXTENSION_REQUEST), set(sequence(subjectAltName(opts.sans, false))))
    : Buffer.alloc(0);
  const info = sequence(unsignedInteger(Buffer.from([0])), distinguishedName(opts.subject ?? []), spki, explicit(0, attributes));
  const signer = opts.signer ?? privateKey;
  const hash = opts.hash ?? 'sha256';
  const type = signer.asymmetricKeyType!;
  const oid = SIGNATURE_OIDS[`${type}:${hash}`];
  if (!oid) throw new Error(`no signature algorithm for ${type} with ${hash}`);
  const signature = sign(hash, info, signer);
  if (opts.corrupt) signature[signature.length - 1]! ^= 0x01;
  const parameters = opts.parameters ?? (type === 'rsa' ? 'null' : 'none');
  const algorithm = parameters === 'null' ? sequence(objectIdentifier(oid), NULL) : sequence(objectIdentifier(oid));
  const request = sequence(info, algorithm, bitString(signature));
  return toPem('CERTIFICATE REQUEST', opts.trailing ? Buffer.concat([request, opts.trailing]) : request);
}

export const p256 = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
export const p384 = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
export const rsa = (modulusLength: number): KeyObject => generateKeyPairSync('rsa', { modulusLength }).privateKey;
export const dsa = (): KeyObject => generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).privateKey;
