// Agents rotating 20 s certificates under traffic between two namespaces:
// every agent renews several times, from the second renewal on after its
// token has expired (renewal is authenticated by the certificate itself), each
// new certificate reaches its Envoy over SDS and meshlite's ADS stream moves to
// it, and not one call fails.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentProxy } from '../support/e2e/agent.js';
import { servedCerts } from '../support/e2e/envoy.js';
import { adminJson, metricValue } from '../support/e2e/meshlite.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { describeFailures, startTraffic } from '../support/e2e/traffic.js';
import { startWorld } from '../support/e2e/world.js';

const TOKEN_TTL_S = 8;

test("20 s certificates renewed by the agents under traffic, past their tokens' expiry: zero failed calls", async () => {
  await withProcesses('agent-rotation', async (pm) => {
    const startedAt = Date.now();
    const world = await startWorld(pm, { agents: { agentArgs: ['--cert-ttl', '20s'], tokenTtl: `${TOKEN_TTL_S}s` } });
    const agents = world.sidecarProxies.map((id) => world.envoy(id) as AgentProxy);
    const serials = new Map<string, Set<string>>(agents.map((a) => [a.name, new Set<string>()]));
    const record = async () => {
      for (const a of agents) serials.get(a.name)!.add((await a.status()).certificate.serialNumber);
    };
    await record();
    const traffic = startTraffic({
      calls: [
        { label: 'foo->bar', run: () => world.call('foo', 'bar') },
        { label: 'bar->foo', run: () => world.call('bar', 'foo') },
        { label: 'foo->foo', run: () => world.call('foo', 'foo') },
      ],
    });
    const deadline = Date.now() + 75_000;
    // Three certificates each: the third is asked for at least 20 s in, long after the tokens expired.
    while ([...serials.values()].some((s) => s.size < 3)) {
      if (Date.now() > deadline)
        throw new Error(`not every agent renewed twice: ${JSON.stringify([...serials].map(([k, v]) => [k, v.size]))}`);
      await traffic.waitForMore(5);
      await record();
    }
    assert.ok(Date.now() - startedAt > TOKEN_TTL_S * 1000, 'the tokens have expired');
    await traffic.waitForMore(10);
    const records = await traffic.stop();
    const failures = traffic.failures();
    assert.is(failures.length, 0, `${failures.length} of ${records.length} calls failed:\n${describeFailures(failures)}`);

    const byCertificate = await metricValue(world.meshlite.adminUrl, 'meshlite_ca_certificates_signed_total{auth="certificate"}');
    assert.ok((byCertificate ?? 0) >= 2 * agents.length, `renewals authenticated by certificate: ${byCertificate}`);
    for (const a of agents) {
      const now = (await a.status()).certificate.serialNumber as string;
      const served = await servedCerts(a);
      assert.ok(
        served.chains.some((c) => c.serial.toLowerCase().replace(/^0+/, '') === now.toLowerCase().replace(/^0+/, '')),
        `${a.name}: Envoy serves the agent's current certificate`,
      );
      const adsz = (await adminJson<any[]>(world.meshlite.adminUrl, '/debug/adsz')).find((c) => c.proxy === a.name);
      assert.ok(adsz?.certificate?.serialNumber, `${a.name}: meshlite sees its ADS stream authenticated by a certificate`);
      assert.is(adsz.token, null, `${a.name}: no token on its ADS stream`);
    }
  });
});

test.run();
