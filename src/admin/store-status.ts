// What /ready, /debug/configz and the metrics say about the store config is
// read from (meshlite serve --store). Absent in file mode.
import { Gauge, type Registry } from 'prom-client';

export interface StoreStatus {
  /** The store as given to --store (no credentials in it). */
  url: string;
  state: 'available' | 'unavailable';
  /** When the state last changed (ISO 8601). */
  since: string;
  lastError?: string;
  /** The store revision of the config being served. */
  revision?: number;
  /** The store revision of the latest load, when it was rejected (the served config is older). */
  rejectedRevision?: number;
  /**
   * A config is served, but the store holds one that is not (the store is
   * unavailable, or its latest config was rejected). Replicas stay ready
   * then: a load balancer must not pull every replica when etcd blips.
   */
  servingLastGood: boolean;
  /** Why nothing is served yet. */
  reason?: string;
}

/** `meshlite_store_available` (1/0) and `meshlite_store_config_revision`, read at scrape time. */
export function registerStoreMetrics(registry: Registry, status: () => StoreStatus): void {
  new Gauge({
    name: 'meshlite_store_available',
    help: 'Whether the store (etcd) answered the last call or watch: 1 available, 0 unavailable (the config last read is served)',
    registers: [registry],
    collect() {
      this.set(status().state === 'available' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'meshlite_store_config_revision',
    help: 'Store revision of the config being served (0 before the first valid config is read)',
    registers: [registry],
    collect() {
      this.set(status().revision ?? 0);
    },
  });
}
