// Measures what the CA costs: prints the figures and fails only on a gross
// regression (the bounds are ~10x what a laptop needs).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { performance } from 'node:perf_hooks';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { identity, removeTempDirs, tempDir, TRUST_DOMAIN } from './ca-fixtures.js';
import { after } from '../support/hooks.js';

after(test, removeTempDirs);

async function meanMs(runs: number, fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up: first use loads and JITs the X.509 code
  const started = performance.now();
  for (let i = 0; i < runs; i++) await fn();
  return (performance.now() - started) / runs;
}

test('root creation (first start on an empty state directory)', async () => {
  const p256 = await meanMs(10, () => CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN }));
  const rsa = await meanMs(5, () =>
    CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN, rootKeyAlgorithm: 'rsa-2048' }),
  );
  const stateDir = tempDir();
  await CertificateAuthority.loadOrCreate({ stateDir, trustDomain: TRUST_DOMAIN });
  const reload = await meanMs(10, () => CertificateAuthority.loadOrCreate({ stateDir, trustDomain: TRUST_DOMAIN }));
  console.log(
    `  root creation: P-256 ${p256.toFixed(1)} ms, RSA-2048 ${rsa.toFixed(1)} ms; reload of a persisted root ${reload.toFixed(1)} ms`,
  );
  assert.ok(p256 < 500 && reload < 500);
});

test('workload certificate issue (server-side P-256 key), mean over 200', async () => {
  const ca = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN });
  let n = 0;
  const mean = await meanMs(200, async () => {
    const result = await ca.issueWorkloadCertificate(identity('ns', `sa-${n++}`));
    if (!result.ok) throw new Error(result.error);
  });
  console.log(`  issueWorkloadCertificate: ${mean.toFixed(2)} ms mean over 200 (${(1000 / mean).toFixed(0)}/s)`);
  assert.ok(mean < 100);
});

test.run();
