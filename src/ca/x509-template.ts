// Certificates built straight from a template in DER and signed with Node's
// crypto. Going through a general ASN.1 schema library costs several
// milliseconds of main-thread JavaScript per certificate, and the ADS server
// shares that thread.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import {
  bitString,
  children,
  explicit,
  implicit,
  namedBits,
  objectIdentifier,
  octetString,
  readElement,
  sequence,
  set,
  time,
  TRUE,
  unsignedInteger,
  utf8String,
} from './der.js';
import { signWith, type SigningKey } from './keys.js';
import type { Der } from './pem.js';

export const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  organization: '2.5.4.10',
  commonName: '2.5.4.3',
} as const;

export const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

export type SanEntry = { type: 'uri' | 'dns' | 'ip'; value: string };

export interface CertificateTemplate {
  serialHex: string;
  /** DER Name of the issuer, byte for byte as in the issuer's own certificate. */
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  spkiDer: Buffer;
  extensions: Buffer[];
}

export function extension(oid: string | Buffer, critical: boolean, value: Buffer): Buffer {
  const id = typeof oid === 'string' ? objectIdentifier(oid) : oid;
  return critical ? sequence(id, TRUE, octetString(value)) : sequence(id, octetString(value));
}

/** The identifiers of the extensions every leaf gets, encoded once. */
const SUBJECT_ALT_NAME = objectIdentifier(OID.subjectAltName);
const SUBJECT_KEY_IDENTIFIER = objectIdentifier(OID.subjectKeyIdentifier);
const VERSION_3 = explicit(0, unsignedInteger(Buffer.from([2])));

/** cA FALSE is the DEFAULT and so, in DER, an empty SEQUENCE. */
export const basicConstraints = (ca: boolean): Buffer => extension(OID.basicConstraints, true, ca ? sequence(TRUE) : sequence());
export const keyUsage = (bits: number[]): Buffer => extension(OID.keyUsage, true, namedBits(bits));
export const extendedKeyUsage = (oids: string[]): Buffer => extension(OID.extKeyUsage, false, sequence(...oids.map(objectIdentifier)));
export const subjectKeyIdentifier = (keyId: Buffer): Buffer => extension(SUBJECT_KEY_IDENTIFIER, false, octetString(keyId));
export const authorityKeyIdentifier = (keyId: Buffer): Buffer => extension(OID.authorityKeyIdentifier, false, sequence(implicit(0, keyId)));

/** With an empty subject the SAN extension is the certificate's identity, and X.509 then requires it to be critical. */
export function subjectAltName(entries: SanEntry[], critical: boolean): Buffer {
  const names = entries.map((e) => {
    if (e.type === 'uri') return implicit(6, Buffer.from(e.value, 'ascii'));
    if (e.type === 'dns') return implicit(2, Buffer.from(e.value, 'ascii'));
    return implicit(7, ipBytes(e.value));
  });
  return extension(SUBJECT_ALT_NAME, critical, sequence(...names));
}

export const EMPTY_NAME = sequence();

/** A Name of one attribute per RDN, values as UTF8String. */
export function distinguishedName(attributes: [oid: string, value: string][]): Buffer {
  return sequence(...attributes.map(([oid, value]) => set(sequence(objectIdentifier(oid), utf8String(value)))));
}

/** The usual key identifier: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(spkiDer: Uint8Array): Buffer {
  const spki = readElement(spkiDer, 0);
  const bits = children(spkiDer, spki)[1]!;
  return createHash('sha1')
    .update(spkiDer.subarray(bits.contentStart + 1, bits.end))
    .digest();
}

/** The subject Name of a certificate, as its exact DER bytes. */
export function subjectNameDer(certDer: Uint8Array): Buffer {
  const cert = readElement(certDer, 0);
  const tbs = children(certDer, cert)[0]!;
  const fields = children(certDer, tbs);
  const offset = fields[0]!.tag === 0xa0 ? 1 : 0; // [0] version is optional
  const subject = fields[offset + 4]!;
  return Buffer.from(certDer.subarray(subject.start, subject.end));
}

export function signCertificate(template: CertificateTemplate, key: SigningKey): Der {
  const tbs = sequence(
    VERSION_3,
    unsignedInteger(Buffer.from(template.serialHex, 'hex')),
    key.signatureAlgorithm,
    template.issuer,
    sequence(time(template.notBefore), time(template.notAfter)),
    template.subject,
    template.spkiDer,
    explicit(3, sequence(...template.extensions)),
  );
  return sequence(tbs, key.signatureAlgorithm, bitString(signWith(key, tbs))) as Der;
}

function ipBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number));
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  groups.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
  return bytes;
}
