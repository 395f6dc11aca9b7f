// runner: long
// S1 -> S2 -> S3 end to end with real Envoys, one world, config edited live
// (no Envoy restart): every step asserts the full 3x3 matrix of curl codes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expectedMatrix, type Matrix, matrixDiff, NAMESPACES, xfccOf } from '../support/e2e/client.js';
import { exampleFile, removeConfigFile, writeConfigFile } from '../support/e2e/config-dir.js';
import { assertDiffMatches as assertDiffsMatch } from '../support/e2e/diff-check.js';
import { metricValue } from '../support/e2e/meshlite.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { assertMatrixPredicted } from '../support/e2e/predicted-matrix.js';
import { waitForConfigz } from '../support/e2e/wait-for-sync.js';
import { startWorld, type World } from '../support/e2e/world.js';

const S1 = expectedMatrix();
const S2 = expectedMatrix({ 'legacy->foo': '000', 'legacy->bar': '000' });
const S3_STRICT = expectedMatrix({ 'legacy->bar': '000' });
const S3_DR_DISABLE = expectedMatrix({ 'foo->bar': '503', 'bar->bar': '503', 'legacy->bar': '000' });
const S3_DR_ISTIO_MUTUAL = expectedMatrix({ 'legacy->bar': '000' });
const S4 = expectedMatrix();

async function assertMatrix(world: World, expected: Matrix, step: string, configOnDiskValid = true): Promise<void> {
  const actual = await world.matrix();
  assert.equal(actual, expected, `${step}: ${matrixDiff(actual, expected)}`);
  // `meshlite matrix` predicts the same from the config alone (when the files on disk are the config served).
  if (configOnDiskValid) assertMatrixPredicted(world.cfg.dir, actual, step);
  await assertDiffMatches(world, step, configOnDiskValid);
}

/** `meshlite diff` against every Envoy: live (meshlite's admin) and offline (the config dir, when valid) must match. */
function assertDiffMatches(world: World, step: string, offline: boolean): Promise<void> {
  return assertDiffsMatch({ ...world, proxies: world.sidecarProxies }, step, offline);
}

test('S1, S2, S3, S4 live (each matrix as meshlite matrix predicts): auto mTLS, mesh STRICT, workload STRICT, port-level DISABLE, DestinationRule DISABLE then ISTIO_MUTUAL, a rejected edit', async () => {
  await withProcesses(
    's1-s3',
    async (pm) => {
      const world = await startWorld(pm);
      const admin = world.meshlite.adminUrl;

      // S1: everything 200; sidecar-to-sidecar is mTLS (XFCC names the caller), legacy is plaintext.
      await assertMatrix(world, S1, 'S1');
      for (const from of NAMESPACES) {
        for (const to of NAMESPACES) {
          const r = await world.call(from, to, '/headers');
          assert.is(r.code, '200', `S1 ${from}->${to}`);
          const xfcc = xfccOf(r.body);
          if (from === 'legacy' || to === 'legacy') {
            assert.is(xfcc, undefined, `S1 ${from}->${to} is plaintext: no XFCC`);
          } else {
            assert.ok(xfcc?.includes(`URI=spiffe://cluster.local/ns/${from}/sa/sleep`), `S1 ${from}->${to} XFCC: ${xfcc}`);
            assert.ok(xfcc?.includes(`By=spiffe://cluster.local/ns/${to}/sa/httpbin`), `S1 ${from}->${to} XFCC By: ${xfcc}`);
          }
        }
      }

      // S2: mesh-wide STRICT.
      await world.edit(() =>
        writeConfigFile(world.cfg, 'mesh-peer-authentication.yaml', exampleFile('s2-mesh-strict/peer-authentication.yaml')),
      );
      await assertMatrix(world, S2, 'S2 mesh STRICT');

      // Back to S1, then S3: STRICT only for httpbin in bar.
      await world.edit(() => removeConfigFile(world.cfg, 'mesh-peer-authentication.yaml'));
      await assertMatrix(world, S1, 'S2 policy removed');
      await world.edit(() =>
        writeConfigFile(world.cfg, 'peer-authentication.yaml', exampleFile('s3-workload-strict/peer-authentication.yaml')),
      );
      await assertMatrix(world, S3_STRICT, 'S3 workload STRICT');

      // S4: the same STRICT policy with mTLS off on target port 80: every call works. (Which TLS a call uses
      // right after the edit depends on pooled connections that predate it, so only the codes are compared.)
      await world.edit(() =>
        writeConfigFile(world.cfg, 'peer-authentication.yaml', exampleFile('s4-port-level-exception/peer-authentication.yaml')),
      );
      await assertMatrix(world, S4, 'S4 port-level DISABLE');
      await world.edit(() =>
        writeConfigFile(world.cfg, 'peer-authentication.yaml', exampleFile('s3-workload-strict/peer-authentication.yaml')),
      );
      await assertMatrix(world, S3_STRICT, 'S3 workload STRICT again');

      // S3 + DestinationRule DISABLE: client sidecars send plaintext to a STRICT server.
      await world.edit(() => writeConfigFile(world.cfg, 'destination-rule.yaml', exampleFile('s3-dr-disable/destination-rule.yaml')));
      await assertMatrix(world, S3_DR_DISABLE, 'S3 DR DISABLE');

      // The same rule set to ISTIO_MUTUAL restores mTLS.
      const good = await world.edit(() =>
        writeConfigFile(world.cfg, 'destination-rule.yaml', exampleFile('s3-dr-istio-mutual/destination-rule.yaml')),
      );
      await assertMatrix(world, S3_DR_ISTIO_MUTUAL, 'S3 DR ISTIO_MUTUAL');

      // A typo'd field is rejected with its file:line; the last good config keeps serving.
      const disable = exampleFile('s3-dr-disable/destination-rule.yaml');
      const typo = disable.replace('mode: DISABLE', 'mdoe: DISABLE');
      assert.ok(typo !== disable, 'typo applied');
      const typoLine = typo.split('\n').findIndex((l) => l.includes('mdoe:')) + 1;
      writeConfigFile(world.cfg, 'destination-rule.yaml', typo);
      const rejected = await waitForConfigz(admin, (s) => s.state === 'rejected', 'state rejected');
      assert.is(rejected.servingGeneration, good, 'still serving the last good generation');
      const errors = rejected.errors ?? [];
      assert.ok(
        errors.some((e) => new RegExp(`destination-rule\\.yaml:${typoLine}:\\d+: .*mdoe`).test(e)),
        `an error at destination-rule.yaml:${typoLine} naming the typo, got ${JSON.stringify(errors)}`,
      );
      const current = await metricValue(admin, 'meshlite_config_current_errors');
      assert.ok(current !== undefined && current > 0, `meshlite_config_current_errors > 0, got ${current}`);
      await world.synced();
      await assertMatrix(world, S3_DR_ISTIO_MUTUAL, 'after the rejected edit, traffic is unchanged', false);

      // Fixing the file applies it (here: the DISABLE rule it meant to be).
      const fixed = await world.edit(() => writeConfigFile(world.cfg, 'destination-rule.yaml', disable));
      assert.is(fixed, good + 1);
      assert.is(await metricValue(admin, 'meshlite_config_current_errors'), 0);
      await assertMatrix(world, S3_DR_DISABLE, 'fixed edit applied');
    },
    240_000,
  );
});

test.run();
