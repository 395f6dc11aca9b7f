// The CA a root rotation moves to: a root meshlite makes in the rotation
// directory (self-signed CA), or a directory in the cacerts layout the
// operator supplies (required with a plugged-in CA).
import { join } from 'node:path';
import { describeCa, type CaInfo } from './certificate-authority.js';
import { DEFAULT_ROOT_TTL_SECONDS, type Signer } from './issue.js';
import { loadPluggedInCa } from './plugged-in-ca.js';
import { fail, ok, type Result } from './result.js';
import { type NextCaSource, readNewRoot, rotationDir, writeNewRoot } from './root-rotation-store.js';
import { createRootPem, rootSigner } from './root-store.js';
import { readIfExists } from '../util/files.js';
import { parseCertificates } from './parsed-certificate.js';

export interface NextCa {
  source: NextCaSource;
  signer: Signer;
  /** Its trust bundle, one PEM block per root. */
  roots: string[];
  info: CaInfo;
}

/** Makes a new self-signed root and stores it (key 0600) in the rotation directory. */
export async function generateNextRoot(stateDir: string, trustDomain: string, now: Date): Promise<Result<NextCa>> {
  // A name of its own: verifiers find issuers by name, and two roots of one name invite the wrong match.
  const made = await createRootPem(trustDomain, DEFAULT_ROOT_TTL_SECONDS, 'ecdsa-p256', now, `meshlite root CA ${now.toISOString()}`);
  await writeNewRoot(stateDir, made.certPem, made.keyPem);
  return loadNextCa({ kind: 'generated' }, stateDir, now);
}

/** The next CA from where the rotation keeps it. */
export async function loadNextCa(source: NextCaSource, stateDir: string, now: Date): Promise<Result<NextCa>> {
  if (source.kind === 'generated') {
    const files = await readNewRoot(stateDir);
    if (!files.ok) return files;
    const signer = rootSigner(files.value.certPem, files.value.keyPem, files.value.certPath, files.value.keyPath, now);
    if (!signer.ok) return signer;
    return ok({
      source,
      signer: signer.value,
      roots: [signer.value.root.pem],
      info: describeCa('self-signed', rotationDir(stateDir), signer.value),
    });
  }
  const loaded = await loadPluggedInCa(source.dir, now);
  if (!loaded.ok) return loaded;
  const roots = parseCertificates(loaded.value.trustBundlePem, join(source.dir, 'root-cert.pem'));
  if (!roots.ok) return roots;
  return ok({
    source,
    signer: loaded.value.signer,
    roots: roots.value.map((r) => r.pem),
    info: describeCa('plugged-in', source.dir, loaded.value.signer),
  });
}

/**
 * The certificate and key that become the self-signed CA's stored root when
 * the rotation ends: the generated root, or a directory's CA certificate when
 * it is a root that signs itself.
 */
export async function promotableRoot(source: NextCaSource, stateDir: string): Promise<Result<{ certPem: string; keyPem: string }>> {
  if (source.kind === 'generated') {
    const files = await readNewRoot(stateDir);
    return files.ok ? ok({ certPem: files.value.certPem, keyPem: files.value.keyPem }) : files;
  }
  const certPem = await readIfExists(join(source.dir, 'ca-cert.pem'));
  const keyPem = await readIfExists(join(source.dir, 'ca-key.pem'));
  if (certPem === undefined || keyPem === undefined) return fail(`${source.dir}: ca-cert.pem or ca-key.pem is gone`);
  return ok({ certPem, keyPem });
}
