// Signing of leaf certificates: the X.509-SVID profile for workloads and a
// serverAuth profile for meshlite's own TLS listener.
import { randomBytes } from 'node:crypto';
import type { SigningKey } from './keys.js';
import { toPem, type Der } from './pem.js';
import { describeCertificate, outsideValidityReason, subjectKeyIdOf, type ParsedCertificate } from './parsed-certificate.js';
import { fail, ok, type Result } from './result.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  EMPTY_NAME,
  extendedKeyUsage,
  KEY_USAGE,
  keyIdentifier,
  keyUsage,
  OID,
  signCertificate,
  subjectAltName,
  subjectKeyIdentifier,
  subjectNameDer,
  type SanEntry,
} from './x509-template.js';

/** Certificates start this far in the past so that peers with a slow clock accept them at once. */
export const CLOCK_SKEW_SECONDS = 120;
export const DEFAULT_WORKLOAD_TTL_SECONDS = 24 * 3600;
export const MAX_WORKLOAD_TTL_SECONDS = 90 * 24 * 3600;
export const DEFAULT_ROOT_TTL_SECONDS = 3650 * 24 * 3600;
export const MAX_ROOT_TTL_SECONDS = 100 * 365 * 24 * 3600;

export interface IssuedCertificate {
  /** PEM, one block per certificate: the leaf first, then intermediates, the root last. */
  certChainPem: string;
  /** PKCS#8 PEM; only when the CA generated the key. */
  privateKeyPem?: string;
  /** Lower-case hex. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  spiffeId?: string;
}

/**
 * invalid-identity / invalid-request / invalid-csr: the caller's input (map to INVALID_ARGUMENT);
 * signer-not-valid: the CA cannot sign now (UNAVAILABLE); internal: an unexpected failure.
 */
export type IssueFailureCode = 'invalid-identity' | 'invalid-request' | 'invalid-csr' | 'signer-not-valid' | 'internal';
export type IssueResult = { ok: true; certificate: IssuedCertificate } | { ok: false; code: IssueFailureCode; error: string };

export const issueFailure = (code: IssueFailureCode, error: string): IssueResult => ({ ok: false, code, error });

export interface Signer {
  /** The certificate whose key signs. */
  certificate: ParsedCertificate;
  key: SigningKey;
  /** Certificates between a leaf and the root, the signing one first; empty when the root signs. */
  intermediates: ParsedCertificate[];
  root: ParsedCertificate;
  /** The signing certificate's subject Name, exact DER: the leaves' issuer. */
  issuerName: Buffer;
  /** Leaves' authorityKeyIdentifier extension: the signing certificate's subject key identifier. */
  authorityKeyIdentifier: Buffer;
  /** PEM of everything after the leaf in an issued chain. */
  chainTailPem: string;
}

export function createSigner(
  certificate: ParsedCertificate,
  key: SigningKey,
  intermediates: ParsedCertificate[],
  root: ParsedCertificate,
): Signer {
  return {
    certificate,
    key,
    intermediates,
    root,
    issuerName: subjectNameDer(certificate.der),
    authorityKeyIdentifier: authorityKeyIdentifier(subjectKeyIdOf(certificate)),
    chainTailPem: [...intermediates, root].map((c) => c.pem).join(''),
  };
}

export function validateTtl(ttlSeconds: number | undefined, fallback: number, max: number): Result<number> {
  if (ttlSeconds === undefined) return ok(fallback);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) return fail(`ttlSeconds must be a whole number of seconds >= 1, got ${ttlSeconds}`);
  if (ttlSeconds > max) return fail(`ttlSeconds ${ttlSeconds} exceeds the maximum of ${max}`);
  return ok(ttlSeconds);
}

/** 16 random bytes with the top bit cleared (a positive INTEGER) and the next one set (no leading-zero trimming): 126 bits of entropy. */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

export const floorToSecond = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000);

export interface LeafProfile {
  /** subjectAltName entries; the subject is always empty, so these are the certificate's only names. */
  names: SanEntry[];
  /** The extendedKeyUsage extension, DER. */
  extendedKeyUsage: Buffer;
}

export const WORKLOAD_USAGES = extendedKeyUsage([OID.serverAuth, OID.clientAuth]);
export const SERVER_USAGES = extendedKeyUsage([OID.serverAuth]);
const LEAF_CONSTRAINTS = basicConstraints(false);
const LEAF_KEY_USAGE = keyUsage([KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment]);

/**
 * Signs a leaf for a public key (SPKI DER). NotBefore is backdated by the
 * clock skew allowance and NotAfter is clamped so the leaf never outlives any
 * certificate of the signer's chain. Refuses when a chain certificate is not
 * valid at `now`.
 */
export function signLeaf(signer: Signer, spkiDer: Der, profile: LeafProfile, ttlSeconds: number, now: Date): IssueResult {
  const chain = [...signer.intermediates, signer.root];
  if (!chain.includes(signer.certificate)) chain.unshift(signer.certificate);
  for (const c of chain) {
    const reason = outsideValidityReason(c, now);
    if (reason) return issueFailure('signer-not-valid', `cannot sign: CA certificate ${describeCertificate(c)} ${reason}`);
  }
  const earliestEnd = chain.reduce((min, c) => Math.min(min, c.cert.notAfter.getTime()), Infinity);
  const latestStart = chain.reduce((max, c) => Math.max(max, c.cert.notBefore.getTime()), -Infinity);
  const notBefore = floorToSecond(Math.max(now.getTime() - CLOCK_SKEW_SECONDS * 1000, latestStart));
  const notAfter = floorToSecond(Math.min(now.getTime() + ttlSeconds * 1000, earliestEnd));
  const serialNumber = randomSerialHex();
  const der = signCertificate(
    {
      serialHex: serialNumber,
      issuer: signer.issuerName,
      subject: EMPTY_NAME,
      notBefore,
      notAfter,
      spkiDer,
      extensions: [
        LEAF_CONSTRAINTS,
        LEAF_KEY_USAGE,
        profile.extendedKeyUsage,
        subjectAltName(profile.names, true),
        subjectKeyIdentifier(keyIdentifier(spkiDer)),
        signer.authorityKeyIdentifier,
      ],
    },
    signer.key,
  );
  return { ok: true, certificate: { certChainPem: toPem('CERTIFICATE', der) + signer.chainTailPem, serialNumber, notBefore, notAfter } };
}
