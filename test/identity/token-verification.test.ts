// Proxy token verification with the cache of verified tokens: bounded, the
// expiry checked at every lookup, and only tokens jose verified remembered.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenAuthority } from '../../src/identity/proxy-token.js';
import { VerifiedTokenCache } from '../../src/identity/verified-token-cache.js';

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
