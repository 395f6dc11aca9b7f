import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPrivateKey, sign, verify, X509Certificate } from 'node:crypto';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { x509 } from '../../src/ca/x509-lib.js';
import { DAY, hasOpenssl, identity, ManualClock, opensslVerify, removeTempDirs, splitChain, tempDir, TRUST_DOMAIN } from './ca-fixtures.js';
import { after, before } from '../support/hooks.js';

const clock = new ManualClock();
let ca: CertificateAuthority;

before(test, async () => {
  ca = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN, now: clock.now });
});
after(test, removeTempDirs);

async function issue(ns = 'foo', sa = 'sleep', ttlSeconds?: number) {
  const result = await ca.issueWorkloadCertificate(identity(ns, sa), ttlSeconds === undefined ? {} : { ttlSeconds });
  if (!result.ok) throw new Error(result.error);
  return result.certificate;
}

const extensionOf = <T extends x509.Extension>(pem: string, type: new (raw: BufferSource) => T): T | null =>
  new x509.X509Certificate(splitChain(pem)[0]!.raw).getExtension(type);

test('chain is leaf then root, one PEM each, and verifies against the trust bundle', async () => {
  const cert = await issue();
  const [leaf, root, ...extra] = splitChain(cert.certChainPem);
  assert.is(extra.length, 0);
  const trusted = new X509Certificate(ca.rootCertPem);
  assert.ok(root!.raw.equals(trusted.raw), 'chain ends with the root');
  assert.ok(leaf!.checkIssued(trusted));
  assert.ok(leaf!.verify(trusted.publicKey));
  assert.ok(cert.certChainPem.endsWith('-----END CERTIFICATE-----\n'));
});

test('X.509-SVID: exactly one URI SAN with the SPIFFE id, empty subject, critical SAN', async () => {
  const cert = await issue('foo', 'sleep');
  const leaf = splitChain(cert.certChainPem)[0]!;
  assert.is(cert.spiffeId, 'spiffe://cluster.local/ns/foo/sa/sleep');
  assert.is(leaf.subjectAltName, 'URI:spiffe://cluster.local/ns/foo/sa/sleep');
  const san = extensionOf(cert.certChainPem, x509.SubjectAlternativeNameExtension)!;
  assert.equal(san.names.toJSON(), [{ type: 'url', value: 'spiffe://cluster.local/ns/foo/sa/sleep' }]);
  assert.ok(san.critical, 'SAN is critical because the subject is empty');
  assert.is(new x509.X509Certificate(leaf.raw).subject, '');
});

test('leaf constraints: CA:false critical, keyUsage critical digitalSignature+keyEncipherment only, EKU server+client', async () => {
  const cert = await issue();
  const leaf = splitChain(cert.certChainPem)[0]!;
  assert.is(leaf.ca, false);
  const bc = extensionOf(cert.certChainPem, x509.BasicConstraintsExtension)!;
  assert.ok(bc.critical);
  assert.is(bc.ca, false);
  const ku = extensionOf(cert.certChainPem, x509.KeyUsagesExtension)!;
  assert.ok(ku.critical);
  assert.is(ku.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
  assert.is(ku.usages & x509.KeyUsageFlags.keyCertSign, 0);
  assert.equal(leaf.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
});

test('authority key id of the leaf is the subject key id of the root', async () => {
  const cert = await issue();
  const aki = extensionOf(cert.certChainPem, x509.AuthorityKeyIdentifierExtension)!;
  const rootSki = new x509.X509Certificate(ca.rootCertPem).getExtension(x509.SubjectKeyIdentifierExtension)!;
  assert.ok(extensionOf(cert.certChainPem, x509.SubjectKeyIdentifierExtension)?.keyId);
  assert.is(aki.keyId, rootSki.keyId);
});

test('serial numbers are positive, at least 64 bits, and unique', async () => {
  const serials = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const cert = await issue();
    const leaf = splitChain(cert.certChainPem)[0]!;
    assert.is(leaf.serialNumber.toLowerCase(), cert.serialNumber);
    assert.ok(cert.serialNumber.length >= 16, 'at least 8 bytes');
    assert.ok(parseInt(cert.serialNumber.slice(0, 2), 16) < 0x80, 'positive');
    serials.add(cert.serialNumber);
  }
  assert.is(serials.size, 20);
});

test('default TTL is 24h and NotBefore is backdated 2 minutes', async () => {
  const cert = await issue();
  const leaf = splitChain(cert.certChainPem)[0]!;
  assert.is(cert.notBefore.getTime(), clock.ms - 120_000);
  assert.is(cert.notAfter.getTime(), clock.ms + DAY * 1000);
  assert.is(new Date(leaf.validFrom).getTime(), cert.notBefore.getTime());
  assert.is(new Date(leaf.validTo).getTime(), cert.notAfter.getTime());
});

test('a requested TTL is honoured, down to seconds; bad TTLs are refused', async () => {
  assert.is((await issue('foo', 'sleep', 90)).notAfter.getTime(), clock.ms + 90_000);
  assert.is((await issue('foo', 'sleep', 90 * DAY)).notAfter.getTime(), clock.ms + 90 * DAY * 1000);
  for (const ttlSeconds of [90 * DAY + 1, 0, -5, 1.5, Number.NaN]) {
    const result = await ca.issueWorkloadCertificate(identity('foo', 'sleep'), { ttlSeconds });
    assert.ok(!result.ok && result.code === 'invalid-request', `ttl ${ttlSeconds} refused`);
  }
});

test('the generated key is P-256 PKCS#8 and belongs to the certificate', async () => {
  const cert = await issue();
  assert.ok(cert.privateKeyPem?.startsWith('-----BEGIN PRIVATE KEY-----'));
  const key = createPrivateKey(cert.privateKeyPem!);
  assert.is(key.asymmetricKeyType, 'ec');
  assert.is(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const leaf = splitChain(cert.certChainPem)[0]!;
  const data = Buffer.from('proof of possession');
  assert.ok(verify('sha256', data, leaf.publicKey, sign('sha256', data, key)));
  assert.ok(leaf.checkPrivateKey(key));
});

test('identities that are not valid SPIFFE path segments, or of another trust domain, are refused', async () => {
  const bad = [
    { trustDomain: 'other.domain', namespace: 'foo', serviceAccount: 'sleep' },
    identity('foo/sa/admin', 'x'),
    identity('..', 'sleep'),
    identity('foo', ''),
    identity('foo', 'a b'),
    identity('foo', 'sleep%2Fadmin'),
  ];
  for (const id of bad) {
    const result = await ca.issueWorkloadCertificate(id);
    assert.ok(!result.ok && result.code === 'invalid-identity', JSON.stringify(id));
  }
});

test('server certificate: DNS and IP SANs, serverAuth only, no SPIFFE id', async () => {
  const result = await ca.issueServerCertificate(['meshlite.local', 'localhost'], ['127.0.0.1', '::1']);
  if (!result.ok) throw new Error(result.error);
  const leaf = splitChain(result.certificate.certChainPem)[0]!;
  assert.is(leaf.subjectAltName, 'DNS:meshlite.local, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  assert.equal(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.is(leaf.ca, false);
  assert.is(leaf.checkHost('localhost'), 'localhost');
  assert.is(leaf.checkIP('127.0.0.1'), '127.0.0.1');
  assert.is(result.certificate.spiffeId, undefined);
  assert.ok(leaf.checkPrivateKey(createPrivateKey(result.certificate.privateKeyPem!)));
  for (const [dns, ips] of [
    [[], []],
    [['bad_name!'], []],
    [[], ['300.1.1.1']],
    [[], ['fe80::1%eth0']],
  ] as const) {
    const refused = await ca.issueServerCertificate(dns, ips);
    assert.ok(!refused.ok && refused.code === 'invalid-request', JSON.stringify([dns, ips]));
  }
});

test('IP SANs are encoded exactly, IPv6 forms included', async () => {
  const ips = ['10.0.0.1', '255.255.255.255', '::', '::1', '2001:db8::8:800:200c:417a', 'fe80::', '1:2:3:4:5:6:7:8', '::ffff:192.0.2.1'];
  const result = await ca.issueServerCertificate([], ips);
  if (!result.ok) throw new Error(result.error);
  const leaf = splitChain(result.certificate.certChainPem)[0]!;
  for (const ip of ips) assert.is(leaf.checkIP(ip), ip, ip);
  assert.is(leaf.checkIP('10.0.0.2'), undefined);
  assert.is(leaf.checkIP('2001:db8::8:800:200c:417b'), undefined);
});

test('OpenSSL strict verification accepts the SVID for TLS client and server use', async () => {
  if (!hasOpenssl()) return console.log('  (openssl not installed: skipped)');
  // OpenSSL checks validity against the real clock, so this CA uses it too.
  const real = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN });
  const issued = await real.issueWorkloadCertificate(identity('foo', 'sleep'));
  if (!issued.ok) throw new Error(issued.error);
  for (const purpose of ['sslclient', 'sslserver'] as const) {
    const run = opensslVerify(issued.certificate.certChainPem, purpose);
    assert.ok(run.ok, run.output);
  }
});

test.run();
