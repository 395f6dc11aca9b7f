import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SnapshotCache } from '../../src/cache/snapshot-cache.js';
import { AdsServer } from '../../src/server/ads-server.js';
import { clientCodec } from '../support/client-codec.js';
import { MESH, PROXY, snapshotOf } from './harness.js';
import { RawStream } from './xds-client.js';

test('repro', async () => {
  const cache = new SnapshotCache();
  cache.set(PROXY, snapshotOf(MESH.a));
  const server = new AdsServer({
    cache,
    authenticator: {
      authenticate: async () => {
        await new Promise((r) => setTimeout(r, Math.random() * 20));
        return { ok: true, proxyId: PROXY } as any;
      },
    },
    logger: { info() {}, warn() {}, debug() {} },
    authTimeoutMs: 3000,
  });
  const port = await server.listen('127.0.0.1:0');
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const req = clientCodec.encodeSotwRequest({
    node: { id: PROXY },
    typeUrl: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
    resourceNames: [],
    versionInfo: '',
    responseNonce: '',
  } as any);
  for (let round = 0; round < 20; round++) {
    const streams: RawStream[] = [];
    for (let i = 0; i < 100; i++) {
      const s = new RawStream(client, 'StreamAggregatedResources');
      s.send(req);
      streams.push(s);
      const delay = Math.random() * 30;
      setTimeout(() => (s as any).call.cancel(), delay);
    }
    const ends = await Promise.all(streams.map((s) => s.endWithin(5000).catch((e) => ({ code: -1, details: String(e) }))));
    const stuck = ends.filter((e) => e.code === -1).length;
    if (stuck) console.log('round', round, 'client streams not ended', stuck);
  }
  const deadline = Date.now() + 3000;
  while (server.listConnections().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  console.log('left open', server.listConnections().length);
  assert.is(server.listConnections().length, 0);
  client.close();
  await server.shutdown(300);
});
test.run();
