// Shared helpers for the CA tests: temp dirs, a settable clock, chain parsing
// and hand-built CA hierarchies for the plugged-in (cacerts) layout.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, loadPrivateKeyPem, privateKeyToPem, type KeyAlgorithm, type SigningKey } from '../../src/ca/keys.js';
import { floorToSecond, randomSerialHex } from '../../src/ca/issue.js';
import { toPem } from '../../src/ca/pem.js';
import { createRootPem } from '../../src/ca/root-store.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  distinguishedName,
  KEY_USAGE,
  keyIdentifier,
  keyUsage,
  OID,
  signCertificate,
  subjectKeyIdentifier,
  subjectNameDer,
} from '../../src/ca/x509-template.js';
import type { WorkloadIdentity } from '../../src/ca/identity.js';

export const TRUST_DOMAIN = 'cluster.local';
export const DAY = 24 * 3600;

export const identity = (namespace: string, serviceAccount: string): WorkloadIdentity => ({
  trustDomain: TRUST_DOMAIN,
  namespace,
  serviceAccount,
});

const made: string[] = [];
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-ca-'));
  made.push(dir);
  return dir;
}
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A clock tests move by hand; starts on a whole second so expected dates are exact. */
export class ManualClock {
  ms: number;
  constructor(start = Date.UTC(2030, 0, 1, 12, 0, 0)) {
    this.ms = start;
  }
  readonly now = (): Date => new Date(this.ms);
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/** Each certificate of a PEM chain, in order. */
export function splitChain(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g) ?? []).map((block) => new X509Certificate(block));
}

export function pemBlockCount(pem: string): number {
  return (pem.match(/-----BEGIN /g) ?? []).length;
}

export interface TestCa {
  certPem: string;
  keyPem: string;
  der: Buffer;
  key: SigningKey;
}

export async function makeRoot(opts: { now?: Date; ttlSeconds?: number; algorithm?: KeyAlgorithm } = {}): Promise<TestCa> {
  const { certPem, keyPem } = await createRootPem(
    TRUST_DOMAIN,
    opts.ttlSeconds ?? 3650 * DAY,
    opts.algorithm ?? 'ecdsa-p256',
    opts.now ?? new Date(),
  );
  const key = loadPrivateKeyPem(keyPem, 'test root key');
  if (!key.ok) throw new Error(key.error);
  return { certPem, keyPem, der: new X509Certificate(certPem).raw, key: key.value };
}

/** An intermediate CA signed by `parent`, valid from `notBefore` for `ttlSeconds`. */
export async function makeIntermediate(
  parent: TestCa,
  opts: { name?: string; notBefore?: Date; ttlSeconds?: number; ca?: boolean } = {},
): Promise<TestCa> {
  const key = await generateKeyPair('ecdsa-p256');
  const notBefore = floorToSecond(opts.notBefore?.getTime() ?? Date.now() - 3600_000);
  const der = signCertificate(
    {
      serialHex: randomSerialHex(),
      issuer: subjectNameDer(parent.der),
      subject: distinguishedName([
        [OID.organization, TRUST_DOMAIN],
        [OID.commonName, opts.name ?? 'test intermediate CA'],
      ]),
      notBefore,
      notAfter: new Date(notBefore.getTime() + (opts.ttlSeconds ?? 365 * DAY) * 1000),
      spkiDer: key.spkiDer,
      extensions: [
        basicConstraints(opts.ca ?? true),
        keyUsage([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]),
        subjectKeyIdentifier(keyIdentifier(key.spkiDer)),
        authorityKeyIdentifier(keyIdentifier(parent.key.spkiDer)),
      ],
    },
    parent.key,
  );
  return { certPem: toPem('CERTIFICATE', der), keyPem: privateKeyToPem(key.privateKey), der, key };
}

export const notAfterOf = (ca: TestCa): Date => new Date(new X509Certificate(ca.der).validTo);
export const notBeforeOf = (ca: TestCa): Date => new Date(new X509Certificate(ca.der).validFrom);
export const serialOf = (ca: TestCa): string => new X509Certificate(ca.der).serialNumber.toLowerCase();

/** Writes an Istio cacerts directory; `omit` leaves files out, `files` overrides contents. */
export function writeCaCerts(dir: string, files: Record<string, string>, omit: string[] = []): string {
  for (const [name, text] of Object.entries(files))
    if (!omit.includes(name)) writeFileSync(join(dir, name), text, { mode: name.endsWith('key.pem') ? 0o600 : 0o644 });
  return dir;
}

export function cacertsFor(signer: TestCa, chainAbove: TestCa[], root: TestCa): Record<string, string> {
  return {
    'ca-cert.pem': signer.certPem,
    'ca-key.pem': signer.keyPem,
    'root-cert.pem': root.certPem,
    'cert-chain.pem': [signer, ...chainAbove, root].map((c) => c.certPem).join(''),
  };
}

/** The message a promise is rejected with; throws when it resolves. */
export async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a rejection');
}

export const hasOpenssl = (): boolean => spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;

/** `openssl verify` of a leaf against the chain that follows it; returns openssl's output. */
export function opensslVerify(chainPem: string, purpose: 'sslclient' | 'sslserver'): { ok: boolean; output: string } {
  const dir = tempDir();
  const [leaf, ...rest] = splitChain(chainPem).map((c) => c.toString());
  const root = rest.pop()!;
  writeFileSync(join(dir, 'leaf.pem'), leaf!);
  writeFileSync(join(dir, 'root.pem'), root);
  writeFileSync(join(dir, 'untrusted.pem'), rest.join('\n') || root);
  const run = spawnSync(
    'openssl',
    [
      'verify',
      '-x509_strict',
      '-purpose',
      purpose,
      '-CAfile',
      join(dir, 'root.pem'),
      '-untrusted',
      join(dir, 'untrusted.pem'),
      join(dir, 'leaf.pem'),
    ],
    { encoding: 'utf8' },
  );
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}
