// Proxy token verification: the ES256 verifier against jose (the library
// meshlite used before, and still signs with) on tokens with every kind of
// header and claim, and the cache of verified tokens (bounded, expiry
// checked at every lookup).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { importSPKI, jwtVerify } from 'jose';
import { verifyEs256Jwt } from '../../src/identity/jwt-es256.js';
import { TokenAuthority } from '../../src/identity/proxy-token.js';
import { VerifiedTokenCache } from '../../src/identity/verified-token-cache.js';

const ISSUER = 'meshlite';
const AUDIENCE = 'meshlite-ads';
const pair = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const KEY = pair();
const OTHER = pair();
const P384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A compact JWS over exactly this header and payload; `signer` decides the signature bytes. */
function token(header: unknown, payload: unknown, signer: KeyObject = KEY.privateKey, hash = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(hash, Buffer.from(input), { key: signer, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

async function joseAccepts(jwt: string): Promise<Record<string, unknown> | undefined> {
  const key = await importSPKI(KEY.publicKey.export({ format: 'pem', type: 'spki' }).toString(), 'ES256');
  try {
    return (await jwtVerify(jwt, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'] })).payload as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

test('the verifier accepts exactly what jose accepts, with the same claims', async () => {
  const now = Math.floor(Date.now() / 1000);
  // Times are never within a minute of now: the two verifiers read the clock a moment apart.
  // Each part is mostly valid, so that about a quarter of the tokens should pass.
  const mostly = <T>(valid: T, ...others: T[]) =>
    fc.oneof({ arbitrary: fc.constant(valid), weight: 6 }, { arbitrary: fc.constantFrom(...others), weight: 1 });
  const payload = fc.record({
    iss: mostly<unknown>(ISSUER, undefined, 'other', 7),
    aud: mostly<unknown>(AUDIENCE, [AUDIENCE, 'x'], ['x'], 'other', 5, undefined),
    sub: mostly<unknown>('sleep.foo', '', 3, undefined),
    jti: mostly<unknown>('0b5c6c1e-9c1d-4b6e-8a57-0e1f5c7c9a10', undefined, 9),
    iat: mostly<unknown>(now - 100, undefined, now + 3600, 'yesterday'),
    nbf: mostly<unknown>(undefined, now - 100, now + 3600, 'later'),
    exp: mostly<unknown>(now + 3600, undefined, now - 100, '1h'),
  });
  const header = mostly<unknown>(
    { alg: 'ES256', typ: 'JWT' },
    { alg: 'ES256' },
    { alg: 'ES384', typ: 'JWT' },
    { alg: 'none' },
    { alg: 'ES256', crit: ['exp'], exp: 1 },
    [],
  );
  const signer = mostly<[KeyObject, string]>([KEY.privateKey, 'sha256'], [OTHER.privateKey, 'sha256'], [P384.privateKey, 'sha384']);
  const edit = fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 4 },
    { arbitrary: fc.tuple(fc.nat(), fc.constantFrom('A', '_', '.', '', '=', ' ')), weight: 1 },
  );
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(header, payload, signer, edit, async (h, p, [key, hash], change) => {
      let jwt = token(h, p, key, hash);
      if (change) jwt = jwt.slice(0, change[0] % jwt.length) + change[1] + jwt.slice((change[0] % jwt.length) + 1);
      const ours = verifyEs256Jwt(jwt, KEY.publicKey, { issuer: ISSUER, audience: AUDIENCE, nowSeconds: Math.floor(Date.now() / 1000) });
      const theirs = await joseAccepts(jwt);
      assert.is(ours.ok, theirs !== undefined, `${jwt}: ours ${JSON.stringify(ours)}, jose ${JSON.stringify(theirs)}`);
      if (ours.ok) assert.equal(ours.claims, theirs);
      if (ours.ok) accepted++;
    }),
    { numRuns: 400 },
  );
  assert.ok(accepted > 40, `only ${accepted} of 400 tokens were valid: the property hardly tested acceptance`);
});

test('time claims at the boundary: expired at exp, valid from nbf; a refusal says which check failed', () => {
  const nowSeconds = 1_900_000_000;
  const check = (claims: object) =>
    verifyEs256Jwt(token({ alg: 'ES256' }, { iss: ISSUER, aud: AUDIENCE, sub: 'a.b', ...claims }), KEY.publicKey, {
      issuer: ISSUER,
      audience: AUDIENCE,
      nowSeconds,
    });
  assert.ok(check({ exp: nowSeconds + 1 }).ok);
  assert.equal(check({ exp: nowSeconds }), { ok: false, reason: '"exp" claim timestamp check failed' });
  assert.ok(check({ nbf: nowSeconds }).ok);
  assert.equal(check({ nbf: nowSeconds + 1 }), { ok: false, reason: '"nbf" claim timestamp check failed' });
  assert.equal(check({ iss: 'x' }), { ok: false, reason: 'unexpected "iss" claim value' });
  const tooLong = `${'a'.repeat(9000)}.b.c`;
  assert.match(
    (verifyEs256Jwt(tooLong, KEY.publicKey, { issuer: ISSUER, audience: AUDIENCE, nowSeconds }) as { reason: string }).reason,
    /longer/,
  );
});

test('the cache: bounded, oldest out first, an entry gone at its exp, tokens without exp not kept', () => {
  const cache = new VerifiedTokenCache<{ workloadId: string; expiresAt?: number }>(3);
  for (const t of ['a', 'b', 'c', 'd']) cache.remember(t, { workloadId: t, expiresAt: 100 });
  assert.is(cache.size, 3);
  assert.is(cache.get('a', 50), undefined, 'the oldest went');
  assert.is(cache.get('d', 50)?.workloadId, 'd');
  assert.is(cache.get('d', 100), undefined, 'expired at exp');
  assert.is(cache.size, 2, 'and dropped');
  cache.remember('forever', { workloadId: 'x' });
  assert.is(cache.get('forever', 0), undefined);
});

test('TokenAuthority: a remembered token still expires, and only verified tokens are remembered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-tokens-'));
  try {
    const tokens = await TokenAuthority.loadOrCreate(dir);
    const short = await tokens.issueToken('sleep.foo', 1);
    const first = await tokens.verify(short.token);
    assert.equal(first, {
      ok: true,
      workloadId: 'sleep.foo',
      tokenId: short.tokenId,
      issuedAt: short.issuedAt,
      expiresAt: short.expiresAt,
    });
    assert.equal(await tokens.verify(short.token), first, 'the same claims from the cache');
    const forged = `${short.token.slice(0, short.token.lastIndexOf('.'))}.${Buffer.alloc(64).toString('base64url')}`;
    assert.equal(await tokens.verify(forged), { ok: false, reason: 'signature verification failed' });
    const deadline = Date.now() + 5000;
    let after = await tokens.verify(short.token);
    while (after.ok && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      after = await tokens.verify(short.token);
    }
    assert.equal(after, { ok: false, reason: '"exp" claim timestamp check failed' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
