// The sealed values of the store: AES-256-GCM bound to their store key, and
// the key file formats --store-key-file accepts and refuses.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { open, parseStoreKey, readStoreKeyFile, SealedBoxError, seal } from '../../src/store/sealed-box.js';

const key = randomBytes(32);
const SECRET = '-----BEGIN PRIVATE KEY-----\nnot really\n-----END PRIVATE KEY-----\n';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

test('seal then open gives the plaintext back; the sealed JSON holds none of it and a fresh IV each time', () => {
  const a = seal(key, 'identity/ca', SECRET);
  const b = seal(key, 'identity/ca', SECRET);
  assert.is(open(key, 'identity/ca', a).toString('utf8'), SECRET);
  assert.is(open(key, 'identity/ca', Buffer.from(b)).toString('utf8'), SECRET);
  const doc = JSON.parse(a);
  assert.equal(Object.keys(doc).sort(), ['alg', 'data', 'iv', 'tag', 'version']);
  assert.is(doc.alg, 'AES-256-GCM');
  assert.is(Buffer.from(doc.iv, 'base64').length, 12);
  assert.is.not(doc.iv, JSON.parse(b).iv);
  assert.not.match(a, /PRIVATE KEY|not really/);
});

test('a changed byte of data, tag or iv does not open', () => {
  const doc = JSON.parse(seal(key, 'identity/ca', SECRET));
  for (const field of ['data', 'tag', 'iv']) {
    const bytes = Buffer.from(doc[field], 'base64');
    bytes[0]! ^= 1;
    const tampered = JSON.stringify({ ...doc, [field]: bytes.toString('base64') });
    const err = thrown(() => open(key, 'identity/ca', tampered));
    assert.instance(err, SealedBoxError);
    assert.match(err.message, 'does not open identity/ca');
  }
});

test('a value moved to another store key does not open there', () => {
  const sealed = seal(key, 'identity/ca', SECRET);
  const err = thrown(() => open(key, 'identity/token-key', sealed));
  assert.match(err.message, '--store-key-file does not open identity/token-key');
});

test('another key: a clear error naming the store key, never the value', () => {
  const sealed = seal(key, 'identity/ca', SECRET);
  const err = thrown(() => open(randomBytes(32), 'identity/ca', sealed));
  assert.match(err.message, '--store-key-file does not open identity/ca: not the key the replicas that created it used');
  assert.not.match(err.message, /PRIVATE|data|[A-Za-z0-9+/]{20}/);
});

test('a value that is not a sealed box is refused as such', () => {
  assert.match(thrown(() => open(key, 'identity/ca', SECRET)).message, 'identity/ca does not hold a sealed value (not JSON)');
  assert.match(thrown(() => open(key, 'identity/ca', '{"version":2}')).message, 'of version 1');
  const doc = JSON.parse(seal(key, 'identity/ca', SECRET));
  assert.match(thrown(() => open(key, 'identity/ca', JSON.stringify({ ...doc, iv: 'AAAA' }))).message, 'wrong length');
});

test('key formats: 32 raw bytes, 64 hex, base64 (standard or URL-safe), each with or without a trailing newline', () => {
  const k = Buffer.from('fb'.repeat(16) + 'ff'.repeat(16), 'hex'); // holds + and / in base64
  const forms = [
    k,
    Buffer.concat([k, Buffer.from('\n')]),
    Buffer.from(k.toString('hex')),
    Buffer.from(`${k.toString('hex').toUpperCase()}\n`),
    Buffer.from(k.toString('base64')),
    Buffer.from(`${k.toString('base64')}\r\n`),
    Buffer.from(k.toString('base64url')),
  ];
  for (const [i, form] of forms.entries()) assert.equal(parseStoreKey(form), k, `form ${i}`);
});

test('anything else is refused with one line that tells how to make a key; a loose file mode is reported', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-store-key-'));
  try {
    const path = join(dir, 'store.key');
    for (const bad of [
      Buffer.alloc(0),
      randomBytes(31),
      Buffer.from('ab'.repeat(31)),
      Buffer.from(randomBytes(16).toString('base64')),
      Buffer.from('correct horse battery staple\n'),
    ]) {
      writeFileSync(path, bad, { mode: 0o600 });
      const err = thrown(() => readStoreKeyFile(path));
      assert.match(err.message, `--store-key-file ${path}: expected 32 raw bytes, 64 hex characters or base64 of 32 bytes`);
      assert.match(err.message, 'head -c 32 /dev/urandom');
      assert.not.match(err.message, 'horse');
    }
    writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o600 });
    chmodSync(path, 0o600);
    assert.is(readStoreKeyFile(path).looseMode, undefined);
    chmodSync(path, 0o644);
    assert.is(readStoreKeyFile(path).looseMode, 0o644);
    assert.match(thrown(() => readStoreKeyFile(join(dir, 'missing'))).message, 'ENOENT');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
