// runner: long
// Every sidecar run by `meshlite agent`: the S1 -> S2 -> S3 matrices as with
// direct Envoys, while each workload key is made on its node (meshlite's
// config_dump holds none, its metrics show it made none) and each Envoy's
// bootstrap holds neither a token nor CA material. Then what the agent is for
// beyond keys: a killed Envoy is restarted, a 30 s control-plane outage goes
// unnoticed by traffic, and SIGTERM stops agent and Envoy together.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentProxy } from '../support/e2e/agent.js';
import { expectedMatrix, type Matrix, matrixDiff, NAMESPACES, xfccOf } from '../support/e2e/client.js';
import { exampleFile, removeConfigFile, writeConfigFile } from '../support/e2e/config-dir.js';
import { assertDiffMatches } from '../support/e2e/diff-check.js';
import { servedCerts } from '../support/e2e/envoy.js';
import { adminText } from '../support/e2e/meshlite.js';
import { assertMatrixPredicted } from '../support/e2e/predicted-matrix.js';
import { processAlive, withProcesses } from '../support/e2e/process-manager.js';
import { describeFailures, startTraffic } from '../support/e2e/traffic.js';
import { startWorld, type World } from '../support/e2e/world.js';
import { until } from '../support/poll.js';

const S1 = expectedMatrix();
const S2 = expectedMatrix({ 'legacy->foo': '000', 'legacy->bar': '000' });
const S3_STRICT = expectedMatrix({ 'legacy->bar': '000' });

const agentOf = (world: World, id: string) => world.envoy(id) as AgentProxy;

async function assertMatrix(world: World, expected: Matrix, step: string): Promise<void> {
  const actual = await world.matrix();
  assert.equal(actual, expected, `${step}: ${matrixDiff(actual, expected)}`);
  assertMatrixPredicted(world.cfg.dir, actual, step);
  await assertDiffMatches({ ...world, proxies: world.sidecarProxies }, step, true);
}

test('S1 -> S2 -> S3 with every sidecar under meshlite agent; no workload key is made or held by meshlite', async () => {
  await withProcesses('agent-mesh', async (pm) => {
    const world = await startWorld(pm, { agents: {} });
    await assertMatrix(world, S1, 'S1');
    for (const from of ['foo', 'bar'] as const) {
      for (const to of ['foo', 'bar'] as const) {
        const xfcc = xfccOf((await world.call(from, to, '/headers')).body);
        assert.ok(xfcc?.includes(`URI=spiffe://cluster.local/ns/${from}/sa/sleep`), `S1 ${from}->${to} XFCC: ${xfcc}`);
        assert.ok(xfcc?.includes(`By=spiffe://cluster.local/ns/${to}/sa/httpbin`), `S1 ${from}->${to} XFCC By: ${xfcc}`);
      }
    }

    for (const id of world.sidecarProxies) {
      const agent = agentOf(world, id);
      const bootstrap = readFileSync(join(agent.workDir, 'envoy-bootstrap.json'), 'utf8');
      for (const secretish of ['BEGIN CERTIFICATE', 'PRIVATE KEY', 'authorization', 'Bearer'])
        assert.not.ok(bootstrap.includes(secretish), `${id}: the agent's Envoy bootstrap holds no "${secretish}"`);
      const dump = await adminText(world.meshlite.adminUrl, `/debug/config_dump?proxy=${id}`);
      assert.not.match(dump, /PRIVATE KEY/, `${id}: meshlite holds no key for it`);
      assert.not.match(dump, /"tls_certificate":/, `${id}: meshlite holds no certificate secret for it`);
      const status = await agent.status();
      const [ns, name] = [id.split('.')[1], id.split('.')[0]];
      assert.is(status.certificate.spiffeId, `spiffe://cluster.local/ns/${ns}/sa/${name}`);
      const served = await servedCerts(agent);
      assert.ok(
        served.chains.some((c) => normalize(c.serial) === normalize(status.certificate.serialNumber)),
        `${id}: Envoy serves the agent's certificate ${status.certificate.serialNumber}: ${JSON.stringify(served.chains)}`,
      );
    }
    const metrics = await adminText(world.meshlite.adminUrl, '/metrics');
    assert.not.match(metrics, /meshlite_workload_keys_generated_total\{/, 'meshlite made no workload key');
    const signed = /meshlite_ca_certificates_signed_total\{auth="token"\} (\d+)/.exec(metrics);
    assert.ok(Number(signed?.[1]) >= world.sidecarProxies.length, `every agent got its certificate by CSR: ${signed?.[0]}`);

    await world.edit(() =>
      writeConfigFile(world.cfg, 'mesh-peer-authentication.yaml', exampleFile('s2-mesh-strict/peer-authentication.yaml')),
    );
    await assertMatrix(world, S2, 'S2 mesh STRICT');
    await world.edit(() => removeConfigFile(world.cfg, 'mesh-peer-authentication.yaml'));
    await world.edit(() =>
      writeConfigFile(world.cfg, 'peer-authentication.yaml', exampleFile('s3-workload-strict/peer-authentication.yaml')),
    );
    await assertMatrix(world, S3_STRICT, 'S3 workload STRICT');
  });
});

test('the agent restarts a killed Envoy, traffic rides out a 30 s control-plane outage, SIGTERM stops agent and Envoy', async () => {
  await withProcesses('agent-resilience', async (pm) => {
    const world = await startWorld(pm, { agents: {} });
    const sleepFoo = agentOf(world, 'sleep.foo');

    const before = await sleepFoo.status();
    process.kill(before.envoy.pid, 'SIGKILL');
    const after = await until('a new Envoy under the agent', async () => {
      const s = await sleepFoo.status();
      return s.envoy.pid !== before.envoy.pid && s.envoy.restarts === 1 && (await sleepFoo.readiness()) === 200 ? s : undefined;
    });
    assert.ok(sleepFoo.agent.running, 'the agent itself keeps running');
    await world.synced();
    await until('sleep.foo calls again', async () => ((await world.call('foo', 'bar')).code === '200' ? true : undefined));
    assert.is.not(after.envoy.pid, before.envoy.pid);

    const traffic = startTraffic({
      calls: NAMESPACES.filter((n) => n !== 'legacy').flatMap((from) =>
        (['foo', 'bar'] as const).map((to) => ({ label: `${from}->${to}`, run: () => world.call(from, to) })),
      ),
    });
    await traffic.waitForMore(10);
    await world.meshlite.stop();
    await until('every agent sees meshlite gone', async () => {
      const all = await Promise.all(world.sidecarProxies.map((id) => agentOf(world, id).status()));
      return all.every((s) => !s.upstream.upstreamConnected) ? true : undefined;
    });
    const outageEnds = Date.now() + 30_000;
    while (Date.now() < outageEnds) await traffic.waitForMore(1);
    for (const id of world.sidecarProxies)
      assert.is(await agentOf(world, id).readiness(), 200, `${id}: still ready without meshlite (certificate valid, Envoy live)`);
    await world.meshlite.restart();
    await world.synced();
    await until('every agent reconnected', async () => {
      const all = await Promise.all(world.sidecarProxies.map((id) => agentOf(world, id).status()));
      return all.every((s) => s.upstream.upstreamConnected) ? true : undefined;
    });
    await traffic.waitForMore(10);
    const records = await traffic.stop();
    const failures = traffic.failures();
    assert.is(failures.length, 0, `${failures.length} of ${records.length} calls failed:\n${describeFailures(failures)}`);

    const httpbinBar = agentOf(world, 'httpbin.bar');
    const envoyPid = (await httpbinBar.status()).envoy.pid as number;
    await httpbinBar.agent.stop();
    assert.equal(httpbinBar.agent.exit, { code: 0, signal: null }, 'the agent exits 0 on SIGTERM');
    assert.not.ok(processAlive(envoyPid), 'its Envoy is gone too');
  });
});

function normalize(serial: string): string {
  return serial.toLowerCase().replace(/^0+/, '');
}

test.run();
