// /debug/syncz's verdict per proxy: an Envoy (wildcard listeners) is synced
// only once it accepted every type meshlite has something for; a gRPC app
// (listeners by name) is synced once it accepted every type it asked for,
// since it never asks for types it does not use.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { proxySync } from '../../src/admin/sync-status.js';
import { SnapshotCache } from '../../src/cache/snapshot-cache.js';
import type { ProxySnapshot } from '../../src/cache/snapshot.js';
import type { ConnectionInfo } from '../../src/server/ads-server.js';
import type { TypeStatus } from '../../src/server/stream-status.js';
import { RESOURCE_TYPES, type ResourceType, TYPE_URL_OF } from '../../src/xds/type-urls.js';

const PROXY = 'greeter-1.bar';

/** A snapshot with one resource of every type, each type at version `v-<type>`. */
function snapshot(): ProxySnapshot {
  const entries = RESOURCE_TYPES.map((type) => {
    const resources = new Map([[`r-${type}`, { name: `r-${type}`, version: '1', value: new Uint8Array(), json: {} }]]);
    return [type, { typeUrl: TYPE_URL_OF[type], version: `v-${type}`, resources }];
  });
  return Object.fromEntries(entries) as unknown as ProxySnapshot;
}

/** A stream that subscribed to `types` (listeners as given) and ACKed each at the snapshot's version. */
function connection(types: readonly ResourceType[], listeners: string[] | '*', nacked?: ResourceType): ConnectionInfo {
  const status = (type: ResourceType): TypeStatus => ({
    type,
    subscribed: type === 'listeners' ? listeners : [`r-${type}`],
    sentVersion: `v-${type}`,
    ackedVersion: type === nacked ? 'old' : `v-${type}`,
    ...(type === nacked ? { nacked: { version: `v-${type}`, nonce: '1', message: 'no' } } : {}),
    sentCount: 1,
    reconciledVersion: `v-${type}`,
  });
  return {
    streamId: 1,
    proxyId: PROXY,
    protocol: 'sotw',
    node: { id: PROXY, cluster: PROXY, metadata: {}, userAgent: '' },
    peer: '127.0.0.1:1',
    connectedAt: 0,
    status: () => types.map(status),
  };
}

function verdict(c: ConnectionInfo) {
  const cache = new SnapshotCache();
  cache.set(PROXY, snapshot());
  return proxySync(PROXY, [c], cache);
}

test('a gRPC server that asked for its listener only (by name) and accepted it is synced; the rest shows NOT SUBSCRIBED', () => {
  const s = verdict(connection(['listeners'], ['grpc/server?xds.resource.listening_address=127.0.0.1:50051']));
  assert.ok(s.synced);
  assert.equal(
    s.types.map((t) => [t.type, t.state]),
    [
      ['clusters', 'NOT SUBSCRIBED'],
      ['endpoints', 'NOT SUBSCRIBED'],
      ['listeners', 'SYNCED'],
      ['routes', 'NOT SUBSCRIBED'],
      ['secrets', 'NOT SUBSCRIBED'],
    ],
  );
});

test('an Envoy (wildcard listeners) that has not asked for every type yet is not synced', () => {
  assert.not.ok(verdict(connection(['listeners', 'clusters'], '*')).synced);
  assert.ok(verdict(connection(RESOURCE_TYPES, '*')).synced);
});

test('a gRPC app with a NACKed type is not synced', () => {
  assert.not.ok(verdict(connection(['listeners', 'clusters'], ['greeter.bar:50051'], 'clusters')).synced);
});

test.run();
