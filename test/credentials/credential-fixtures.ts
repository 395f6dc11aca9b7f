// Shared helpers for the credential tests: temp secrets directories, real
// certificates from meshlite's own CA (made at runtime), Istio's three secret
// layouts and the Kubernetes Secret manifest form, and polling waits.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';

export interface TestCert {
  certChainPem: string;
  privateKeyPem: string;
  caPem: string;
  serialNumber: string;
}

const made: string[] = [];

export function tempDir(prefix = 'meshlite-cred-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

const cas = new Map<string, Promise<CertificateAuthority>>();

/** CA `name`, whose clock is `offsetDays` from now (negative: certificates it issues lie in the past). */
function caAt(name: string, offsetDays: number): Promise<CertificateAuthority> {
  const id = `${name}@${offsetDays}`;
  let ca = cas.get(id);
  if (!ca) {
    const at = Date.now() + offsetDays * 24 * 3600 * 1000;
    ca = CertificateAuthority.loadOrCreate({
      stateDir: tempDir('meshlite-cred-ca-'),
      trustDomain: 'cluster.local',
      now: () => new Date(at),
    });
    cas.set(id, ca);
  }
  return ca;
}

/** A server certificate for `dnsName` from CA `ca` (default "main"), valid `ttlDays` from `offsetDays` ago/ahead. */
export async function issue(dnsName: string, opts: { ttlDays?: number; offsetDays?: number; ca?: string } = {}): Promise<TestCert> {
  const ca = await caAt(opts.ca ?? 'main', opts.offsetDays ?? 0);
  const result = await ca.issueServerCertificate([dnsName], [], { ttlSeconds: Math.round((opts.ttlDays ?? 30) * 24 * 3600) });
  if (!result.ok) throw new Error(result.error);
  const c = result.certificate;
  return { certChainPem: c.certChainPem, privateKeyPem: c.privateKeyPem!, caPem: ca.rootCertPem, serialNumber: c.serialNumber };
}

/** The base64 body of a PEM private key: the bytes no message may ever contain. */
export function keyBody(pem: string): string {
  return pem
    .replace(/-----[A-Z ]+-----/g, '')
    .replace(/\s+/g, '')
    .slice(0, 40);
}

export type Layout = 'tls' | 'generic';

/** Writes `<dir>/<name>/` in Istio's `tls` (tls.crt/tls.key/ca.crt) or `generic` (cert/key/cacert) layout. */
export function writeFolder(dir: string, name: string, cert: TestCert, layout: Layout = 'tls', withCa = true): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  const [c, k, ca] = layout === 'tls' ? ['tls.crt', 'tls.key', 'ca.crt'] : ['cert', 'key', 'cacert'];
  writeFileSync(join(folder, c!), cert.certChainPem);
  writeFileSync(join(folder, k!), cert.privateKeyPem);
  if (withCa) writeFileSync(join(folder, ca!), cert.caPem);
  return folder;
}

/** Writes `<dir>/<name>.yaml`: a Kubernetes Secret, base64 `data:` or plain `stringData:`. */
export function writeManifest(dir: string, name: string, keys: Record<string, string>, form: 'data' | 'stringData' = 'data'): string {
  const file = join(dir, `${name}.yaml`);
  const lines = Object.entries(keys).map(([k, v]) =>
    form === 'data'
      ? `  ${k}: ${Buffer.from(v).toString('base64')}`
      : `  ${k}: |\n${v
          .trimEnd()
          .split('\n')
          .map((l) => `    ${l}`)
          .join('\n')}`,
  );
  writeFileSync(
    file,
    `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\n  namespace: default\ntype: kubernetes.io/tls\n${form}:\n${lines.join('\n')}\n`,
  );
  return file;
}

export async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
