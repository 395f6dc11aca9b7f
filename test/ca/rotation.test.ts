import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import type { IssueResult } from '../../src/ca/issue.js';
import { rotationDelayMs, WorkloadCertificateCache, type CertificateRotation } from '../../src/ca/rotation.js';
import { DAY, identity, ManualClock, removeTempDirs, tempDir, TRUST_DOMAIN } from './ca-fixtures.js';
import { after } from '../support/hooks.js';

after(test, removeTempDirs);

const HOUR = 3600_000;
const t0 = new Date(Date.UTC(2030, 0, 1));
const t24 = new Date(t0.getTime() + 24 * HOUR);

test('rotationDelayMs: half the lifetime, jittered within +-1% of it', () => {
  assert.is(
    rotationDelayMs(t0, t24, t0, () => 0.5),
    12 * HOUR,
  );
  assert.is(
    rotationDelayMs(t0, t24, t0, () => 0),
    Math.round(0.49 * 24 * HOUR),
  );
  assert.is(
    rotationDelayMs(t0, t24, t0, () => 0.999999),
    Math.round(24 * HOUR * (0.5 + 0.999999 * 2 * 0.01 - 0.01)),
  );
  const delays = Array.from({ length: 1000 }, () => rotationDelayMs(t0, t24, t0));
  for (const d of delays) assert.ok(Math.abs(d - 12 * HOUR) <= 0.01 * 24 * HOUR, `${d}`);
  assert.ok(new Set(delays).size > 900, 'jitter actually varies');
});

test('rotationDelayMs counts from now and is never negative', () => {
  const now = new Date(t0.getTime() + 5 * HOUR);
  assert.is(
    rotationDelayMs(t0, t24, now, () => 0.5),
    7 * HOUR,
  );
  assert.is(
    rotationDelayMs(t0, t24, new Date(t24.getTime() + HOUR), () => 0.5),
    0,
  );
});

/** A CA stand-in that counts calls and can be made to fail. */
function stubIssuer(clock: ManualClock, ttlSeconds = DAY) {
  const stub = {
    calls: 0,
    failing: false,
    async issueWorkloadCertificate(): Promise<IssueResult> {
      stub.calls += 1;
      await new Promise((resolve) => setImmediate(resolve));
      if (stub.failing) return { ok: false, code: 'signer-not-valid', error: 'CA unavailable' };
      const now = clock.ms;
      return {
        ok: true,
        certificate: {
          certChainPem: `cert ${stub.calls}`,
          serialNumber: String(stub.calls),
          notBefore: new Date(now - 120_000),
          notAfter: new Date(now + ttlSeconds * 1000),
        },
      };
    },
  };
  return stub;
}

test('the cache issues on first request, then serves the same certificate until rotation time', async () => {
  const clock = new ManualClock();
  const ca = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN, now: clock.now });
  const cache = new WorkloadCertificateCache(ca, { now: clock.now, random: () => 0.5, autoRotate: false });
  const rotations: CertificateRotation[] = [];
  cache.onRotated((r) => rotations.push(r));
  assert.is(cache.current(identity('foo', 'sleep')), undefined);
  const first = await cache.get(identity('foo', 'sleep'));
  if (!first.ok) throw new Error(first.error);
  clock.advance(11 * 3600);
  const again = await cache.get(identity('foo', 'sleep'));
  assert.ok(again.ok && again.certificate === first.certificate);
  assert.is(cache.current(identity('foo', 'sleep')), first.certificate);
  clock.advance(3600 + 1);
  const rotated = await cache.get(identity('foo', 'sleep'));
  if (!rotated.ok) throw new Error(rotated.error);
  assert.is.not(rotated.certificate.serialNumber, first.certificate.serialNumber);
  assert.is(rotated.certificate.notAfter.getTime(), clock.ms + DAY * 1000);
  assert.is(rotations.length, 1);
  assert.is(rotations[0]!.key, 'foo/sleep');
  assert.is(rotations[0]!.previous, first.certificate);
  assert.is(rotations[0]!.certificate, rotated.certificate);
  assert.is(rotations[0]!.certificate.spiffeId, 'spiffe://cluster.local/ns/foo/sa/sleep');
});

test('rotateDue renews exactly the identities that are due, one certificate per ns/sa', async () => {
  const clock = new ManualClock();
  const stub = stubIssuer(clock);
  const cache = new WorkloadCertificateCache(stub, { now: clock.now, random: () => 0.5, autoRotate: false });
  const notified: string[] = [];
  cache.onRotated((r) => notified.push(r.key));
  await cache.get(identity('foo', 'sleep'));
  await cache.get(identity('foo', 'sleep'));
  clock.advance(6 * 3600);
  await cache.get(identity('bar', 'httpbin'));
  assert.is(stub.calls, 2);
  clock.advance(6 * 3600 + 1);
  assert.is(await cache.rotateDue(), 1);
  assert.equal(notified, ['foo/sleep']);
  assert.is(await cache.rotateDue(), 0);
  clock.advance(6 * 3600);
  assert.is(await cache.rotateDue(), 1);
  assert.equal(notified, ['foo/sleep', 'bar/httpbin']);
  assert.is(stub.calls, 4);
});

test('concurrent requests for one identity share a single issue', async () => {
  const clock = new ManualClock();
  const stub = stubIssuer(clock);
  const cache = new WorkloadCertificateCache(stub, { now: clock.now, autoRotate: false });
  const results = await Promise.all(Array.from({ length: 10 }, () => cache.get(identity('foo', 'sleep'))));
  assert.is(stub.calls, 1);
  assert.ok(results.every((r) => r.ok && r.certificate === (results[0] as Extract<IssueResult, { ok: true }>).certificate));
});

test('a failed renewal keeps the still-valid certificate and retries later; a failed first issue is returned', async () => {
  const clock = new ManualClock();
  const stub = stubIssuer(clock);
  const cache = new WorkloadCertificateCache(stub, { now: clock.now, random: () => 0.5, autoRotate: false });
  const first = await cache.get(identity('foo', 'sleep'));
  stub.failing = true;
  clock.advance(13 * 3600);
  const kept = await cache.get(identity('foo', 'sleep'));
  assert.ok(first.ok && kept.ok && kept.certificate === first.certificate);
  assert.is(await cache.rotateDue(), 0, 'not retried before the back-off');
  stub.failing = false;
  clock.advance(31);
  assert.is(await cache.rotateDue(), 1);
  stub.failing = true;
  const other = await cache.get(identity('bar', 'httpbin'));
  assert.ok(!other.ok && other.code === 'signer-not-valid');
  assert.is(cache.current(identity('bar', 'httpbin')), undefined);
});

test('current() hands out a due certificate while renewing it in the background', async () => {
  const clock = new ManualClock();
  const stub = stubIssuer(clock);
  const cache = new WorkloadCertificateCache(stub, { now: clock.now, random: () => 0.5, autoRotate: false });
  const rotated = new Promise<CertificateRotation>((resolve) => cache.onRotated(resolve));
  const first = await cache.get(identity('foo', 'sleep'));
  clock.advance(13 * 3600);
  assert.ok(first.ok && cache.current(identity('foo', 'sleep')) === first.certificate);
  const rotation = await rotated;
  assert.is(cache.current(identity('foo', 'sleep')), rotation.certificate);
  clock.advance(2 * DAY);
  assert.is(cache.current(identity('foo', 'sleep')), undefined, 'an expired certificate is never handed out');
});

test('unsubscribe and forget stop notifications and renewals', async () => {
  const clock = new ManualClock();
  const stub = stubIssuer(clock);
  const cache = new WorkloadCertificateCache(stub, { now: clock.now, random: () => 0.5, autoRotate: false });
  let count = 0;
  const unsubscribe = cache.onRotated(() => (count += 1));
  await cache.get(identity('foo', 'sleep'));
  await cache.get(identity('bar', 'httpbin'));
  unsubscribe();
  cache.forget(identity('bar', 'httpbin'));
  clock.advance(13 * 3600);
  assert.is(await cache.rotateDue(), 1);
  assert.is(count, 0);
});

test('the unref timer renews on its own (real clock, 2 s certificates)', async () => {
  const ca = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN });
  const cache = new WorkloadCertificateCache(ca, { ttlSeconds: 2 });
  const started = Date.now();
  let timeout: NodeJS.Timeout | undefined;
  const rotated = new Promise<CertificateRotation>((resolve, reject) => {
    cache.onRotated(resolve);
    timeout = setTimeout(() => reject(new Error('no rotation within 5 s')), 5000);
  });
  const first = await cache.get(identity('foo', 'sleep'));
  const rotation = await rotated;
  clearTimeout(timeout);
  cache.close();
  assert.ok(first.ok && rotation.previous === first.certificate);
  const lifetime = first.ok ? first.certificate.notAfter.getTime() - started : 0;
  assert.ok(Date.now() - started < lifetime, 'renewed before the first certificate expired');
});

test.run();
