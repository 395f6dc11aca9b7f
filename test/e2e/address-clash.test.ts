// A live edit that gives sleep.bar's sidecar sleep.foo's outbound address is
// rejected by a running `meshlite serve` with an error naming both workloads;
// the Envoys keep the last good config, so sleep.bar's Envoy never binds
// foo's 127.0.1.2:15001 and every call from foo leaves under foo's identity.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { xfccOf } from '../support/e2e/client.js';
import { writeConfigFile } from '../support/e2e/config-dir.js';
import { dynamicConfig } from '../support/e2e/envoy.js';
import { adminJson, adminText, metricValue } from '../support/e2e/meshlite.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { waitForConfigz } from '../support/e2e/wait-for-sync.js';
import { startWorld } from '../support/e2e/world.js';

const OUTBOUND = 'sidecar.meshlite.io/outboundAddress';

test('an edit that makes two sidecars share an outbound address:port is rejected; the last good config keeps being served', async () => {
  await withProcesses('address-clash', async (pm) => {
    const world = await startWorld(pm);
    const admin = world.meshlite.adminUrl;
    const foo = world.workload('sleep.foo');
    const bar = world.workload('sleep.bar');
    const fooListener = `${foo.outboundAddress}_${foo.outboundPort}`;
    const barListener = `${bar.outboundAddress}_${bar.outboundPort}`;
    const listenersOf = async (id: string) => ((await dynamicConfig(world.envoy(id))).listeners as { name: string }[]).map((l) => l.name);
    assert.ok((await listenersOf('sleep.bar')).includes(barListener), `sleep.bar's Envoy listens on ${barListener}`);

    const file = join(world.cfg.dir, 'workloads.yaml');
    const good = readFileSync(file, 'utf8');
    const clash = good.replace(`${OUTBOUND}: ${bar.outboundAddress}`, `${OUTBOUND}: ${foo.outboundAddress}`);
    assert.ok(clash !== good, 'edit applied');
    const lineOf = (text: string, id: string) => {
      const [name, ns] = id.split('.');
      const lines = text.split('\n');
      const at = lines.findIndex((l, i) => l === `  name: ${name}` && lines[i + 1] === `  namespace: ${ns}`);
      return lines.slice(0, at).lastIndexOf('apiVersion: networking.istio.io/v1') + 1;
    };
    writeConfigFile(world.cfg, 'workloads.yaml', clash);

    const rejected = await waitForConfigz(admin, (s) => s.state === 'rejected', 'state rejected');
    assert.is(rejected.servingGeneration, 1, 'still serving generation 1');
    assert.equal(rejected.errors?.length, 1, JSON.stringify(rejected.errors));
    const error = rejected.errors![0]!;
    assert.match(
      error,
      `workloads.yaml:${lineOf(clash, 'sleep.bar')}:1: metadata.annotations["${OUTBOUND}"]: sidecar sleep.bar's outbound HTTP proxy listener on ${foo.outboundAddress}:15001`,
    );
    assert.match(error, `collides with sidecar sleep.foo's outbound HTTP proxy listener on ${foo.outboundAddress}:15001`);
    assert.match(error, new RegExp(`defined at \\S*workloads\\.yaml:${lineOf(clash, 'sleep.foo')}: Envoy binds with SO_REUSEPORT`));
    assert.is(await metricValue(admin, 'meshlite_config_current_errors'), 1);
    assert.ok(/"ready":true/.test(await adminText(admin, '/ready')), 'still ready: a valid config is being served');

    // What meshlite serves and what the Envoys hold is the last good config.
    const served = await adminJson(admin, '/debug/config_dump?proxy=sleep.bar');
    const servedListeners = JSON.stringify(served);
    assert.ok(
      servedListeners.includes(`"${barListener}"`) && !servedListeners.includes(`"${fooListener}"`),
      `meshlite serves sleep.bar ${barListener}, not ${fooListener}`,
    );
    const held = await listenersOf('sleep.bar');
    assert.ok(held.includes(barListener) && !held.includes(fooListener), `sleep.bar's Envoy holds ${held.join(', ')}`);

    // The clash the check prevents: calls through foo's proxy leaving under bar's identity.
    for (let i = 0; i < 12; i++) {
      const r = await world.call('foo', 'bar', '/headers');
      assert.is(r.code, '200', `call ${i}: ${r.code} ${r.error ?? ''}`);
      assert.match(xfccOf(r.body) ?? '', 'URI=spiffe://cluster.local/ns/foo/sa/sleep', `call ${i} carried sleep.foo's identity`);
    }

    // Putting the address back is accepted and applied.
    const next = await world.edit(() => writeConfigFile(world.cfg, 'workloads.yaml', good));
    assert.is(next, 2);
    assert.is(await metricValue(admin, 'meshlite_config_current_errors'), 0);
  });
});

test.run();
