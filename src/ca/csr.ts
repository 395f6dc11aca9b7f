// PKCS#10 certificate requests from workloads: the one key the CA will
// certify, and proof that the requester holds it. @peculiar/x509 parses the
// request; its signature is then checked with Node's crypto on the exact DER
// bytes, because verifying through WebCrypto costs about a millisecond of
// event-loop time per request and the ADS streams share that loop.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { children, objectIdentifier, readElement, sequence } from './der.js';
import { describeKey, type KeyKind } from './keys.js';
import { pemBlocks, type Der } from './pem.js';
import { fail, ok, type Result } from './result.js';
import { x509 } from './x509-lib.js';

export const MAX_CSR_CHARS = 64 * 1024;
/** Larger RSA keys only cost signature checks; no workload needs one. */
const MAX_RSA_BITS = 8192;
const HASHES: Record<string, string> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const ACCEPTED = 'ECDSA P-256 or RSA of 2048 to 8192 bits';

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
  const der = requests[0]!.der;
  let csr: x509.Pkcs10CertificateRequest;
  let spkiDer: Der;
  try {
    csr = new x509.Pkcs10CertificateRequest(der);
    spkiDer = Buffer.from(csr.publicKey.rawData);
  } catch {
    return fail('CSR is not a valid PKCS#10 certificate request');
  }
  const imported = importPublicKey(spkiDer);
  if (!imported.ok) return fail(`CSR public key: ${imported.error}`);
  const { key, kind } = imported.value;
  const problem = workloadKeyProblem(kind);
  if (problem) return fail(`CSR public key: ${problem}`);
  const signed = signatureParts(csr, der);
  if (!signed.ok) return signed;
  const { hash, algorithm, tbs, signature } = signed.value;
  const expected = kind.type === 'ec' ? 'ECDSA' : 'RSASSA-PKCS1-v1_5';
  if (algorithm !== expected) return fail(`CSR is signed with ${algorithm}, which does not match its ${kind.type.toUpperCase()} key`);
  let verified: boolean;
  try {
    verified = verify(hash, tbs, key, signature);
  } catch {
    verified = false;
  }
  if (!verified) return fail('CSR signature does not verify with its own public key (no proof of possession)');
  return ok({ spkiDer, kind });
}

/** AlgorithmIdentifier of an EC key on P-256 (id-ecPublicKey, prime256v1), DER. */
const P256_ALGORITHM = sequence(objectIdentifier('1.2.840.10045.2.1'), objectIdentifier('1.2.840.10045.3.1.7'));

/**
 * A KeyObject for an SPKI, and its kind. Uncompressed P-256 keys, nearly
 * every CSR, are imported from their point as a JWK: OpenSSL's DER decoder
 * and its key-details query cost three times as much. Node checks the point
 * lies on the curve either way.
 */
function importPublicKey(spkiDer: Der): Result<{ key: KeyObject; kind: KeyKind }> {
  try {
    const [algorithm, bits] = children(spkiDer, readElement(spkiDer, 0));
    const point = bits && spkiDer.subarray(bits.contentStart, bits.end);
    if (
      algorithm &&
      point &&
      spkiDer.subarray(algorithm.start, algorithm.end).equals(P256_ALGORITHM) &&
      point.length === 66 &&
      point[1] === 4
    ) {
      const coordinate = (from: number) => Buffer.from(point.subarray(from, from + 32)).toString('base64url');
      const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: coordinate(2), y: coordinate(34) }, format: 'jwk' });
      return ok({ key, kind: { type: 'ec', curve: 'P-256' } });
    }
  } catch {
    return fail('not a valid SubjectPublicKeyInfo');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  } catch {
    return fail('not a valid SubjectPublicKeyInfo');
  }
  if (key.asymmetricKeyType === 'dsa') return fail(`DSA keys are not accepted (use ${ACCEPTED})`);
  const kind = describeKey(key);
  return kind.ok ? ok({ key, kind: kind.value }) : kind;
}

interface SignatureParts {
  algorithm: string;
  hash: string;
  /** The signed CertificationRequestInfo, exact bytes. */
  tbs: Buffer;
  /** The BIT STRING's content (DER ECDSA-Sig-Value, or the RSA signature). */
  signature: Buffer;
}

function signatureParts(csr: x509.Pkcs10CertificateRequest, der: Der): Result<SignatureParts> {
  let algorithm: string;
  let hashName: string | undefined;
  try {
    const alg = csr.signatureAlgorithm;
    algorithm = alg.name;
    hashName = typeof alg.hash === 'string' ? alg.hash : alg.hash?.name;
  } catch {
    return fail('CSR signature algorithm is not known');
  }
  const hash = HASHES[hashName?.toUpperCase() ?? ''];
  if ((algorithm !== 'ECDSA' && algorithm !== 'RSASSA-PKCS1-v1_5') || hash === undefined)
    return fail(
      `CSR signature algorithm ${algorithm}${hashName ? ` with ${hashName}` : ''} is not accepted (use ECDSA or RSA PKCS#1 v1.5 with SHA-256, SHA-384 or SHA-512)`,
    );
  let parts: ReturnType<typeof children>;
  try {
    parts = children(der, readElement(der, 0));
  } catch {
    return fail('CSR is not a valid PKCS#10 certificate request');
  }
  const [info, , bits] = parts;
  if (!info || bits?.tag !== 0x03 || der[bits.contentStart] !== 0) return fail('CSR is not a valid PKCS#10 certificate request');
  return ok({
    algorithm,
    hash,
    tbs: Buffer.from(der.subarray(info.start, info.end)),
    signature: Buffer.from(der.subarray(bits.contentStart + 1, bits.end)),
  });
}
