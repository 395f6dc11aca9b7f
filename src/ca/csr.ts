// PKCS#10 certificate requests from workloads: the one key the CA will
// certify, and proof that the requester holds it. The request is decoded
// from its DER by csr-decoder.ts and its signature checked with Node's crypto
// on the exact signed bytes: a general ASN.1 library and WebCrypto cost
// several times more per request, and the ADS streams share the event loop.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { decodeCsr, type DecodedCsr } from './csr-decoder.js';
import { NULL, objectIdentifier, sequence } from './der.js';
import { sameBytes } from './der-reader.js';
import { describeKey, type KeyKind } from './keys.js';
import { pemBlocks, type Der } from './pem.js';
import { fail, ok, type Result } from './result.js';

export const MAX_CSR_CHARS = 64 * 1024;
/** Larger RSA keys only cost signature checks; no workload needs one. */
const MAX_RSA_BITS = 8192;
const ACCEPTED = 'ECDSA P-256 or RSA of 2048 to 8192 bits';
const ACCEPTED_SIGNATURES = 'use ECDSA or RSA PKCS#1 v1.5 with SHA-256, SHA-384 or SHA-512';

interface SignatureAlgorithm {
  name: string;
  oid: Buffer;
  /** Node's name of the hash; undefined for algorithms that are recognised only to be refused by name. */
  hash?: string;
  /** ECDSA signature identifiers carry no parameters; RSA ones carry NULL, which some encoders leave out. */
  parameters?: 'none' | 'null-or-none';
}

const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = [
  { name: 'ECDSA', oid: objectIdentifier('1.2.840.10045.4.3.2'), hash: 'sha256', parameters: 'none' },
  { name: 'ECDSA', oid: objectIdentifier('1.2.840.10045.4.3.3'), hash: 'sha384', parameters: 'none' },
  { name: 'ECDSA', oid: objectIdentifier('1.2.840.10045.4.3.4'), hash: 'sha512', parameters: 'none' },
  { name: 'RSASSA-PKCS1-v1_5', oid: objectIdentifier('1.2.840.113549.1.1.11'), hash: 'sha256', parameters: 'null-or-none' },
  { name: 'RSASSA-PKCS1-v1_5', oid: objectIdentifier('1.2.840.113549.1.1.12'), hash: 'sha384', parameters: 'null-or-none' },
  { name: 'RSASSA-PKCS1-v1_5', oid: objectIdentifier('1.2.840.113549.1.1.13'), hash: 'sha512', parameters: 'null-or-none' },
  { name: 'ECDSA with SHA-1', oid: objectIdentifier('1.2.840.10045.4.1') },
  { name: 'RSASSA-PKCS1-v1_5 with SHA-1', oid: objectIdentifier('1.2.840.113549.1.1.5') },
  { name: 'RSA-PSS', oid: objectIdentifier('1.2.840.113549.1.1.10') },
  { name: 'DSA with SHA-1', oid: objectIdentifier('1.2.840.10040.4.3') },
  { name: 'DSA with SHA-256', oid: objectIdentifier('2.16.840.1.101.3.4.3.2') },
  { name: 'Ed25519', oid: objectIdentifier('1.3.101.112') },
];

export interface CheckedCsr {
  /** SubjectPublicKeyInfo DER of the key to certify. */
  spkiDer: Der;
  kind: KeyKind;
}

/** Why a workload may not have a certificate for this key, or undefined. */
export function workloadKeyProblem(kind: KeyKind): string | undefined {
  if (kind.type === 'ec' && kind.curve !== 'P-256') return `EC curve ${kind.curve} is not accepted (use ${ACCEPTED})`;
  if (kind.type === 'rsa' && kind.bits > MAX_RSA_BITS) return `RSA key of ${kind.bits} bits is larger than ${MAX_RSA_BITS}`;
  return undefined;
}

/**
 * The public key of a PEM CSR (exactly one CERTIFICATE REQUEST block), once
 * its key type is accepted and its self-signature verifies. Subject,
 * extensions and attributes are not looked at. Errors never quote the input.
 */
export function checkCsr(csrPem: string): Result<CheckedCsr> {
  if (csrPem.length > MAX_CSR_CHARS) return fail(`CSR is larger than ${MAX_CSR_CHARS} characters`);
  const blocks = pemBlocks(csrPem);
  const requests = blocks.ok ? blocks.value.filter((b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST') : [];
  if (!blocks.ok || requests.length !== 1 || blocks.value.length !== 1) return fail('expected exactly one PEM "CERTIFICATE REQUEST" block');
  const decoded = decodeCsr(requests[0]!.der);
  if (!decoded.ok) return decoded;
  const csr = decoded.value;
  const imported = importPublicKey(csr);
  if (!imported.ok) return fail(`CSR public key: ${imported.error}`);
  const { key, kind } = imported.value;
  const problem = workloadKeyProblem(kind);
  if (problem) return fail(`CSR public key: ${problem}`);
  const algorithm = signatureAlgorithm(csr);
  if (!algorithm.ok) return algorithm;
  const { name, hash } = algorithm.value;
  const expected = kind.type === 'ec' ? 'ECDSA' : 'RSASSA-PKCS1-v1_5';
  if (name !== expected) return fail(`CSR is signed with ${name}, which does not match its ${kind.type.toUpperCase()} key`);
  let verified: boolean;
  try {
    verified = verify(hash, csr.info, key, csr.signature);
  } catch {
    verified = false;
  }
  if (!verified) return fail('CSR signature does not verify with its own public key (no proof of possession)');
  return ok({ spkiDer: Buffer.from(csr.spki), kind });
}

function signatureAlgorithm(csr: DecodedCsr): Result<{ name: string; hash: string }> {
  const known = SIGNATURE_ALGORITHMS.find((a) => sameBytes(a.oid, csr.signatureOid));
  if (!known?.hash) return fail(`CSR signature algorithm ${known ? `${known.name} ` : ''}is not accepted (${ACCEPTED_SIGNATURES})`);
  const parameters = csr.signatureParameters;
  if (parameters && (known.parameters === 'none' || !sameBytes(parameters, NULL)))
    return fail(`CSR signature algorithm ${known.name} has parameters it does not take`);
  return ok({ name: known.name, hash: known.hash });
}

/** AlgorithmIdentifier of an EC key on P-256 (id-ecPublicKey, prime256v1), DER. */
const P256_ALGORITHM = sequence(objectIdentifier('1.2.840.10045.2.1'), objectIdentifier('1.2.840.10045.3.1.7'));

/**
 * A KeyObject for the CSR's key, and its kind. Uncompressed P-256 keys,
 * nearly every CSR, are imported from their point as a JWK: OpenSSL's DER
 * decoder costs twice as much. Node checks the point lies on the curve
 * either way.
 */
function importPublicKey(csr: DecodedCsr): Result<{ key: KeyObject; kind: KeyKind }> {
  const point = csr.publicKey;
  if (sameBytes(csr.keyAlgorithm, P256_ALGORITHM) && point.length === 65 && point[0] === 4) {
    const coordinate = (from: number) => Buffer.from(point.buffer, point.byteOffset + from, 32).toString('base64url');
    try {
      const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: coordinate(1), y: coordinate(33) }, format: 'jwk' });
      return ok({ key, kind: { type: 'ec', curve: 'P-256' } });
    } catch {
      return fail('not a valid SubjectPublicKeyInfo');
    }
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(csr.spki), format: 'der', type: 'spki' });
  } catch {
    return fail('not a valid SubjectPublicKeyInfo');
  }
  if (key.asymmetricKeyType === 'dsa') return fail(`DSA keys are not accepted (use ${ACCEPTED})`);
  const kind = describeKey(key);
  return kind.ok ? ok({ key, kind: kind.value }) : kind;
}
