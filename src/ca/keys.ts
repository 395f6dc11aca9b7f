// Key generation, PEM import/export and the key-type policy of the CA.
import { createPrivateKey, createPublicKey, generateKeyPair as generateNodeKeyPair, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { NULL, objectIdentifier, sequence } from './der.js';
import type { Der } from './pem.js';
import { fail, ok, type Result } from './result.js';

/** Key algorithms the CA generates: workloads always get P-256; a root may be RSA-2048 on request. */
export type KeyAlgorithm = 'ecdsa-p256' | 'rsa-2048';

export type KeyKind = { type: 'ec'; curve: 'P-256' | 'P-384' | 'P-521' } | { type: 'rsa'; bits: number };

export interface SigningKey {
  privateKey: KeyObject;
  /** SubjectPublicKeyInfo (DER) of the matching public key. */
  spkiDer: Der;
  kind: KeyKind;
  /** DER AlgorithmIdentifier of the signatures this key makes. */
  signatureAlgorithm: Buffer;
}

const generate = promisify(generateNodeKeyPair);
const CURVES: Record<string, 'P-256' | 'P-384' | 'P-521'> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const CURVE_HASH = { 'P-256': 'sha256', 'P-384': 'sha384', 'P-521': 'sha512' } as const;
const ECDSA_WITH = { sha256: '1.2.840.10045.4.3.2', sha384: '1.2.840.10045.4.3.3', sha512: '1.2.840.10045.4.3.4' } as const;
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

const hashOf = (kind: KeyKind) => (kind.type === 'ec' ? CURVE_HASH[kind.curve] : 'sha256');

function signatureAlgorithmFor(kind: KeyKind): Buffer {
  // RFC 5758: ECDSA identifiers carry no parameters; RFC 4055: RSA ones carry NULL.
  return kind.type === 'ec' ? sequence(objectIdentifier(ECDSA_WITH[hashOf(kind)])) : sequence(objectIdentifier(SHA256_WITH_RSA), NULL);
}

/** Signs `data` the way `key.signatureAlgorithm` says (ECDSA signatures come out DER-encoded, as X.509 wants). */
export function signWith(key: SigningKey, data: Uint8Array): Buffer {
  return sign(hashOf(key.kind), data, key.privateKey);
}

export function describeKey(key: KeyObject): Result<KeyKind> {
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    return curve
      ? ok({ type: 'ec', curve })
      : fail(`EC curve ${key.asymmetricKeyDetails?.namedCurve ?? '?'} is not supported (use P-256, P-384 or P-521)`);
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    return bits >= 2048 ? ok({ type: 'rsa', bits }) : fail(`RSA key of ${bits} bits is too weak (at least 2048)`);
  }
  return fail(`key type ${key.asymmetricKeyType ?? '?'} is not supported (use ECDSA or RSA)`);
}

function signingKeyFrom(privateKey: KeyObject, kind: KeyKind): SigningKey {
  const spkiDer = Buffer.from(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
  return { privateKey, spkiDer, kind, signatureAlgorithm: signatureAlgorithmFor(kind) };
}

/** A fresh key pair; generated off the event loop (RSA takes a while). */
export async function generateKeyPair(algorithm: KeyAlgorithm = 'ecdsa-p256'): Promise<SigningKey> {
  if (algorithm === 'rsa-2048') {
    const { privateKey } = await generate('rsa', { modulusLength: 2048 });
    return signingKeyFrom(privateKey, { type: 'rsa', bits: 2048 });
  }
  const { privateKey } = await generate('ec', { namedCurve: 'P-256' });
  return signingKeyFrom(privateKey, { type: 'ec', curve: 'P-256' });
}

export function privateKeyToPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** Reads a private key PEM (PKCS#8, PKCS#1 RSA or SEC1 EC). Errors name the source file only. */
export function loadPrivateKeyPem(pem: string, source: string): Result<SigningKey> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MISSING_PASSPHRASE') return fail(`${source}: the private key is encrypted; meshlite needs it unencrypted`);
    return fail(`${source}: not a readable private key (expected PEM: PKCS#8, PKCS#1 RSA or SEC1 EC)`);
  }
  const kind = describeKey(privateKey);
  if (!kind.ok) return fail(`${source}: ${kind.error}`);
  return ok(signingKeyFrom(privateKey, kind.value));
}
