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

// Found by the property below: one byte changed inside the extensions, so that a field follows them.
const FIELD_AFTER_EXTENSIONS = Buffer.from(
  '308201e93082018ea00302010202104a903bb924ece730fef70fff4c3c4f82300a06082a8648ce3d040302303331163014060355040a0c0d636c75737465722e6c6f63616c3119301706035504030c106d6573686c69746520726f6f74204341301e170d3236313230373036303330325a170d3236313230383036303530325a30003059301306072a8648ce3d020106082a8648ce3d03010703420004b78612ba102b0e4ad00ff92cc0349f0479bbfa8b7631dac395a3563723e191ba3cdc4ce5d5a6b28b9dc3a234832bc8d6ad965274a1c9b22bfc9a7e0da11171b2a381953081b3300c0603551d130101ff04023000300e0603551d0f0101ff0404030205a0301d0603551d250416301406082b0601050507030106082b0601050507030230340603551d110101ff042a302886267370696666653a2f2f636c75737465722e6c6f63616c2f6e732f666f6f2f73612f736c656570301d0603551d0e04160414a7e3c0ef47388c4a56990af1c4cd55867e5a0558301f0603551d23041830168014260248f94b99794dc9b3f9116ad5b719953a1315300a06082a8648ce3d0403020349003046022100c76edfb6fcd43a53e4b988de04195aa01e3d8b4260932627d2372eade5b88b89022100eea55384612a7cc25982a0d486b437bdeded3cfc3e481ff8ca066565d9d0cae3',
  'hex',
);

test('a field after the extensions is refused, not read with the extensions missed', () => {
  const read = readLeafFields(FIELD_AFTER_EXTENSIONS);
  assert.ok(!read.ok && /unexpected fields after the public key/.test(read.error), JSON.stringify(read));
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
