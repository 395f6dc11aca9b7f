// The structure of a PKCS#10 certificate request, decoded strictly from DER:
//
//   CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
//   CertificationRequestInfo ::= SEQUENCE { version INTEGER (0), subject Name,
//                                           subjectPKInfo SubjectPublicKeyInfo, attributes [0] SET OF Attribute }
//
// Only the key, the signed bytes and the signature are handed on; the subject
// and attributes are checked for shape and otherwise ignored (the CA takes
// nothing but the key from a request). What the algorithms and the key mean
// is for the caller (csr.ts) to decide.
import { bitStringBytes, checkNesting, DerError, expect, objectIdentifierBytes, readOnly, sameBytes, type Tlv } from './der-reader.js';
import { fail, ok, type Result } from './result.js';

export interface DecodedCsr {
  /** CertificationRequestInfo, exact bytes: what the signature covers. */
  info: Uint8Array;
  /** SubjectPublicKeyInfo, exact bytes. */
  spki: Uint8Array;
  /** The key's AlgorithmIdentifier, exact bytes. */
  keyAlgorithm: Uint8Array;
  /** The subjectPublicKey BIT STRING's bytes: an EC point, or an RSAPublicKey. */
  publicKey: Uint8Array;
  /** OBJECT IDENTIFIER of the signature algorithm, exact bytes (tag and length included). */
  signatureOid: Uint8Array;
  /** The AlgorithmIdentifier's parameters, exact bytes; undefined when absent. */
  signatureParameters?: Uint8Array;
  /** The signature BIT STRING's bytes (DER ECDSA-Sig-Value, or an RSA signature). */
  signature: Uint8Array;
}

const SEQUENCE = 0x30;
const SET = 0x31;
const VERSION_1 = Buffer.from([0x02, 0x01, 0x00]);
const ATTRIBUTES = 0xa0;

/** The parts of a DER PKCS#10 request; never throws on any input. Errors never quote the input. */
export function decodeCsr(der: Uint8Array): Result<DecodedCsr> {
  try {
    return ok(decode(der));
  } catch (err) {
    if (err instanceof DerError) return fail(`CSR is not a valid PKCS#10 certificate request (${err.message})`);
    throw err;
  }
}

function decode(der: Uint8Array): DecodedCsr {
  const request = readOnly(der);
  const [info, signatureAlgorithm, signature] = expect(der, request, SEQUENCE, 3);
  const [version, subject, spki, attributes] = expect(der, info, SEQUENCE, 4);
  if (!sameBytes(bytesOf(der, version!), VERSION_1)) throw new DerError('version is not 1');
  checkName(der, subject);
  for (const attribute of expect(der, attributes, ATTRIBUTES, 0, Infinity)) {
    const [type, values] = expect(der, attribute, SEQUENCE, 2);
    objectIdentifierBytes(der, type);
    expect(der, values, SET, 1, Infinity);
  }
  checkNesting(der, info!);
  const [keyAlgorithm, publicKey] = expect(der, spki, SEQUENCE, 2);
  const [keyOid, ...keyParameters] = expect(der, keyAlgorithm, SEQUENCE, 1, 2);
  objectIdentifierBytes(der, keyOid);
  for (const p of keyParameters) checkNesting(der, p);
  const [signatureOid, ...signatureParameters] = expect(der, signatureAlgorithm, SEQUENCE, 1, 2);
  for (const p of signatureParameters) checkNesting(der, p);
  return {
    info: bytesOf(der, info!),
    spki: bytesOf(der, spki!),
    keyAlgorithm: bytesOf(der, keyAlgorithm!),
    publicKey: bitStringBytes(der, publicKey),
    signatureOid: objectIdentifierBytes(der, signatureOid),
    signatureParameters: signatureParameters[0] && bytesOf(der, signatureParameters[0]),
    signature: bitStringBytes(der, signature),
  };
}

/** Name ::= SEQUENCE OF SET OF SEQUENCE { type OBJECT IDENTIFIER, value ANY }; empty is allowed. */
function checkName(der: Uint8Array, name: Tlv | undefined): void {
  for (const rdn of expect(der, name, SEQUENCE, 0, Infinity)) {
    for (const attribute of expect(der, rdn, SET, 1, Infinity)) {
      const [type] = expect(der, attribute, SEQUENCE, 2);
      objectIdentifierBytes(der, type);
    }
  }
}

const bytesOf = (der: Uint8Array, element: Tlv): Uint8Array => der.subarray(element.start, element.end);
