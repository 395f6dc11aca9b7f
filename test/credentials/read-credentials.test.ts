import { mkdirSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Credential } from '../../src/credentials/credential.js';
import { CredentialStore } from '../../src/credentials/credential-store.js';
import { configPathOverlapping, readCredentialDirectory } from '../../src/credentials/read-credentials.js';
import { issue, keyBody, removeTempDirs, tempDir, writeFolder, writeManifest, type TestCert } from './credential-fixtures.js';
import { after, before } from '../support/hooks.js';

let db: TestCert;
let other: TestCert;

before(test, async () => {
  db = await issue('db.example.com');
  other = await issue('other.example.com', { ca: 'other' });
});
after(test, removeTempDirs);

const serialOf = (pem: string) => new X509Certificate(pem).serialNumber.toLowerCase();

function only(dir: string, name: string): Credential {
  const c = readCredentialDirectory(dir).credentials.get(name);
  assert.ok(c, `secret ${name} read`);
  return c!;
}

/** No message about a secret may carry key bytes. */
function assertNoKeyMaterial(c: Credential, ...keys: string[]): void {
  const text = JSON.stringify([c.errors, c.warnings]);
  for (const key of keys) assert.not.ok(text.includes(keyBody(key)), 'key bytes in a message');
  assert.not.ok(text.includes('PRIVATE KEY-----'), 'PEM key in a message');
}

test('tls layout: tls.crt, tls.key, ca.crt', () => {
  const dir = tempDir();
  writeFolder(dir, 'db-cred', db, 'tls');
  const c = only(dir, 'db-cred');
  assert.equal(c.errors, []);
  assert.is(c.layout, 'tls');
  assert.is(c.origin.form, 'directory');
  assert.is(serialOf(c.certChainPem!), db.serialNumber.toLowerCase());
  assert.ok(c.privateKeyPem!.includes('BEGIN PRIVATE KEY'));
  assert.is(serialOf(c.caPem!), serialOf(db.caPem));
  assert.equal(c.certificate!.subjectAltNames, ['DNS:db.example.com']);
  assert.ok(c.notAfter!.getTime() > Date.now() + 29 * 24 * 3600 * 1000);
  assert.is.not(serialOf(db.caPem), serialOf(other.caPem), 'two CAs in these tests');
});

test('generic layout: cert, key, cacert; no CA is fine for the certificate', () => {
  const dir = tempDir();
  writeFolder(dir, 'gen', db, 'generic');
  writeFolder(dir, 'noca', other, 'generic', false);
  const set = readCredentialDirectory(dir);
  const gen = set.credentials.get('gen')!;
  assert.equal([gen.layout, gen.errors], ['generic', []]);
  assert.ok(gen.caPem);
  const noca = set.credentials.get('noca')!;
  assert.equal([noca.layout, noca.errors, noca.caPem], ['generic', [], undefined]);
});

test('a separate <name>-cacert secret provides the CA; it wins over the CA inside <name>', () => {
  const dir = tempDir();
  writeFolder(dir, 'api', db, 'tls', false);
  mkdirSync(join(dir, 'api-cacert'));
  writeFileSync(join(dir, 'api-cacert', 'cacert'), other.caPem);
  writeFolder(dir, 'both', db, 'tls', true);
  writeManifest(dir, 'both-cacert', { 'ca.crt': other.caPem }, 'stringData');
  const store = new CredentialStore(dir);
  store.reload();
  assert.is(store.set.credentials.get('api-cacert')!.layout, 'ca-only');
  const ca = store.lookup('kubernetes://api-cacert');
  assert.ok(ca.ok && ca.kind === 'ca' && serialOf(ca.caPem) === serialOf(other.caPem), JSON.stringify(ca));
  const cert = store.lookup('kubernetes://api');
  assert.ok(cert.ok && cert.kind === 'certificate' && serialOf(cert.certChainPem) === db.serialNumber.toLowerCase());
  const both = store.lookup('kubernetes://both-cacert');
  assert.ok(both.ok && both.kind === 'ca' && serialOf(both.caPem) === serialOf(other.caPem), 'separate -cacert secret first, as in Istio');
  // Without any CA: the -cacert name is not served, and says why.
  writeFolder(dir, 'bare', db, 'tls', false);
  store.reload();
  const bare = store.lookup('kubernetes://bare-cacert');
  assert.ok(!bare.ok && bare.reason.includes('"bare"') && bare.reason.includes('bare-cacert'), JSON.stringify(bare));
  const absent = store.lookup('kubernetes://nope');
  assert.ok(!absent.ok && absent.reason.includes('no secret "nope"'));
});

test('Kubernetes Secret manifests: base64 data and stringData', () => {
  const dir = tempDir();
  writeManifest(dir, 'from-data', { 'tls.crt': db.certChainPem, 'tls.key': db.privateKeyPem, 'ca.crt': db.caPem });
  writeManifest(dir, 'from-string', { cert: other.certChainPem, key: other.privateKeyPem, cacert: other.caPem }, 'stringData');
  const set = readCredentialDirectory(dir);
  const a = set.credentials.get('from-data')!;
  assert.equal([a.origin.form, a.layout, a.errors], ['manifest', 'tls', []]);
  assert.is(serialOf(a.certChainPem!), db.serialNumber.toLowerCase());
  const b = set.credentials.get('from-string')!;
  assert.equal([b.layout, b.errors], ['generic', []]);
  assert.is(serialOf(b.certChainPem!), other.serialNumber.toLowerCase());
  assert.ok(b.caPem);
});

test('a mismatched key is reported with the secret and file, without key bytes', () => {
  const dir = tempDir();
  const folder = writeFolder(dir, 'mismatch', db, 'tls');
  writeFileSync(join(folder, 'tls.key'), other.privateKeyPem);
  const c = only(dir, 'mismatch');
  assert.is(c.errors.length, 1, JSON.stringify(c.errors));
  assert.match(
    c.errors[0]!,
    `secret "mismatch": ${join(folder, 'tls.key')}: private key does not match the certificate in ${join(folder, 'tls.crt')}`,
  );
  assertNoKeyMaterial(c, db.privateKeyPem, other.privateKeyPem);
  const store = new CredentialStore(dir);
  store.reload();
  const lookup = store.lookup('kubernetes://mismatch');
  assert.ok(!lookup.ok && lookup.reason.includes('invalid'), 'an invalid credential is not served');
  assert.not.ok(store.lookup('kubernetes://mismatch-cacert').ok, 'not even its CA');
});

test('garbage PEM, a key in the certificate file and a certificate in the key file are reported', () => {
  const dir = tempDir();
  const g = writeFolder(dir, 'garbage', db, 'tls');
  writeFileSync(join(g, 'tls.crt'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
  const swapped = writeFolder(dir, 'swapped', db, 'generic');
  writeFileSync(join(swapped, 'cert'), db.privateKeyPem);
  writeFileSync(join(swapped, 'key'), db.certChainPem);
  const text = writeFolder(dir, 'text', db, 'tls');
  writeFileSync(join(text, 'ca.crt'), 'hello');
  const set = readCredentialDirectory(dir);
  const garbage = set.credentials.get('garbage')!;
  assert.equal(garbage.errors, [`secret "garbage": ${join(g, 'tls.crt')}: PEM block 1 of 1 is not a valid X.509 certificate`]);
  const sw = set.credentials.get('swapped')!;
  assert.equal(sw.errors, [
    `secret "swapped": ${join(swapped, 'cert')}: holds a "PRIVATE KEY" PEM block where only certificates belong`,
    `secret "swapped": ${join(swapped, 'key')}: holds no private key (found "CERTIFICATE")`,
  ]);
  assertNoKeyMaterial(sw, db.privateKeyPem);
  assert.equal(set.credentials.get('text')!.errors, [`secret "text": ${join(text, 'ca.crt')}: no PEM CERTIFICATE block found`]);
});

test('a missing key, an empty folder and a broken manifest are reported', () => {
  const dir = tempDir();
  const folder = join(dir, 'nokey');
  mkdirSync(folder);
  writeFileSync(join(folder, 'tls.crt'), db.certChainPem);
  mkdirSync(join(dir, 'empty'));
  writeFileSync(
    join(dir, 'broken.yaml'),
    `apiVersion: v1\nkind: Secret\ndata:\n  tls.key: ${Buffer.from(db.privateKeyPem).toString('base64')}\n  tls.crt: [unclosed\n`,
  );
  writeManifest(dir, 'notb64', { 'tls.crt': db.certChainPem });
  writeFileSync(join(dir, 'notb64.yaml'), `kind: Secret\ndata:\n  tls.crt: "not*base64"\n`);
  writeFileSync(join(dir, 'cm.yaml'), 'kind: ConfigMap\ndata: {}\n');
  writeFileSync(join(dir, 'README'), 'not a secret');
  const set = readCredentialDirectory(dir);
  assert.equal(set.credentials.get('nokey')!.errors, [
    `secret "nokey": ${join(folder, 'tls.key')}: missing: "tls.crt" needs "tls.key" (a certificate and its private key go together)`,
  ]);
  assert.equal(set.credentials.get('empty')!.errors, [
    `secret "empty": ${join(dir, 'empty')}: no tls.crt/tls.key, cert/key, ca.crt or cacert found`,
  ]);
  const broken = set.credentials.get('broken')!;
  assert.is(broken.errors.length, 1);
  assert.match(broken.errors[0]!, `secret "broken": ${join(dir, 'broken.yaml')}: not valid YAML (line`);
  assertNoKeyMaterial(broken, db.privateKeyPem);
  assert.not.ok(
    broken.errors[0]!.includes(Buffer.from(db.privateKeyPem).toString('base64').slice(0, 30)),
    'no base64 key in the YAML error',
  );
  assert.equal(set.credentials.get('notb64')!.errors, [`secret "notb64": ${join(dir, 'notb64.yaml')}: data.tls.crt is not valid base64`]);
  assert.equal(set.credentials.get('cm')!.errors, [`secret "cm": ${join(dir, 'cm.yaml')}: kind is "ConfigMap"; expected "Secret"`]);
  assert.equal(set.ignored, ['README']);
});

test('expired certificates are errors; expiring within 7 days is a warning', async () => {
  const dir = tempDir();
  const expired = await issue('old.example.com', { offsetDays: -30, ttlDays: 1 });
  const soon = await issue('soon.example.com', { ttlDays: 3 });
  const oldFolder = writeFolder(dir, 'old', expired, 'tls', false);
  writeFolder(dir, 'soon', soon, 'tls', false);
  const set = readCredentialDirectory(dir);
  const old = set.credentials.get('old')!;
  assert.is(old.errors.length, 1);
  assert.match(old.errors[0]!, new RegExp(`^secret "old": ${join(oldFolder, 'tls.crt')}: certificate expired at \\d{4}-`));
  assertNoKeyMaterial(old, expired.privateKeyPem);
  const s = set.credentials.get('soon')!;
  assert.equal(s.errors, []);
  assert.is(s.warnings.length, 1);
  assert.match(s.warnings[0]!, 'certificate expires within 7 days, at ');
  // The warning does not change as time passes: a periodic re-read is not a change.
  assert.is(readCredentialDirectory(dir).credentials.get('soon')!.fingerprint, s.fingerprint);
});

test('a secret defined twice (folder and manifest) is served from neither', () => {
  const dir = tempDir();
  writeFolder(dir, 'twice', db);
  writeManifest(dir, 'twice', { 'tls.crt': db.certChainPem, 'tls.key': db.privateKeyPem });
  const c = only(dir, 'twice');
  assert.match(c.errors[0]!, 'defined more than once');
});

test('missing directory and config overlap', () => {
  const set = readCredentialDirectory('/nonexistent/meshlite-secrets');
  assert.equal(set.directoryErrors, ['secrets directory /nonexistent/meshlite-secrets: does not exist or cannot be read']);
  const dir = tempDir();
  assert.is(configPathOverlapping(join(dir, 'secrets'), [dir]), dir);
  assert.is(configPathOverlapping(dir, [join(dir, 'config')]), join(dir, 'config'));
  assert.is(configPathOverlapping(join(dir, 'secrets'), [join(dir, 'config')]), undefined);
});

test.run();
