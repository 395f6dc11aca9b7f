// Per proxy and xDS type: what meshlite means (snapshot), what it sent, and
// what the proxy accepted, like `istioctl proxy-status`.
import type { SnapshotCache } from '../cache/snapshot-cache.js';
import type { ConnectionInfo } from '../server/ads-server.js';
import type { TypeStatus } from '../server/stream-status.js';
import { RESOURCE_TYPES, type ResourceType } from '../xds/type-urls.js';

export type SyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT SENT' | 'NOT SUBSCRIBED';

export interface TypeSync {
  type: ResourceType;
  state: SyncState;
  resources: number;
  snapshotVersion: string;
  sentVersion?: string;
  ackedVersion?: string;
  nacked?: { version: string; message: string };
}

export interface ProxySync {
  proxy: string;
  streams: { id: number; protocol: string; peer: string; connectedAt: string }[];
  /**
   * Every type that has something to send was accepted at its current
   * version; for a proxy that subscribes by name (a gRPC app), every type it
   * subscribed to.
   */
  synced: boolean;
  types: TypeSync[];
}

function typeState(status: TypeStatus | undefined, snapshotVersion: string, resources: number): SyncState {
  if (!status) return resources === 0 ? 'NOT SENT' : 'NOT SUBSCRIBED';
  if (status.nacked && status.nacked.version === status.sentVersion && status.ackedVersion !== status.sentVersion) return 'NACKED';
  if (status.reconciledVersion !== snapshotVersion) return 'STALE';
  if (status.sentVersion === undefined) return 'NOT SENT';
  return status.ackedVersion === status.sentVersion ? 'SYNCED' : 'STALE';
}

/** `connections` may be all streams or just this proxy's (faster); only the proxy's own are used. */
export function proxySync(proxy: string, connections: readonly ConnectionInfo[], cache: SnapshotCache): ProxySync {
  const mine = connections.filter((c) => c.proxyId === proxy);
  const snapshot = cache.get(proxy);
  // With several streams, the newest one speaks for the proxy.
  const latest = mine[mine.length - 1];
  const statuses = new Map((latest?.status() ?? []).map((s) => [s.type, s]));
  const types: TypeSync[] = RESOURCE_TYPES.map((type) => {
    const snap = snapshot?.[type];
    const status = statuses.get(type);
    const resources = snap?.resources.size ?? 0;
    return {
      type,
      state: snap ? typeState(status, snap.version, resources) : 'STALE',
      resources,
      snapshotVersion: snap?.version ?? '',
      sentVersion: status?.sentVersion,
      ackedVersion: status?.ackedVersion,
      ...(status?.nacked ? { nacked: { version: status.nacked.version, message: status.nacked.message } } : {}),
    };
  });
  // Envoy asks for every listener ('*') and in time for every type; a gRPC
  // app asks for listeners by name and only for the types it uses (a server
  // never asks for clusters): a type it never asked for does not hold it back.
  const listeners = statuses.get('listeners')?.subscribed;
  const onDemand = listeners !== undefined && listeners !== '*';
  const synced =
    snapshot !== undefined &&
    types.every(
      (t) =>
        t.state === 'SYNCED' ||
        (onDemand && t.state === 'NOT SUBSCRIBED') ||
        (t.resources === 0 && t.state !== 'STALE' && t.state !== 'NACKED'),
    );
  return {
    proxy,
    streams: mine.map((c) => ({ id: c.streamId, protocol: c.protocol, peer: c.peer, connectedAt: new Date(c.connectedAt).toISOString() })),
    synced,
    types,
  };
}

export function allProxySync(connections: readonly ConnectionInfo[], cache: SnapshotCache): ProxySync[] {
  const proxies = [...new Set(connections.map((c) => c.proxyId))].sort();
  return proxies.map((p) => proxySync(p, connections, cache));
}
