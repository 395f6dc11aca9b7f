import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import {
  cacertsFor,
  errorOf,
  DAY,
  hasOpenssl,
  identity,
  makeIntermediate,
  makeRoot,
  notAfterOf,
  notBeforeOf,
  serialOf,
  ManualClock,
  opensslVerify,
  pemBlockCount,
  removeTempDirs,
  splitChain,
  tempDir,
  TRUST_DOMAIN,
  writeCaCerts,
  type TestCa,
} from './ca-fixtures.js';
import { after, before } from '../support/hooks.js';

after(test, removeTempDirs);

let root: TestCa;
let intermediate: TestCa;
before(test, async () => {
  root = await makeRoot();
  intermediate = await makeIntermediate(root);
});

const load = (pluggedInDir: string, now?: () => Date) =>
  CertificateAuthority.loadOrCreate({ pluggedInDir, trustDomain: TRUST_DOMAIN, ...(now ? { now } : {}) });

async function issueChain(ca: CertificateAuthority): Promise<X509Certificate[]> {
  const issued = await ca.issueWorkloadCertificate(identity('bar', 'httpbin'));
  if (!issued.ok) throw new Error(issued.error);
  assert.is(pemBlockCount(issued.certificate.certChainPem), splitChain(issued.certificate.certChainPem).length);
  return splitChain(issued.certificate.certChainPem);
}

function assertLinked(chain: X509Certificate[]): void {
  for (let i = 0; i + 1 < chain.length; i++) {
    assert.ok(chain[i]!.checkIssued(chain[i + 1]!), `certificate ${i} is issued by ${i + 1}`);
    assert.ok(chain[i]!.verify(chain[i + 1]!.publicKey), `certificate ${i} is signed by ${i + 1}`);
  }
}

test('full cacerts set: chain is leaf + intermediate + root, the trust bundle is root-cert.pem', async () => {
  const ca = await load(writeCaCerts(tempDir(), cacertsFor(intermediate, [], root)));
  const chain = await issueChain(ca);
  assert.is(chain.length, 3);
  assert.ok(chain[1]!.raw.equals(intermediate.der), 'intermediate second');
  assert.ok(chain[2]!.raw.equals(new X509Certificate(root.certPem).raw), 'root last');
  assertLinked(chain);
  assert.is(chain[0]!.subjectAltName, 'URI:spiffe://cluster.local/ns/bar/sa/httpbin');
  assert.ok(new X509Certificate(ca.rootCertPem).raw.equals(chain[2]!.raw));
  assert.is(ca.info.source, 'plugged-in');
  assert.is(ca.info.signerSerialNumber, serialOf(intermediate));
  assert.is(ca.info.rootSerialNumber, serialOf(root));
});

test('cert-chain.pem with or without ca-cert and root gives the same issued chain', async () => {
  const variants = [
    intermediate.certPem + root.certPem, // Istio's own tooling
    intermediate.certPem,
  ];
  for (const chainText of variants) {
    const files = { ...cacertsFor(intermediate, [], root), 'cert-chain.pem': chainText };
    const chain = await issueChain(await load(writeCaCerts(tempDir(), files)));
    assert.is(chain.length, 3);
    assertLinked(chain);
  }
});

test('two intermediates: leaf, issuing CA, its parent, root', async () => {
  const upper = await makeIntermediate(root, { name: 'upper intermediate' });
  const lower = await makeIntermediate(upper, { name: 'lower intermediate' });
  const chain = await issueChain(await load(writeCaCerts(tempDir(), cacertsFor(lower, [upper], root))));
  assert.is(chain.length, 4);
  assert.match(chain[1]!.subject, 'lower intermediate');
  assert.match(chain[2]!.subject, 'upper intermediate');
  assertLinked(chain);
});

test('a plugged-in root that signs directly: leaf + root', async () => {
  const files = { 'ca-cert.pem': root.certPem, 'ca-key.pem': root.keyPem, 'root-cert.pem': root.certPem, 'cert-chain.pem': root.certPem };
  const chain = await issueChain(await load(writeCaCerts(tempDir(), files)));
  assert.is(chain.length, 2);
  assertLinked(chain);
});

test('a partial set is a hard error naming exactly the missing files', async () => {
  const dir = writeCaCerts(tempDir(), cacertsFor(intermediate, [], root), ['ca-key.pem', 'cert-chain.pem']);
  const message = await errorOf(load(dir));
  assert.match(message, 'missing ca-key.pem, cert-chain.pem');
  assert.not.match(message.split('(')[0]!, 'root-cert.pem');
  assert.match(await errorOf(load(tempDir())), 'no CA files found');
});

test('a ca-key.pem that does not belong to ca-cert.pem is refused', async () => {
  const other = await makeIntermediate(root);
  const files = { ...cacertsFor(intermediate, [], root), 'ca-key.pem': other.keyPem };
  const message = await errorOf(load(writeCaCerts(tempDir(), files)));
  assert.match(message, 'ca-key.pem does not match the public key of');
  assert.not.match(message, 'PRIVATE KEY');
});

test('a ca-cert that does not chain up to root-cert.pem is refused', async () => {
  const strangerRoot = await makeRoot();
  const message = await errorOf(load(writeCaCerts(tempDir(), cacertsFor(intermediate, [], strangerRoot))));
  assert.match(message, 'does not chain up to any certificate in root-cert.pem');
  const forged = await makeIntermediate(strangerRoot, { name: 'forged' });
  // A chain file claiming the stranger's intermediate sits between ca-cert and the root.
  const files = { ...cacertsFor(intermediate, [], root), 'cert-chain.pem': intermediate.certPem + forged.certPem };
  assert.match(await errorOf(load(writeCaCerts(tempDir(), files))), 'is not signed by the next certificate');
});

test('a ca-cert that is not a CA is refused; so is a private key in a certificate file', async () => {
  const notCa = await makeIntermediate(root, { ca: false });
  assert.match(await errorOf(load(writeCaCerts(tempDir(), cacertsFor(notCa, [], root)))), 'is not a CA certificate');
  const files = { ...cacertsFor(intermediate, [], root), 'cert-chain.pem': intermediate.certPem + intermediate.keyPem };
  const message = await errorOf(load(writeCaCerts(tempDir(), files)));
  assert.match(message, 'holds a "PRIVATE KEY" PEM block where only certificates belong');
  assert.not.match(message, intermediate.keyPem.split('\n')[1]!);
});

test('leaves are clamped to the intermediate, and an expired intermediate is refused', async () => {
  const clock = new ManualClock(Date.now());
  const shortLived = await makeIntermediate(root, { notBefore: new Date(clock.ms - 60_000), ttlSeconds: 3600 });
  const ca = await load(writeCaCerts(tempDir(), cacertsFor(shortLived, [], root)), clock.now);
  const issued = await ca.issueWorkloadCertificate(identity('bar', 'httpbin'), { ttlSeconds: DAY });
  if (!issued.ok) throw new Error(issued.error);
  assert.is(issued.certificate.notAfter.getTime(), notAfterOf(shortLived).getTime());
  clock.advance(3600);
  const refused = await ca.issueWorkloadCertificate(identity('bar', 'httpbin'));
  assert.ok(!refused.ok && refused.code === 'signer-not-valid');
  assert.match(refused.ok ? '' : refused.error, /expired at/);
  clock.ms = notBeforeOf(shortLived).getTime() - 1000;
  const early = await ca.issueWorkloadCertificate(identity('bar', 'httpbin'));
  assert.ok(!early.ok && early.code === 'signer-not-valid' && /not valid before/.test(early.error));
  clock.ms = Date.now() + 2 * 3600_000;
  assert.match(await errorOf(load(writeCaCerts(tempDir(), cacertsFor(shortLived, [], root)), clock.now)), /expired at/);
});

test('an OpenSSL-made CA (RSA root in PKCS#1, EC P-384 intermediate in SEC1) is accepted and verifies', async () => {
  if (!hasOpenssl()) return console.log('  (openssl not installed: skipped)');
  const dir = tempDir();
  const ossl = (...args: string[]) => {
    const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${run.stderr}`);
  };
  ossl('genrsa', '-traditional', '-out', 'root-key.pem', '2048');
  ossl(
    'req',
    '-x509',
    '-new',
    '-key',
    'root-key.pem',
    '-sha256',
    '-days',
    '30',
    '-subj',
    '/O=Example Corp/CN=Example Root CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    'root-cert.pem',
  );
  ossl('ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', 'ca-key.pem');
  ossl('req', '-new', '-key', 'ca-key.pem', '-subj', '/O=Example Corp/OU=mesh/CN=Example Mesh Intermediate', '-out', 'ca.csr');
  const ext =
    'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n';
  writeFileSync(join(dir, 'ca.ext'), ext);
  ossl(
    'x509',
    '-req',
    '-in',
    'ca.csr',
    '-CA',
    'root-cert.pem',
    '-CAkey',
    'root-key.pem',
    '-CAcreateserial',
    '-days',
    '20',
    '-sha256',
    '-extfile',
    'ca.ext',
    '-out',
    'ca-cert.pem',
  );
  writeFileSync(
    join(dir, 'cert-chain.pem'),
    readFileSync(join(dir, 'ca-cert.pem'), 'utf8') + readFileSync(join(dir, 'root-cert.pem'), 'utf8'),
  );
  assert.match(readFileSync(join(dir, 'ca-key.pem'), 'utf8'), 'BEGIN EC PRIVATE KEY');
  assert.match(readFileSync(join(dir, 'root-key.pem'), 'utf8'), 'BEGIN RSA PRIVATE KEY');
  const ca = await load(dir);
  const chain = await issueChain(ca);
  assert.is(chain.length, 3);
  assertLinked(chain);
  const issued = await ca.issueWorkloadCertificate(identity('bar', 'httpbin'));
  if (!issued.ok) throw new Error(issued.error);
  const run = opensslVerify(issued.certificate.certChainPem, 'sslclient');
  assert.ok(run.ok, run.output);
});

test.run();
