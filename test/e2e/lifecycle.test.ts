// runner: long
// meshlite's lifecycle with real Envoys: certificate rotation under traffic,
// a control-plane restart under traffic, refused ADS streams, and secrets
// that never reach the wrong proxy.
import { createHash, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { xfccOf } from '../support/e2e/client.js';
import { prepareConfigDir } from '../support/e2e/config-dir.js';
import { adsGrpcService, dynamicConfig, type Envoy, servedCerts, startEnvoy } from '../support/e2e/envoy.js';
import { adminJson, meshliteCli, startMeshlite } from '../support/e2e/meshlite.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { describeFailures, startTraffic } from '../support/e2e/traffic.js';
import { waitForSync } from '../support/e2e/wait-for-sync.js';
import { startWorld, type World } from '../support/e2e/world.js';
import { createMeshliteState } from '../support/meshlite-state.js';

const spiffe = (ns: string, sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

/** The serial of the workload certificate an Envoy serves (the chain entry carrying `uri`). */
async function leafSerial(envoy: Envoy, uri: string): Promise<string> {
  const serials = new Set((await servedCerts(envoy)).chains.filter((c) => c.uris.includes(uri)).map((c) => c.serial));
  assert.is(serials.size, 1, `${envoy.name} serves exactly one certificate for ${uri}: ${[...serials].join(', ')}`);
  return [...serials][0]!;
}

async function caSerials(envoy: Envoy): Promise<string[]> {
  return [...new Set((await servedCerts(envoy)).cas.map((c) => c.serial))].sort();
}

function xfccHash(body: string): string | undefined {
  return /(?:^|;)Hash=([0-9a-f]+)/.exec(xfccOf(body) ?? '')?.[1];
}

/** SHA-256 (hex) of the leaf of the `default` secret an Envoy holds: what XFCC `Hash=` shows for it. */
async function defaultCertHash(envoy: Envoy): Promise<string> {
  const dump = await envoy.getJson<{ configs: Record<string, any>[] }>('/config_dump');
  const secrets = dump.configs.find((c) => String(c['@type']).endsWith('SecretsConfigDump'));
  const secret = (secrets?.dynamic_active_secrets ?? []).find((s: { name: string }) => s.name === 'default');
  const pem = secret?.secret?.tls_certificate?.certificate_chain?.inline_string as string | undefined;
  assert.ok(pem, `${envoy.name} holds the default secret`);
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

/** Polls an Envoy stat until it has `value` (stats move asynchronously). */
async function waitForStat(envoy: Envoy, stat: string, value: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: number | undefined;
  while ((last = await envoy.stat(stat)) !== value) {
    if (Date.now() > deadline) throw new Error(`${envoy.name}: ${stat} is ${last}, expected ${value} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** (d) Each sidecar's Envoy holds exactly its own identity and only the two SDS secrets meshlite names. */
async function assertOwnSecretsOnly(world: World): Promise<void> {
  for (const id of world.sidecarProxies) {
    const w = world.workload(id);
    const envoy = world.envoy(id);
    const { chains } = await servedCerts(envoy);
    assert.ok(chains.length > 0, `${id} serves a certificate`);
    const uris = [...new Set(chains.flatMap((c) => c.uris))].sort();
    assert.equal(uris, [spiffe(w.namespace, w.name)], `${id} holds only its own SPIFFE identity`);
    const dump = await envoy.getJson<{ configs: Record<string, any>[] }>('/config_dump');
    const secrets = dump.configs.find((c) => String(c['@type']).endsWith('SecretsConfigDump'));
    const names = (secrets?.dynamic_active_secrets ?? []).map((s: { name: string }) => s.name).sort();
    assert.equal(names, ['ROOTCA', 'default'], `${id} secrets`);
  }
}

test('(a) certificates rotate under traffic with zero failed requests', async () => {
  await withProcesses('rotation', async (pm) => {
    const world = await startWorld(pm, { certTtl: '10s' });
    const server = world.envoy('httpbin.bar');
    const serverUri = spiffe('bar', 'httpbin');
    const serialBefore = await leafSerial(server, serverUri);
    const client = world.envoy('sleep.foo');
    const clientSerialBefore = await leafSerial(client, spiffe('foo', 'sleep'));
    const clientHashBefore = await defaultCertHash(client);
    const first = await world.call('foo', 'bar', '/headers');
    assert.is(first.code, '200');
    assert.is(xfccHash(first.body), clientHashBefore, 'XFCC Hash= is the SHA-256 of the client certificate');
    const traffic = startTraffic({ calls: [{ label: 'sleep.foo->httpbin.bar', run: () => world.call('foo', 'bar', '/headers') }] });
    // Rotation is due at ~5 s of a 10 s lifetime: traffic runs until both sides serve a new certificate.
    const deadline = Date.now() + 40_000;
    const rotated = async () =>
      (await leafSerial(server, serverUri)) !== serialBefore && (await leafSerial(client, spiffe('foo', 'sleep'))) !== clientSerialBefore;
    while (!(await rotated())) {
      if (Date.now() > deadline) throw new Error('no rotation on both sides within 40 s of a 10 s certificate lifetime');
      await traffic.waitForMore(1);
      await sleep(250);
    }
    // And a little longer, so calls span the new certificates too.
    await traffic.waitForMore(50);
    const records = await traffic.stop();
    const failures = traffic.failures();
    assert.is(failures.length, 0, `${failures.length} of ${records.length} calls failed:\n${describeFailures(failures)}`);
    assert.ok(records.length >= 50, `enough calls were made (${records.length})`);

    const serialAfter = await leafSerial(server, serverUri);
    assert.is.not(serialAfter, serialBefore, 'httpbin.bar serves a new certificate');
    assert.is.not(await leafSerial(client, spiffe('foo', 'sleep')), clientSerialBefore, 'sleep.foo has a new certificate');
    const clientHashAfter = await defaultCertHash(client);
    assert.is.not(clientHashAfter, clientHashBefore);
    const hashes = new Set(records.map((r) => xfccHash(r.result.body)));
    assert.not.ok(hashes.has(undefined), 'every call carried an XFCC Hash');

    // sleep.foo's Envoy keeps its pooled upstream connection (and the client
    // certificate it was opened with); new connections present the new one.
    // Concurrent calls make the HTTP/1.1 pool open new connections.
    for (let burst = 0; burst < 5 && !hashes.has(clientHashAfter); burst++) {
      const results = await Promise.all(Array.from({ length: 6 }, () => world.call('foo', 'bar', '/headers')));
      for (const r of results) {
        assert.is(r.code, '200', `burst call: ${r.code} ${r.error ?? ''}`);
        hashes.add(xfccHash(r.body));
      }
    }
    assert.ok(
      hashes.has(clientHashAfter),
      `httpbin.bar saw the new client certificate (XFCC hashes: ${[...hashes].join(', ')}; new ${clientHashAfter})`,
    );
    await assertOwnSecretsOnly(world);
  });
});

test('(b) meshlite restart: traffic flows during the outage, Envoys reconnect to identical config and the same CA', async () => {
  await withProcesses('restart', async (pm) => {
    const world = await startWorld(pm);
    const envoys = world.sidecarProxies.map((id) => world.envoy(id));
    const configBefore = await Promise.all(envoys.map(dynamicConfig));
    const caBefore = await Promise.all(envoys.map(caSerials));
    const rootBefore = (await adminJson(world.meshlite.adminUrl, '/debug/ca')).rootFingerprintSha256 as string;
    assert.ok(rootBefore, 'meshlite reports its root fingerprint');
    for (const c of configBefore) assert.ok(c.listeners.length > 0 && c.clusters.length > 0, 'Envoys hold dynamic config');

    const traffic = startTraffic({
      calls: [
        { label: 'foo->bar', run: () => world.call('foo', 'bar') },
        { label: 'bar->foo', run: () => world.call('bar', 'foo') },
        { label: 'legacy->foo', run: () => world.call('legacy', 'foo') },
        { label: 'foo->legacy', run: () => world.call('foo', 'legacy') },
      ],
    });
    await traffic.waitForMore(10);
    await world.meshlite.stop();
    assert.equal(world.meshlite.process.exit, { code: 0, signal: null }, 'meshlite exits cleanly on SIGTERM');
    await Promise.all(envoys.map((e) => waitForStat(e, 'control_plane.connected_state', 0)));
    const outageStart = traffic.records.length;
    await traffic.waitForMore(100); // calls while no control plane runs
    const outageCalls = traffic.records.length - outageStart;

    await world.meshlite.restart();
    await world.synced();
    await Promise.all(envoys.map((e) => waitForStat(e, 'control_plane.connected_state', 1)));
    await traffic.waitForMore(10);
    const records = await traffic.stop();
    const failures = traffic.failures();
    assert.is(
      failures.length,
      0,
      `${failures.length} of ${records.length} calls failed (${outageCalls} during the outage):\n${describeFailures(failures)}`,
    );

    const configAfter = await Promise.all(envoys.map(dynamicConfig));
    envoys.forEach((e, i) => assert.equal(configAfter[i], configBefore[i], `${e.name}: dynamic clusters, listeners and routes unchanged`));
    const caAfter = await Promise.all(envoys.map(caSerials));
    assert.equal(caAfter, caBefore, 'Envoys trust the same CA root');
    assert.is((await adminJson(world.meshlite.adminUrl, '/debug/ca')).rootFingerprintSha256, rootBefore, 'meshlite kept its root');
  });
});

test('(c) ADS streams without a valid token for the workload are refused and get no config', async () => {
  await withProcesses('refused', async (pm) => {
    const cfg = await prepareConfigDir(pm.dir);
    const stateDir = join(pm.dir, 'state');
    const otherStateDir = join(pm.dir, 'other-state');
    await createMeshliteState(otherStateDir); // another meshlite's state: its token is foreign here
    const meshlite = await startMeshlite(pm, { configDir: cfg.dir, stateDir });
    const base = { configDir: cfg.dir, stateDir, adsAddress: meshlite.adsAddress };
    const foreignToken = (await meshliteCli(['token', '-c', cfg.dir, '--proxy', 'sleep.foo', '--state-dir', otherStateDir])).trim();
    const otherWorkloadToken = (await meshliteCli(['token', '-c', cfg.dir, '--proxy', 'httpbin.bar', '--state-dir', stateDir])).trim();
    const withToken = (token: string) => (b: Record<string, any>) => {
      adsGrpcService(b).initial_metadata = [{ key: 'authorization', value: `Bearer ${token}` }];
    };
    const cases = [
      {
        name: 'no-token',
        edit: (b: Record<string, any>) => void delete adsGrpcService(b).initial_metadata,
        reason: /"reason":"no bearer token/g,
      },
      { name: 'foreign-token', edit: withToken(foreignToken), reason: /"reason":"invalid token: [^"]+/g },
      {
        name: 'other-workload-token',
        edit: withToken(otherWorkloadToken),
        reason: /"reason":"node \\"sleep\.foo\\" claims workload \\"sleep\.foo\\" but the token is for \\"httpbin\.bar\\""/g,
      },
    ];
    const refused = await Promise.all(cases.map((c) => startEnvoy(pm, 'sleep.foo', { ...base, name: c.name, edit: c.edit })));
    // A control: the same proxy with its own bootstrap is served.
    const good = await startEnvoy(pm, 'sleep.foo', base);
    await waitForSync(meshlite.adminUrl, { proxies: ['sleep.foo'] });

    // Each refusal is logged with its reason, and the retry is refused again.
    const deadline = Date.now() + 30_000;
    for (const c of cases) {
      while ((meshlite.logs().match(c.reason) ?? []).length < 2) {
        if (Date.now() > deadline) assert.unreachable(`meshlite never logged ${c.reason} twice (${c.name})\n${meshlite.process.tail(10)}`);
        await sleep(100);
      }
    }
    assert.match(meshlite.logs(), /"msg":"ADS stream refused"/);
    for (const envoy of refused) {
      const config = await dynamicConfig(envoy);
      assert.is(config.listeners.length, 0, `${envoy.name} has no dynamic listeners`);
      assert.is(config.clusters.length, 0, `${envoy.name} has no dynamic clusters`);
      // connected_state is 1 only for the few ms a retried stream lives before its refusal.
      await waitForStat(envoy, 'control_plane.connected_state', 0, 5000);
      const certs = await servedCerts(envoy);
      assert.is(certs.chains.length, 0, `${envoy.name} got no certificate`);
    }
    const connected = await adminJson<{ proxy: string }[]>(meshlite.adminUrl, '/debug/syncz');
    assert.equal(
      connected.map((p) => p.proxy),
      ['sleep.foo'],
      'only the good Envoy is connected',
    );
    assert.ok((await dynamicConfig(good)).listeners.length > 0, 'the control Envoy got its listeners');
  });
});

test("(d) an Envoy never receives another workload's secret", async () => {
  await withProcesses('secrets', async (pm) => {
    const world = await startWorld(pm);
    await assertOwnSecretsOnly(world);
    const sleepFoo = await servedCerts(world.envoy('sleep.foo'));
    assert.equal([...new Set(sleepFoo.chains.flatMap((c) => c.uris))], [spiffe('foo', 'sleep')]);
  });
});

test.run();
