// The workload key and its CSR: a fresh P-256 key each time, PKCS#8 PEM, and a
// PKCS#10 request that OpenSSL and meshlite's CSR check both verify, carrying
// that key's public half.
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateWorkloadKey } from '../../src/agent/workload-key.js';
import { checkCsr } from '../../src/ca/csr.js';
import { after } from '../support/hooks.js';

const dir = mkdtempSync(join(tmpdir(), 'meshlite-workload-key-'));
after(test, () => rmSync(dir, { recursive: true, force: true }));

function openssl(args: string[], input: string): { status: number | null; out: string } {
  const file = join(dir, `in-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, input);
  const r = spawnSync('openssl', [...args, '-in', file], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('a PKCS#8 ECDSA P-256 private key', async () => {
  const { privateKeyPem } = await generateWorkloadKey();
  assert.match(privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  const key = createPrivateKey(privateKeyPem);
  assert.is(key.asymmetricKeyType, 'ec');
  assert.is(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
});

test('openssl req -verify accepts the CSR, and its public key is the private key`s', async () => {
  const { privateKeyPem, csrPem } = await generateWorkloadKey();
  const verified = openssl(['req', '-verify', '-noout'], csrPem);
  assert.is(verified.status, 0, verified.out);
  assert.match(verified.out, /verify OK/i);
  const pubkey = openssl(['req', '-noout', '-pubkey'], csrPem);
  assert.is(pubkey.status, 0, pubkey.out);
  const expected = createPublicKey(privateKeyPem).export({ format: 'pem', type: 'spki' }).toString();
  assert.is(pubkey.out.trim(), expected.trim());
});

test('a CSR with one bit of its signature flipped fails openssl req -verify', async () => {
  const { csrPem } = await generateWorkloadKey();
  const der = Buffer.from(csrPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  der[der.length - 1]! ^= 0x01;
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  // OpenSSL 3.0 exits 0 either way; its verdict is the line it prints.
  const verified = openssl(['req', '-verify', '-noout'], tampered);
  assert.not.match(verified.out, /verify OK/i);
  assert.match(verified.out, /verify fail/i);
});

test('meshlite`s CSR check accepts it as a P-256 key; every call makes another key', async () => {
  const a = await generateWorkloadKey();
  const b = await generateWorkloadKey();
  const checked = checkCsr(a.csrPem);
  assert.ok(checked.ok, checked.ok ? '' : checked.error);
  if (checked.ok) {
    assert.equal(checked.value.kind, { type: 'ec', curve: 'P-256' });
    assert.ok(checked.value.spkiDer.equals(createPublicKey(a.privateKeyPem).export({ format: 'der', type: 'spki' })));
  }
  assert.is.not(a.privateKeyPem, b.privateKeyPem);
  assert.is.not(a.csrPem, b.csrPem);
});

test.run();
