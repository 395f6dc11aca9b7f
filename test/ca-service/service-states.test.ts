// CreateCertificate while meshlite cannot sign: before any valid config is
// loaded (UNAVAILABLE, until one is), and under --insecure (UNIMPLEMENTED).
// Plus the rate limiter and the lifetime rule on their own.
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { grantedTtl } from '../../src/ca-service/certificate-service.js';
import { KeyedRateLimiter } from '../../src/ca-service/rate-limit.js';
import { csrFor, p256 } from '../support/csr.js';
import { eventually } from '../server/xds-client.js';
import { type CallResult, caClient, createCertificate, IstioCertificateService, startTestMeshlite, WORKLOADS } from './ca-client.js';

const csr = csrFor(p256());
const describe = (r: CallResult | undefined) => (r === undefined ? 'no call' : r.ok ? 'signed' : `${r.code}: ${r.details}`);

test('started on an invalid config: UNAVAILABLE; once the files are fixed, certificates are signed', async () => {
  const t = await startTestMeshlite({}, 'kind: [unclosed\n');
  const client = caClient(t.m);
  try {
    const token = await t.m.tokens!.issue('sleep.foo');
    const early = await createCertificate(client, { csr, token });
    assert.ok(!early.ok && early.code === 'UNAVAILABLE' && /no valid config/.test(early.details), describe(early));
    t.writeConfig(WORKLOADS);
    await eventually('the fixed config is served', () => t.m.controlPlane.currentModel !== undefined, 10_000);
    const later = await createCertificate(client, { csr, token });
    assert.ok(later.ok, describe(later));
  } finally {
    client.close();
    await t.stop();
  }
});

test('--insecure: UNIMPLEMENTED, saying why', async () => {
  const t = await startTestMeshlite({ insecure: true });
  const client = new IstioCertificateService(`127.0.0.1:${t.m.adsPort}`, grpc.credentials.createInsecure());
  try {
    const r = await createCertificate(client, { csr });
    assert.ok(!r.ok && r.code === 'UNIMPLEMENTED' && /--insecure signs no certificates/.test(r.details), describe(r));
  } finally {
    client.close();
    await t.stop();
  }
});

test('rate limiter: a burst, then the refill rate, per key; the wait is reported', () => {
  let now = 0;
  const limiter = new KeyedRateLimiter({ burst: 3, perMillis: 3000 }, () => now);
  assert.equal([limiter.take('a'), limiter.take('a'), limiter.take('a')], [0, 0, 0]);
  assert.is(limiter.take('a'), 1000);
  assert.is(limiter.take('b'), 0, 'another key has its own bucket');
  now += 500;
  assert.is(limiter.take('a'), 500);
  now += 500;
  assert.is(limiter.take('a'), 0);
  now += 60_000;
  assert.equal(
    [limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('a')],
    [0, 0, 0, 1000],
    'refills to the burst, no more',
  );
  assert.throws(() => new KeyedRateLimiter({ burst: 0, perMillis: 1000 }));
});

test('granted lifetime: 0 is the cap, longer is capped, negative is refused', () => {
  assert.is(grantedTtl(0n, 3600), 3600);
  assert.is(grantedTtl(60n, 3600), 60);
  assert.is(grantedTtl(3601n, 3600), 3600);
  assert.is(grantedTtl(2n ** 63n - 1n, 3600), 3600);
  assert.match(String(grantedTtl(-1n, 3600)), 'must not be negative');
});

test.run();
