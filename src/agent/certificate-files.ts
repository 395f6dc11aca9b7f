// A workload certificate in the file layout Istio's agent writes for workloads
// that read files instead of SDS: key.pem, cert-chain.pem and root-cert.pem.
// Each file is private to this user and replaced atomically (a reader sees the
// old file or the new one, never a part), the key before the certificate that
// certifies it. All three are written out first and only then renamed into
// place back to back, so a reader that reads the key and the certificate one
// after the other (gRPC's file watcher does, on every refresh) finds a new key
// beside the old certificate only if it reads inside that instant, and then
// gets a matching pair on its next read.
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { certificateBlocks } from '../ca/pem.js';
import { replaceFilesTogether } from '../util/files.js';
import type { HeldCertificate } from './agent-types.js';

export const KEY_FILE = 'key.pem';
export const CERT_CHAIN_FILE = 'cert-chain.pem';
export const ROOT_CERT_FILE = 'root-cert.pem';

/** Writes the three files into `dir` (created 0700 when missing), each 0600. */
export async function writeCertificateFiles(dir: string, held: HeldCertificate, trustBundlePem: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) await chmod(dir, 0o700);
  await replaceFilesTogether(
    [
      { path: join(dir, KEY_FILE), data: held.privateKeyPem },
      { path: join(dir, CERT_CHAIN_FILE), data: held.certChainPem },
      { path: join(dir, ROOT_CERT_FILE), data: bundleWithRoot(trustBundlePem, held.rootPem) },
    ],
    0o600,
  );
}

/** The bundle, plus the root the chain ends in when the bundle lacks it (so the files always verify). */
export function bundleWithRoot(bundlePem: string, rootPem: string): string {
  const bundle = certificateBlocks(bundlePem, 'trust bundle');
  const root = certificateBlocks(rootPem, 'root');
  if (!root.ok) return bundlePem;
  const has = bundle.ok && bundle.value.some((der) => der.equals(root.value[0]!));
  if (has) return bundlePem;
  const text = bundlePem.trim() ? `${bundlePem.trimEnd()}\n` : '';
  return `${text}${rootPem}`;
}

/** Summary of what was written, for one line of output: never the key. */
export function describeHeld(held: HeldCertificate): string {
  return `${held.spiffeId} serial ${held.serialNumber} notAfter ${held.notAfter.toISOString()}`;
}
