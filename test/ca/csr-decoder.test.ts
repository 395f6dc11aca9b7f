// The strict PKCS#10 decoder against @peculiar/x509 (the general ASN.1
// library it replaced on the signing path): the same parts out of every
// valid request, a refusal (never a throw) for anything else.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import * as fc from 'fast-check';
import { decodeCsr } from '../../src/ca/csr-decoder.js';
import { bitString, NULL, objectIdentifier, sequence, tlv } from '../../src/ca/der.js';
import { readTlv } from '../../src/ca/der-reader.js';
import { pemBlocks } from '../../src/ca/pem.js';
import { x509 } from '../../src/ca/x509-lib.js';
import { csrFor, dsa, p256, p384, rsa } from '../support/csr.js';

const KEYS: KeyObject[] = [p256(), p256(), p384(), rsa(2048), dsa()];
/** The signature algorithms test/support/csr.ts uses: OID, how @peculiar/x509 names it, Node's hash. */
const ALGORITHMS: [oid: string, name: string, hash: string | undefined, nodeHash: string][] = [
  ['1.2.840.10045.4.3.2', 'ECDSA', 'SHA-256', 'sha256'],
  ['1.2.840.10045.4.3.3', 'ECDSA', 'SHA-384', 'sha384'],
  ['1.2.840.113549.1.1.11', 'RSASSA-PKCS1-v1_5', 'SHA-256', 'sha256'],
  ['2.16.840.1.101.3.4.3.2', '2.16.840.1.101.3.4.3.2', undefined, 'sha256'],
];

function der(pem: string): Buffer {
  const blocks = pemBlocks(pem);
  if (!blocks.ok || blocks.value.length !== 1) throw new Error('expected one PEM block');
  return blocks.value[0]!.der;
}
const bytes = (b: ArrayBuffer | Uint8Array) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b);

/** Fails unless the decoder and @peculiar/x509 read the same key, signed bytes, signature and algorithm. */
function assertAgrees(request: Buffer): void {
  const ours = decodeCsr(request);
  if (!ours.ok) throw new Error(`decoder refused a valid CSR: ${ours.error}`);
  const theirs = new x509.Pkcs10CertificateRequest(new Uint8Array(request));
  assert.ok(bytes(ours.value.spki).equals(bytes(theirs.publicKey.rawData)), 'SubjectPublicKeyInfo');
  assert.ok(bytes(ours.value.signature).equals(bytes(theirs.signature)), 'signature');
  const spki = readTlv(ours.value.spki, 0);
  const algorithmEnd = readTlv(ours.value.spki, spki.contentStart).end;
  assert.ok(bytes(ours.value.keyAlgorithm).equals(bytes(ours.value.spki.subarray(spki.contentStart, algorithmEnd))), 'key algorithm');
  const named = ALGORITHMS.find(([oid]) => objectIdentifier(oid).equals(bytes(ours.value.signatureOid)));
  if (!named) throw new Error('a signature algorithm the test does not know');
  const { name, hash } = theirs.signatureAlgorithm as { name: string; hash?: { name: string } };
  assert.equal([named[1], named[2]], [name, hash?.name]);
  const spkiKey = createPublicKey({ key: bytes(ours.value.spki), format: 'der', type: 'spki' });
  assert.ok(verify(named[3], ours.value.info, spkiKey, ours.value.signature), 'the signature covers exactly `info`');
}

test('valid requests: the same parts as @peculiar/x509, whatever the key, subject, SANs and hash', () => {
  const subject = fc.array(
    fc.tuple(fc.constantFrom('2.5.4.3', '2.5.4.10', '2.5.4.11', '0.9.2342.19200300.100.1.25'), fc.string({ minLength: 1, maxLength: 40 })),
    { maxLength: 4 },
  );
  const sans = fc.option(
    fc.array(
      fc.oneof(
        fc.webUrl().map((value) => ({ type: 'uri' as const, value })),
        fc.domain().map((value) => ({ type: 'dns' as const, value })),
        fc.ipV4().map((value) => ({ type: 'ip' as const, value })),
      ),
      { minLength: 1, maxLength: 4 },
    ),
    { nil: undefined },
  );
  fc.assert(
    fc.property(fc.nat(KEYS.length - 1), subject, sans, fc.boolean(), (k, attributes, names, longHash) => {
      const key = KEYS[k]!;
      const hash = longHash && key.asymmetricKeyType === 'ec' ? 'sha384' : 'sha256';
      assertAgrees(der(csrFor(key, { subject: attributes, sans: names ?? undefined, hash })));
    }),
    { numRuns: 150 },
  );
});

test('random bytes and mutated requests: a refusal, never a throw; what both accept, both read alike', () => {
  const valid = KEYS.map((k) => der(csrFor(k, { subject: [['2.5.4.3', 'workload']], sans: [{ type: 'dns', value: 'a.example' }] })));
  const mutated = fc
    .tuple(
      fc.constantFrom(...valid),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'cut')), {
        minLength: 1,
        maxLength: 4,
      }),
    )
    .map(([original, edits]) => {
      let out = Buffer.from(original);
      for (const [at, value, op] of edits) {
        const i = at % out.length;
        if (op === 'set') out[i] = value;
        else if (op === 'insert') out = Buffer.concat([out.subarray(0, i), Buffer.from([value]), out.subarray(i)]);
        else if (op === 'delete') out = Buffer.concat([out.subarray(0, i), out.subarray(i + 1)]);
        else out = out.subarray(0, i);
      }
      return out;
    });
  fc.assert(
    fc.property(
      fc.oneof(
        mutated,
        fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
      ),
      (input) => {
        const ours = decodeCsr(input);
        if (!ours.ok) {
          assert.match(ours.error, /^CSR is not a valid PKCS#10 certificate request \(/);
          return;
        }
        let theirs: x509.Pkcs10CertificateRequest;
        try {
          theirs = new x509.Pkcs10CertificateRequest(new Uint8Array(input));
          theirs.publicKey;
        } catch {
          return; // stricter about the subject or attributes than this decoder: it ignores them
        }
        assert.ok(bytes(ours.value.spki).equals(bytes(theirs.publicKey.rawData)));
        assert.ok(bytes(ours.value.signature).equals(bytes(theirs.signature)));
      },
    ),
    { numRuns: 3000 },
  );
});

test('not DER: truncation, trailing bytes, BER lengths, wrong version, missing parts, partial-byte signatures', () => {
  const good = der(csrFor(KEYS[0]!));
  assert.ok(decodeCsr(good).ok);
  const outer = readTlv(good, 0);
  const content = good.subarray(outer.contentStart);
  const length = content.length;
  const [info, algorithm, signature] = (() => {
    const a = readTlv(good, outer.contentStart);
    const b = readTlv(good, a.end);
    return [a, b, readTlv(good, b.end)];
  })();
  const part = (t: { start: number; end: number }) => good.subarray(t.start, t.end);
  const infoParts = (() => {
    const found: Buffer[] = [];
    for (let at = info.contentStart; at < info.end; at = readTlv(good, at).end) found.push(part(readTlv(good, at)));
    return found;
  })();
  const withInfo = (parts: Buffer[]) => sequence(sequence(...parts), part(algorithm), part(signature));
  const signatureBits = good.subarray(signature.contentStart + 1, signature.end);
  const cases: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['every truncation', good.subarray(0, good.length - 1)],
    ['a trailing byte', Buffer.concat([good, Buffer.from([0])])],
    ['a second request after the first', Buffer.concat([good, good])],
    ['indefinite length (BER)', Buffer.concat([Buffer.from([0x30, 0x80]), content, Buffer.from([0, 0])])],
    ['a length with a leading zero byte', Buffer.concat([Buffer.from([0x30, 0x83, 0, (length >> 8) & 0xff, length & 0xff]), content])],
    ['version 2', withInfo([Buffer.from([0x02, 0x01, 0x01]), ...infoParts.slice(1)])],
    ['no attributes', withInfo(infoParts.slice(0, 3))],
    ['an extra field', withInfo([...infoParts, Buffer.from([0x05, 0x00])])],
    ['a subject that is not a Name', withInfo([infoParts[0]!, sequence(NULL), ...infoParts.slice(2)])],
    ['no signature', sequence(part(info), part(algorithm))],
    ['a signature with unused bits', sequence(part(info), part(algorithm), tlv(0x03, Buffer.concat([Buffer.from([1]), signatureBits])))],
    ['a signature algorithm without OID', sequence(part(info), sequence(NULL), bitString(signatureBits))],
    ['an OID with a padded arc', sequence(part(info), sequence(tlv(0x06, Buffer.from([0x2a, 0x80, 0x48]))), bitString(signatureBits))],
    // Inside the key's parameters: the named curve's first arc padded (a reader that re-encodes it gets other bytes).
    ['a curve OID with a padded arc', paddedCurve(good)],
    [
      'a NULL with content',
      sequence(part(info), sequence(part(readTlv(good, algorithm.contentStart)), tlv(0x05, Buffer.from([0]))), part(signature)),
    ],
    [
      'an INTEGER with a needless leading zero',
      sequence(part(info), sequence(part(readTlv(good, algorithm.contentStart)), tlv(0x02, Buffer.from([0, 1]))), part(signature)),
    ],
  ];
  for (const [what, input] of cases) {
    const result = decodeCsr(input);
    assert.ok(!result.ok, `${what} was accepted`);
  }
  for (let n = 0; n < good.length; n++) assert.ok(!decodeCsr(good.subarray(0, n)).ok, `truncated to ${n} bytes`);
});

/** `csr` with the first byte of its P-256 curve OID (1.2.840.10045.3.1.7) replaced by 0x80: same length, not DER. */
function paddedCurve(csr: Buffer): Buffer {
  const curve = objectIdentifier('1.2.840.10045.3.1.7');
  const at = csr.indexOf(curve);
  if (at < 0) throw new Error('no P-256 curve OID in the request');
  const out = Buffer.from(csr);
  out[at + 2] = 0x80;
  return out;
}

test.run();
