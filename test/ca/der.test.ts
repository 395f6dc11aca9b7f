import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import { namedBits, objectIdentifier, readElement, tlv, time, unsignedInteger } from '../../src/ca/der.js';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { removeTempDirs, tempDir, TRUST_DOMAIN } from './ca-fixtures.js';
import { after } from '../support/hooks.js';

after(test, removeTempDirs);

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('lengths: short form below 128, long form above', () => {
  assert.is(hex(tlv(0x04, Buffer.alloc(127))).slice(0, 4), '047f');
  assert.is(hex(tlv(0x04, Buffer.alloc(128))).slice(0, 6), '048180');
  assert.is(hex(tlv(0x04, Buffer.alloc(300))).slice(0, 8), '0482012c');
  const parsed = readElement(tlv(0x30, Buffer.alloc(300)), 0);
  assert.equal(parsed, { tag: 0x30, start: 0, contentStart: 4, end: 304 });
});

test('integers are minimal and positive', () => {
  assert.is(hex(unsignedInteger(Buffer.from([0x00, 0x00, 0x7f]))), '02017f');
  assert.is(hex(unsignedInteger(Buffer.from([0x80]))), '02020080');
  assert.is(hex(unsignedInteger(Buffer.from([0x00]))), '020100');
});

test('object identifiers, including multi-byte arcs', () => {
  assert.is(hex(objectIdentifier('2.5.29.17')), '0603551d11');
  assert.is(hex(objectIdentifier('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
});

test('key usage named bits drop trailing zero bits', () => {
  assert.is(hex(namedBits([0, 2])), '030205a0'); // digitalSignature, keyEncipherment
  assert.is(hex(namedBits([0, 5, 6])), '03020186'); // + keyCertSign, cRLSign
  assert.is(hex(namedBits([8])), '0303070080');
});

test('UTCTime through 2049, GeneralizedTime from 2050', () => {
  assert.is(
    time(new Date(Date.UTC(2049, 11, 31, 23, 59, 59)))
      .toString('latin1')
      .slice(2),
    '491231235959Z',
  );
  assert.is(
    time(new Date(Date.UTC(2050, 0, 1, 0, 0, 0)))
      .toString('latin1')
      .slice(2),
    '20500101000000Z',
  );
  assert.is(time(new Date(Date.UTC(2050, 0, 1)))[0], 0x18);
});

test('a root valid past 2049 round-trips through OpenSSL', async () => {
  const ca = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN, rootTtlSeconds: 40 * 365 * 86400 });
  const root = new X509Certificate(ca.rootCertPem);
  assert.ok(new Date(root.validTo).getUTCFullYear() >= 2060);
  assert.is(new Date(root.validTo).getTime(), ca.info.rootNotAfter.getTime());
});

test.run();
