// A real Envoy whose only control plane is the relay: its bootstrap points ADS
// at the relay's Unix socket (a static cluster with a pipe address, HTTP/2),
// and the relay reaches an in-process meshlite over TLS with a proxy token.
// Envoy must end up with meshlite's listeners and clusters (none left
// warming), the CA-file secret from meshlite, and its workload certificate
// from the agent's LocalSecrets, replaced when that material changes; and
// keep all of it, still connected to the agent, while meshlite restarts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type AdsRelay, startAdsRelay } from '../../src/agent/ads-relay.js';
import { configDumpSections, dynamicConfig, servedCerts, startEnvoyFromFile } from '../support/e2e/envoy.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { Inbox, meshliteStream, until } from './relay-client.js';
import { FakeLocalSecrets, fileRootSecret, memoryLogger, PROXY, TestMeshlite, workloadCertificate } from './relay-fixture.js';

const address = (n: number) => loopbackAddress('agent/ads-relay-envoy.test.ts', n);

function bootstrap(socketPath: string): object {
  return {
    node: { id: PROXY, cluster: PROXY },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: 'agent-ads' } }],
      },
      cds_config: { ads: {}, resource_api_version: 'V3' },
      lds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      clusters: [
        {
          name: 'agent-ads',
          type: 'STATIC',
          connect_timeout: '1s',
          load_assignment: {
            cluster_name: 'agent-ads',
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: socketPath } } } }] }],
          },
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
        },
      ],
    },
  };
}

const serial = (s: string) => s.toLowerCase().replace(/^0+/, '');

test("Envoy through the relay: meshlite's listeners, clusters and CA-file secret; its workload certificate from the agent", () =>
  withProcesses('agent-relay', async (pm) => {
    const t = await TestMeshlite.start(address);
    const secrets = new FakeLocalSecrets();
    let relay: AdsRelay | undefined;
    try {
      const held = await workloadCertificate(t.m);
      secrets.set(held, held.rootPem);
      const socketPath = join(pm.dir, 'agent-ads.sock');
      relay = await startAdsRelay({
        socketPath,
        upstream: await t.connector(),
        secrets,
        onTrustBundle: () => {},
        node: { id: PROXY, cluster: PROXY, metadata: {} },
        logger: memoryLogger(),
        retry: { initialMs: 100, maxMs: 1000 },
      });
      const file = join(pm.dir, 'envoy.json');
      writeFileSync(file, JSON.stringify(bootstrap(socketPath)));
      const envoy = await startEnvoyFromFile(pm, 'sleep', file);

      // What meshlite serves sleep.foo, asked directly.
      const direct = await meshliteStream(t, PROXY);
      const box = new Inbox(direct.sotw);
      direct.sotw.request('clusters', { node: { id: PROXY } });
      direct.sotw.request('listeners');
      const [clusters, listeners] = [(await box.take('clusters')).names, (await box.take('listeners')).names];
      direct.close();
      assert.ok(clusters.length > 1 && listeners.length > 0);

      let config: Record<string, any> = {};
      await until(
        "Envoy has meshlite's clusters and listeners, none warming",
        async () => {
          config = await dynamicConfig(envoy);
          const active = config.listeners.filter((l: any) => l.active && !l.warming).map((l: any) => l.name);
          return (
            JSON.stringify(config.clusters.map((c: any) => c.name).sort()) === JSON.stringify(clusters) &&
            JSON.stringify(active.sort()) === JSON.stringify(listeners) &&
            config.warmingClusters.length === 0
          );
        },
        30_000,
      );
      assert.is(await envoy.stat('control_plane.connected_state'), 1);

      const certs = await servedCerts(envoy);
      assert.equal(
        certs.chains.map((c) => serial(c.serial)),
        [serial(held.serialNumber)],
        'the only chain Envoy serves is the agent’s',
      );
      const secretsDump = (await configDumpSections(envoy)).SecretsConfigDump;
      const dynamic = Object.fromEntries(
        (secretsDump?.dynamic_active_secrets ?? []).map((s: any) => [s.name, String(s.version_info)]),
      ) as Record<string, string>;
      assert.match(dynamic.default ?? '', /^agent-/, 'default answered by the agent');
      assert.match(dynamic.ROOTCA ?? '', /^agent-/, 'ROOTCA answered by the agent');
      const caSecret = fileRootSecret(t.caFile);
      assert.ok(dynamic[caSecret] !== undefined && !dynamic[caSecret]!.startsWith('agent-'), `${caSecret} came from meshlite`);

      const renewed = await workloadCertificate(t.m);
      secrets.set(renewed, renewed.rootPem);
      await until(
        'Envoy serves the renewed certificate',
        async () =>
          JSON.stringify((await servedCerts(envoy)).chains.map((c) => serial(c.serial))) === JSON.stringify([serial(renewed.serialNumber)]),
        15_000,
      );

      // meshlite away: Envoy's stream to the agent stays up and Envoy keeps its config; back: nothing rejected.
      await t.stop();
      await until('the relay lost meshlite', () => !relay!.status().upstreamConnected);
      assert.ok(relay.status().envoyConnected);
      assert.is(await envoy.stat('control_plane.connected_state'), 1);
      assert.equal((await dynamicConfig(envoy)).clusters, config.clusters);
      const updatesBefore = (await envoy.stat('cluster_manager.cds.update_attempt')) ?? 0;
      await t.restart();
      // The relay replays Envoy's requests with the versions it holds; meshlite, holding the same, has nothing to send.
      await until(
        'meshlite has Envoy again, synced',
        async () => {
          if (!relay!.status().upstreamConnected) return false;
          const syncz = (await (await fetch(`http://127.0.0.1:${t.m.adminPort}/debug/syncz`)).json()) as {
            proxy: string;
            synced: boolean;
          }[];
          return syncz.some((p) => p.proxy === PROXY && p.synced);
        },
        15_000,
      );
      assert.is((await envoy.stat('cluster_manager.cds.update_attempt')) ?? 0, updatesBefore, 'nothing was sent again');
      for (const stat of ['cluster_manager.cds.update_rejected', 'listener_manager.lds.update_rejected'])
        assert.is(await envoy.stat(stat), 0, stat);
      assert.equal((await dynamicConfig(envoy)).clusters, config.clusters);
    } finally {
      await pm.stopAll();
      await relay?.close();
      await t.remove();
    }
  }));

test.run();
