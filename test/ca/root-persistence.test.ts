import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { CertificateAuthority, type CaLogger } from '../../src/ca/certificate-authority.js';
import { generateKeyPair, privateKeyToPem } from '../../src/ca/keys.js';
import { errorOf, identity, ManualClock, removeTempDirs, splitChain, tempDir, TRUST_DOMAIN } from './ca-fixtures.js';
import { after } from '../support/hooks.js';

after(test, removeTempDirs);

function recordingLogger(): CaLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (fields, message) => lines.push(`${message} ${JSON.stringify(fields)}`),
    warn: (fields, message) => lines.push(`WARN ${message} ${JSON.stringify(fields)}`),
  };
}

test('first start creates root-cert.pem and a 0600 root-key.pem in <stateDir>/ca, leaving no temp files', async () => {
  const stateDir = tempDir();
  const ca = await CertificateAuthority.loadOrCreate({ stateDir, trustDomain: TRUST_DOMAIN });
  const dir = join(stateDir, 'ca');
  assert.equal(readdirSync(dir).sort(), ['root-cert.pem', 'root-key.pem']);
  assert.is(statSync(join(dir, 'root-key.pem')).mode & 0o777, 0o600);
  assert.is(statSync(dir).mode & 0o777, 0o700);
  assert.is(readFileSync(join(dir, 'root-cert.pem'), 'utf8'), ca.rootCertPem);
  const root = new X509Certificate(ca.rootCertPem);
  assert.ok(root.ca);
  assert.ok(root.checkIssued(root) && root.verify(root.publicKey), 'self-signed');
  assert.ok(root.checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'root-key.pem'), 'utf8'))));
  assert.is(ca.info.source, 'self-signed');
  assert.is(ca.info.rootFingerprintSha256, root.fingerprint256);
});

test('root lifetime defaults to 10 years, backdated like leaves; rootTtlSeconds overrides it', async () => {
  const clock = new ManualClock();
  const ca = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN, now: clock.now });
  const root = new X509Certificate(ca.rootCertPem);
  assert.is(new Date(root.validFrom).getTime(), clock.ms - 120_000);
  assert.is(new Date(root.validTo).getTime(), clock.ms + 3650 * 86400_000);
  const short = await CertificateAuthority.loadOrCreate({
    stateDir: tempDir(),
    trustDomain: TRUST_DOMAIN,
    now: clock.now,
    rootTtlSeconds: 3600,
  });
  assert.is(short.info.rootNotAfter.getTime(), clock.ms + 3600_000);
});

test('a restart reuses the persisted root: same PEM, same fingerprint, old leaves still verify', async () => {
  const stateDir = tempDir();
  const first = await CertificateAuthority.loadOrCreate({ stateDir, trustDomain: TRUST_DOMAIN });
  const issued = await first.issueWorkloadCertificate(identity('foo', 'sleep'));
  const keyBefore = readFileSync(join(stateDir, 'ca', 'root-key.pem'));
  const logger = recordingLogger();
  const second = await CertificateAuthority.loadOrCreate({ stateDir, trustDomain: TRUST_DOMAIN, logger });
  assert.is(second.rootCertPem, first.rootCertPem);
  assert.equal(second.info, first.info);
  assert.ok(keyBefore.equals(readFileSync(join(stateDir, 'ca', 'root-key.pem'))), 'key file untouched');
  assert.match(logger.lines.join('\n'), /loaded its self-signed root/);
  const fromSecond = await second.issueWorkloadCertificate(identity('foo', 'sleep'));
  if (!issued.ok || !fromSecond.ok) throw new Error('issue failed');
  const root = new X509Certificate(first.rootCertPem);
  assert.ok(splitChain(fromSecond.certificate.certChainPem)[0]!.verify(root.publicKey));
});

test('a lone root-key.pem or root-cert.pem is a hard error naming the missing file', async () => {
  for (const [remove, keep] of [
    ['root-cert.pem', 'root-key.pem'],
    ['root-key.pem', 'root-cert.pem'],
  ]) {
    const stateDir = tempDir();
    await CertificateAuthority.loadOrCreate({ stateDir, trustDomain: TRUST_DOMAIN });
    unlinkSync(join(stateDir, 'ca', remove!));
    const message = await errorOf(CertificateAuthority.loadOrCreate({ stateDir, trustDomain: TRUST_DOMAIN }));
    assert.match(message, `${remove} is missing`);
    assert.match(message, keep!);
    assert.ok(!readdirSync(join(stateDir, 'ca')).includes(remove!), 'nothing was regenerated');
  }
});

test('a root key that does not match the root certificate is refused without printing the key', async () => {
  const stateDir = tempDir();
  await CertificateAuthority.loadOrCreate({ stateDir, trustDomain: TRUST_DOMAIN });
  const otherKey = privateKeyToPem((await generateKeyPair()).privateKey);
  writeFileSync(join(stateDir, 'ca', 'root-key.pem'), otherKey);
  const message = await errorOf(CertificateAuthority.loadOrCreate({ stateDir, trustDomain: TRUST_DOMAIN }));
  assert.match(message, 'root-key.pem does not match the public key of');
  assertNoKeyMaterial(message, otherKey);
  writeFileSync(join(stateDir, 'ca', 'root-key.pem'), '-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----\n');
  const garbled = await errorOf(CertificateAuthority.loadOrCreate({ stateDir, trustDomain: TRUST_DOMAIN }));
  assert.match(garbled, 'not a readable private key');
  assert.not.match(garbled, 'not-a-key');
});

test('an expired persisted root is refused at start, not silently replaced', async () => {
  const clock = new ManualClock();
  const stateDir = tempDir();
  await CertificateAuthority.loadOrCreate({ stateDir, trustDomain: TRUST_DOMAIN, now: clock.now, rootTtlSeconds: 3600 });
  clock.advance(7200);
  const message = await errorOf(CertificateAuthority.loadOrCreate({ stateDir, trustDomain: TRUST_DOMAIN, now: clock.now }));
  assert.match(message, /expired at/);
});

test('a key file readable by others loads with a warning', async () => {
  const stateDir = tempDir();
  await CertificateAuthority.loadOrCreate({ stateDir, trustDomain: TRUST_DOMAIN });
  chmodSync(join(stateDir, 'ca', 'root-key.pem'), 0o644);
  const logger = recordingLogger();
  await CertificateAuthority.loadOrCreate({ stateDir, trustDomain: TRUST_DOMAIN, logger });
  assert.match(logger.lines.join('\n'), /WARN CA private key file is readable by group or others.*"mode":"0644"/);
});

test('logs (through a real pino logger) never carry key material', async () => {
  const stateDir = tempDir();
  const lines: string[] = [];
  const logger: CaLogger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  const ca = await CertificateAuthority.loadOrCreate({ stateDir, trustDomain: TRUST_DOMAIN, logger });
  const issued = await ca.issueWorkloadCertificate(identity('foo', 'sleep'));
  await ca.issueServerCertificate(['localhost'], []);
  if (!issued.ok) throw new Error(issued.error);
  const log = lines.join('');
  assert.is(lines.length, 3);
  assertNoKeyMaterial(log, readFileSync(join(stateDir, 'ca', 'root-key.pem'), 'utf8'));
  assertNoKeyMaterial(log, issued.certificate.privateKeyPem!);
  assert.match(log, /"spiffeId":"spiffe:\/\/cluster.local\/ns\/foo\/sa\/sleep".*"msg":"meshlite CA issued a workload certificate"/);
});

test('RSA-2048 root on request; workload keys stay P-256', async () => {
  const ca = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN, rootKeyAlgorithm: 'rsa-2048' });
  const root = new X509Certificate(ca.rootCertPem);
  assert.is(root.publicKey.asymmetricKeyType, 'rsa');
  assert.is(root.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  const issued = await ca.issueWorkloadCertificate(identity('foo', 'sleep'));
  if (!issued.ok) throw new Error(issued.error);
  const leaf = splitChain(issued.certificate.certChainPem)[0]!;
  assert.is(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(leaf.verify(root.publicKey));
});

test('exactly one of stateDir / pluggedInDir, and a valid trust domain, are required', async () => {
  assert.match(await errorOf(CertificateAuthority.loadOrCreate({ trustDomain: TRUST_DOMAIN })), 'exactly one of stateDir');
  assert.match(
    await errorOf(CertificateAuthority.loadOrCreate({ trustDomain: TRUST_DOMAIN, stateDir: tempDir(), pluggedInDir: tempDir() })),
    'exactly one of stateDir',
  );
  assert.match(await errorOf(CertificateAuthority.loadOrCreate({ trustDomain: 'Bad Domain', stateDir: tempDir() })), 'trust domain');
  assert.match(
    await errorOf(CertificateAuthority.loadOrCreate({ trustDomain: TRUST_DOMAIN, stateDir: tempDir(), rootTtlSeconds: 0 })),
    'ttlSeconds',
  );
});

function assertNoKeyMaterial(text: string, keyPem: string): void {
  const body = keyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  assert.not.match(text, 'PRIVATE KEY');
  for (let i = 0; i + 24 <= body.length; i += 24) assert.not.ok(text.includes(body.slice(i, i + 24)), 'key material leaked');
}

test.run();
