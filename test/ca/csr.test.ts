import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { toPem } from '../../src/ca/pem.js';
import { x509 } from '../../src/ca/x509-lib.js';
import { identity, removeTempDirs, splitChain, tempDir, TRUST_DOMAIN } from './ca-fixtures.js';
import { csrFor, dsa, p256, p384, rsa as rsaKey } from '../support/csr.js';
import { after, before } from '../support/hooks.js';

let ca: CertificateAuthority;
before(test, async () => {
  ca = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN });
});
after(test, removeTempDirs);

const EC: EcKeyGenParams & EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const rsa = (modulusLength: number): RsaHashedKeyGenParams => ({
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
});
const keyPair = async (params: EcKeyGenParams | RsaHashedKeyGenParams = EC) =>
  (await crypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair;

async function csrPem(
  keys: CryptoKeyPair,
  opts: { name?: string; sans?: x509.JsonGeneralName[]; algorithm?: Algorithm } = {},
): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    ...(opts.name ? { name: opts.name } : {}),
    keys,
    signingAlgorithm: opts.algorithm ?? EC,
    extensions: opts.sans ? [new x509.SubjectAlternativeNameExtension(opts.sans)] : [],
  });
  return csr.toString('pem');
}

test('the CSR key is certified for the authenticated identity; requested subject and SANs are ignored', async () => {
  const keys = await keyPair();
  const pem = await csrPem(keys, {
    name: 'CN=admin, O=system:masters',
    sans: [
      { type: 'url', value: 'spiffe://cluster.local/ns/kube-system/sa/admin' },
      { type: 'url', value: 'spiffe://evil.example/ns/foo/sa/sleep' },
      { type: 'dns', value: 'api.example.com' },
    ],
  });
  const result = await ca.signCsr(pem, identity('foo', 'sleep'));
  if (!result.ok) throw new Error(result.error);
  const leaf = splitChain(result.certificate.certChainPem)[0]!;
  assert.is(leaf.subjectAltName, 'URI:spiffe://cluster.local/ns/foo/sa/sleep');
  assert.is(new x509.X509Certificate(leaf.raw).subject, '');
  assert.is(result.certificate.spiffeId, 'spiffe://cluster.local/ns/foo/sa/sleep');
  assert.is(result.certificate.privateKeyPem, undefined, 'the key stays with its owner');
  const spki = Buffer.from(await crypto.subtle.exportKey('spki', keys.publicKey));
  assert.ok(leaf.publicKey.export({ format: 'der', type: 'spki' }).equals(spki));
  assert.ok(leaf.verify(new X509Certificate(ca.rootCertPem).publicKey));
});

test('a CSR signed by a different key than the one it carries is refused (no proof of possession)', async () => {
  const claimed = await keyPair();
  const signer = await keyPair();
  const pem = await csrPem({ publicKey: claimed.publicKey, privateKey: signer.privateKey });
  const result = await ca.signCsr(pem, identity('foo', 'sleep'));
  assert.ok(!result.ok && result.code === 'invalid-csr');
  assert.match(result.ok ? '' : result.error, 'proof of possession');
});

test('a CSR with a tampered signature is refused', async () => {
  const csr = new x509.Pkcs10CertificateRequest(await csrPem(await keyPair()));
  const der = Buffer.from(csr.rawData);
  der[der.length - 3]! ^= 0x01;
  const result = await ca.signCsr(toPem('CERTIFICATE REQUEST', der), identity('foo', 'sleep'));
  assert.ok(!result.ok && result.code === 'invalid-csr', JSON.stringify(result));
});

test('malformed input is refused as invalid-csr', async () => {
  const good = await csrPem(await keyPair());
  const cases = [
    '',
    'hello',
    good + good,
    ca.rootCertPem,
    '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
    good + 'x'.repeat(70_000),
  ];
  for (const input of cases) {
    const result = await ca.signCsr(input, identity('foo', 'sleep'));
    assert.ok(!result.ok && result.code === 'invalid-csr', input.slice(0, 40));
  }
});

test('CSR key policy: RSA-2048 is accepted, RSA-1024 is refused', async () => {
  const strong = await ca.signCsr(await csrPem(await keyPair(rsa(2048)), { algorithm: rsa(2048) }), identity('foo', 'sleep'));
  assert.ok(strong.ok, strong.ok ? '' : strong.error);
  const weak = await ca.signCsr(await csrPem(await keyPair(rsa(1024)), { algorithm: rsa(1024) }), identity('foo', 'sleep'));
  assert.ok(!weak.ok && weak.code === 'invalid-csr' && /too weak/.test(weak.error));
});

test('CSR key policy: only P-256 among curves, no DSA; the signature algorithm must fit the key', async () => {
  const refused: [string, string, RegExp][] = [
    ['P-384', csrFor(p384(), { hash: 'sha384' }), /curve P-384 is not accepted/],
    ['DSA', csrFor(dsa()), /DSA keys are not accepted/],
    ['EC key, RSA signature', csrFor(p256(), { signer: rsaKey(2048) }), /signed with RSASSA-PKCS1-v1_5, which does not match its EC key/],
  ];
  for (const [what, pem, reason] of refused) {
    const result = await ca.signCsr(pem, identity('foo', 'sleep'));
    assert.ok(!result.ok && result.code === 'invalid-csr' && reason.test(result.error), `${what}: ${JSON.stringify(result)}`);
  }
  const sha384 = await ca.signCsr(csrFor(p256(), { hash: 'sha384' }), identity('foo', 'sleep'));
  assert.ok(sha384.ok, 'a P-256 key may sign with SHA-384');
});

test('CSR signature algorithm: parameters as the algorithm defines them, no SHA-1; nothing after the request', async () => {
  const refused: [string, string, RegExp][] = [
    ['ECDSA with NULL parameters', csrFor(p256(), { parameters: 'null' }), /ECDSA has parameters it does not take/],
    ['ECDSA with SHA-1', csrFor(p256(), { hash: 'sha1' }), /ECDSA with SHA-1 is not accepted/],
    ['RSA with SHA-1', csrFor(rsaKey(2048), { hash: 'sha1' }), /RSASSA-PKCS1-v1_5 with SHA-1 is not accepted/],
    ['a corrupted signature', csrFor(p256(), { corrupt: true }), /no proof of possession/],
    ['a byte after the request', csrFor(p256(), { trailing: Buffer.from([0]) }), /not a valid PKCS#10/],
    ['RSA-1024', csrFor(rsaKey(1024)), /too weak/],
  ];
  for (const [what, pem, reason] of refused) {
    const result = await ca.signCsr(pem, identity('foo', 'sleep'));
    assert.ok(!result.ok && result.code === 'invalid-csr' && reason.test(result.error), `${what}: ${JSON.stringify(result)}`);
  }
  const rsaWithoutNull = await ca.signCsr(csrFor(rsaKey(2048), { parameters: 'none' }), identity('foo', 'sleep'));
  assert.ok(rsaWithoutNull.ok, 'RSA PKCS#1 v1.5 identifiers whose NULL parameters were left out are accepted');
});

test('the identity is still validated when signing a CSR', async () => {
  const result = await ca.signCsr(await csrPem(await keyPair()), {
    trustDomain: 'evil.example',
    namespace: 'foo',
    serviceAccount: 'sleep',
  });
  assert.ok(!result.ok && result.code === 'invalid-identity');
});

test.run();
