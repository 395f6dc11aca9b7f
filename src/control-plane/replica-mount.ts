// In store mode, this replica registers itself and its connected proxies in
// the store (replica-registry.ts), and /debug/syncz shows the whole mesh:
// every replica and which one each proxy is on.
import { hostname } from 'node:os';
import type { EtcdStore } from '../store/etcd-store.js';
import { readMesh, ReplicaRegistry, type ReplicaRecord } from '../store/replica-registry.js';
import type { Logger } from '../util/logger.js';
import { meshliteVersion } from '../util/meshlite-version.js';

export interface ReplicaMountOptions {
  store: EtcdStore;
  /** Default `<hostname>-<ads port>`. */
  replicaId?: string;
  /** Default the ADS listen host (the hostname when that is a wildcard) and the port it bound. */
  advertiseAddress?: string;
  adsListenAddress: string;
  adsPort: number;
  adminAddress: string;
  rootFingerprint: string;
  /** The store revision of the config served when the replica registers. */
  configRevision?: number;
  leaseSeconds?: number;
  logger: Logger;
}

/** What /debug/syncz shows of the mesh: read from the store, or why it could not be. */
export type MeshSyncView = { replica: string } & (
  | { replicas: ReplicaRecord[]; proxies: { proxy: string; replica: string; connectedAt: string; agent: boolean }[] }
  | { unavailable: string }
);

export interface ReplicaMount {
  readonly registry: ReplicaRegistry;
  meshView(): Promise<MeshSyncView>;
}

export function mountReplicaRegistry(o: ReplicaMountOptions): ReplicaMount {
  const adsAddress = o.advertiseAddress ?? defaultAdvertiseAddress(o.adsListenAddress, o.adsPort);
  const registry = new ReplicaRegistry({
    store: o.store,
    leaseSeconds: o.leaseSeconds,
    logger: o.logger,
    replica: {
      id: o.replicaId ?? `${hostname()}-${o.adsPort}`,
      adsAddress,
      adminAddress: o.adminAddress,
      startedAt: new Date().toISOString(),
      version: meshliteVersion(),
      rootFingerprint: o.rootFingerprint,
      ...(o.configRevision === undefined ? {} : { configRevision: o.configRevision }),
    },
  });
  registry.start();
  o.logger.info(
    { replica: registry.replica.id, advertise: adsAddress, store: o.store.description },
    'registering this replica in the store',
  );
  return {
    registry,
    meshView: async () => {
      try {
        const mesh = await readMesh(o.store);
        return { replica: registry.replica.id, replicas: mesh.replicas, proxies: mesh.proxies };
      } catch (err) {
        return {
          replica: registry.replica.id,
          unavailable: `the store (${o.store.description}) did not answer: ${(err as Error).message}`,
        };
      }
    },
  };
}

/** The ADS listen address with the port it bound; a wildcard host is replaced by this host's name. */
export function defaultAdvertiseAddress(listenAddress: string, port: number): string {
  const host = listenAddress.slice(0, listenAddress.lastIndexOf(':'));
  const wildcard = host === '0.0.0.0' || host === '::' || host === '[::]' || host === '';
  return `${wildcard ? hostname() : host}:${port}`;
}
