// The DER reader of client certificates against @peculiar/x509 (what
// caller-auth.ts used before): the same serial, validity, CA flag and URI
// SANs for the certificates meshlite issues and CA certificates, and a
// refusal, never a throw, for anything else.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fc from 'fast-check';
import { generateKeyPair } from '../../src/ca/keys.js';
import { randomSerialHex } from '../../src/ca/issue.js';
import { type LeafFields, readLeafFields } from '../../src/ca/leaf-fields.js';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { x509 } from '../../src/ca/x509-lib.js';
import { basicConstraints, EMPTY_NAME, signCertificate, subjectAltName, subjectNameDer } from '../../src/ca/x509-template.js';
import { identity, makeIntermediate, makeRoot, removeTempDirs, splitChain, tempDir, TRUST_DOMAIN } from './ca-fixtures.js';
import { csrFor, p256 } from '../support/csr.js';
import { after } from '../support/hooks.js';

after(test, removeTempDirs);

function asPeculiar(der: Uint8Array): LeafFields {
  const cert = new x509.X509Certificate(new Uint8Array(der));
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  return {
    serialHex: cert.serialNumber.toLowerCase(),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCa: cert.getExtension(x509.BasicConstraintsExtension)?.ca ?? false,
    uris: names.filter((n) => n.type === 'url').map((n) => n.value),
  };
}

function assertReadsAsPeculiar(der: Uint8Array, what: string): LeafFields {
  const ours = readLeafFields(der);
  if (!ours.ok) throw new Error(`${what}: ${ours.error}`);
  assert.equal(ours.value, asPeculiar(der), what);
  return ours.value;
}

test('certificates meshlite makes read the same as with @peculiar/x509', async () => {
  const ca = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN });
  const workload = await ca.signCsr(csrFor(p256()), identity('foo', 'sleep'));
  const server = await ca.issueServerCertificate(['meshlite', 'localhost'], ['127.0.0.1', '::1']);
  if (!workload.ok || !server.ok) throw new Error('issue failed');
  const leaf = assertReadsAsPeculiar(splitChain(workload.certificate.certChainPem)[0]!.raw, 'workload');
  assert.equal(leaf.uris, ['spiffe://cluster.local/ns/foo/sa/sleep']);
  assert.is(leaf.serialHex, workload.certificate.serialNumber);
  assert.is(leaf.isCa, false);
  assert.is(assertReadsAsPeculiar(splitChain(server.certificate.certChainPem)[0]!.raw, 'server').uris.length, 0);
  assert.is(assertReadsAsPeculiar(splitChain(ca.rootCertPem)[0]!.raw, 'root').isCa, true);
  const root = await makeRoot();
  assert.is(assertReadsAsPeculiar((await makeIntermediate(root)).der, 'intermediate').isCa, true);
  assert.is(assertReadsAsPeculiar((await makeIntermediate(root, { ca: false })).der, 'cA FALSE').isCa, false);
});

test('GeneralizedTime from 2050, several URIs among other names, a serial with a sign byte, a repeated extension', async () => {
  const root = await makeRoot();
  const key = await generateKeyPair('ecdsa-p256');
  const make = (serialHex: string, extensions: Buffer[]) =>
    signCertificate(
      {
        serialHex,
        issuer: subjectNameDer(root.der),
        subject: EMPTY_NAME,
        notBefore: new Date(Date.UTC(2049, 11, 31, 23, 59, 59)),
        notAfter: new Date(Date.UTC(2061, 1, 28, 0, 0, 1)),
        spkiDer: key.spkiDer,
        extensions,
      },
      root.key,
    );
  const uris = [
    { type: 'uri' as const, value: 'spiffe://a/ns/b/sa/c' },
    { type: 'dns' as const, value: 'x.example' },
    { type: 'uri' as const, value: 'spiffe://d/ns/e/sa/f' },
  ];
  const read = assertReadsAsPeculiar(make('ff01', [basicConstraints(false), subjectAltName(uris, true)]), 'custom');
  assert.equal([read.notBefore.toISOString(), read.notAfter.toISOString()], ['2049-12-31T23:59:59.000Z', '2061-02-28T00:00:01.000Z']);
  assert.equal(read.uris, ['spiffe://a/ns/b/sa/c', 'spiffe://d/ns/e/sa/f']);
  assert.is(read.serialHex, 'ff01');
  assert.equal(assertReadsAsPeculiar(make(randomSerialHex(), [basicConstraints(false)]), 'no SAN').uris, []);
  const twice = readLeafFields(make('01', [subjectAltName(uris, true), subjectAltName(uris.slice(2), true)]));
  assert.ok(!twice.ok && /twice/.test(twice.error), 'a repeated extension makes the certificate unreadable');
});

test('random bytes and mutated certificates: a refusal, never a throw; what both read, both read alike', async () => {
  const ca = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN });
  const issued = await ca.signCsr(csrFor(p256()), identity('foo', 'sleep'));
  if (!issued.ok) throw new Error(issued.error);
  const original = splitChain(issued.certificate.certChainPem)[0]!.raw;
  const mutated = fc
    .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()), { minLength: 1, maxLength: 3 })
    .map((edits) => {
      let out = Buffer.from(original);
      for (const [at, value, cut] of edits) {
        if (cut) out = out.subarray(0, at % out.length);
        else if (out.length > 0) out[at % out.length] = value;
      }
      return out;
    });
  fc.assert(
    fc.property(
      fc.oneof(
        mutated,
        fc.uint8Array({ maxLength: 800 }).map((b) => Buffer.from(b)),
      ),
      (input) => {
        const ours = readLeafFields(input);
        if (!ours.ok) return;
        let theirs: LeafFields;
        try {
          theirs = asPeculiar(input);
        } catch {
          return; // the library reads every field; this reader only the ones it needs
        }
        assert.equal(ours.value.uris, theirs.uris);
        assert.is(ours.value.isCa, theirs.isCa);
        assert.is(ours.value.notAfter.getTime(), theirs.notAfter.getTime());
      },
    ),
    { numRuns: 3000 },
  );
});

test.run();
