// A running replica in the store: `replicas/<id>` and one `proxies/<id>/<proxy>`
// per connected proxy, every key under one lease that etcd3 keeps alive. A
// replica that dies stops the keepalives, and etcd deletes its keys when the
// lease runs out; a replica that stops revokes the lease, and they go at once.
//
// Writes are queued and coalesced: whatever changed since the last write goes
// out together, in transactions of a bounded size, so a thousand proxies
// connecting at once cost a handful of round trips. Nothing here throws into
// the caller: a failed write is kept and retried, and a lost lease (an outage
// longer than its TTL) is granted again and everything written again.
import { EtcdLeaseInvalidError, type IRequestOp, type Lease } from 'etcd3';
import type { Logger } from '../util/logger.js';
import type { EtcdStore } from './etcd-store.js';
import { proxyKey, replicaKey, STORE_KEYS } from './store-keys.js';

export interface ReplicaRecord {
  id: string;
  /** host:port proxies and other replicas reach this replica's ADS at. */
  adsAddress: string;
  adminAddress: string;
  startedAt: string;
  version: string;
  rootFingerprint: string;
  /** The store revision of the config this replica serves, when it serves config from the store. */
  configRevision?: number;
}

export interface ProxyRecord {
  proxy: string;
  replica: string;
  connectedAt: string;
  /** Run by `meshlite agent` (its key is made on its host). */
  agent: boolean;
}

export interface ReplicaRegistryOptions {
  store: EtcdStore;
  replica: ReplicaRecord;
  /** Default 10 s. */
  leaseSeconds?: number;
  /** Default 100 (etcd's default limit is 128 operations per transaction). */
  maxOpsPerTransaction?: number;
  /** How long changes are gathered before they are written; default 20 ms. */
  batchWindowMs?: number;
  logger?: Logger;
}

export const DEFAULT_REPLICA_LEASE_SECONDS = 10;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 5000;

type ProxyChange = ProxyRecord | 'delete';

export class ReplicaRegistry {
  readonly #store: EtcdStore;
  readonly #ttl: number;
  readonly #maxOps: number;
  readonly #windowMs: number;
  readonly #log: Logger | undefined;
  #replica: ReplicaRecord;
  readonly #proxies = new Map<string, ProxyRecord>();
  readonly #pending = new Map<string, ProxyChange>();
  #replicaDirty = true;
  /** Everything must be written again: a new lease was granted. */
  #fullWrite = true;
  #lease: Lease | undefined;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #retryMs = RETRY_MIN_MS;
  #failing = false;
  #stopped = false;
  #transactions = 0;
  #registrations = 0;
  readonly #idle = new Set<() => void>();

  constructor(options: ReplicaRegistryOptions) {
    this.#store = options.store;
    this.#ttl = options.leaseSeconds ?? DEFAULT_REPLICA_LEASE_SECONDS;
    this.#maxOps = Math.max(1, options.maxOpsPerTransaction ?? 100);
    this.#windowMs = options.batchWindowMs ?? 20;
    this.#log = options.logger;
    this.#replica = { ...options.replica };
  }

  /** Registers the replica (in the background: the store may be down now). */
  start(): void {
    this.#schedule(0);
  }

  get replica(): ReplicaRecord {
    return this.#replica;
  }

  /** Transactions committed so far. */
  get transactions(): number {
    return this.#transactions;
  }

  /** Times a lease was granted and everything written under it (1 after the first registration). */
  get registrations(): number {
    return this.#registrations;
  }

  /** Nothing waits to be written. */
  get settled(): boolean {
    return !this.#fullWrite && !this.#replicaDirty && this.#pending.size === 0 && this.#flushing === undefined;
  }

  update(fields: Partial<Pick<ReplicaRecord, 'configRevision' | 'rootFingerprint'>>): void {
    this.#replica = { ...this.#replica, ...fields };
    this.#replicaDirty = true;
    this.#schedule(this.#windowMs);
  }

  proxyConnected(proxy: string, agent: boolean): void {
    const record: ProxyRecord = { proxy, replica: this.#replica.id, connectedAt: new Date().toISOString(), agent };
    this.#proxies.set(proxy, record);
    this.#pending.set(proxy, record);
    this.#schedule(this.#windowMs);
  }

  proxyDisconnected(proxy: string): void {
    if (!this.#proxies.delete(proxy)) return;
    this.#pending.set(proxy, 'delete');
    this.#schedule(this.#windowMs);
  }

  /** Resolves once everything queued so far is written (or the registry stops). */
  whenSettled(): Promise<void> {
    if (this.settled || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  /** Revokes the lease: the replica and its proxies leave the store at once. Never throws. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await bounded(this.#flushing, this.#store.callTimeoutMs);
    const lease = this.#lease;
    this.#lease = undefined;
    this.#wakeIdle();
    if (!lease) return;
    try {
      await bounded(lease.revoke(), this.#store.callTimeoutMs, true);
    } catch (err) {
      lease.release();
      this.#log?.warn({ replica: this.#replica.id, err: String(err) }, 'could not revoke the replica lease; its entries expire with it');
    }
  }

  #schedule(delayMs: number): void {
    if (this.#stopped || this.#timer !== undefined || this.#flushing !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = undefined;
        if (this.settled) this.#wakeIdle();
        else if (!this.#failing) this.#schedule(0);
      });
    }, delayMs);
    this.#timer.unref();
  }

  async #flush(): Promise<void> {
    if (this.#stopped) return;
    const full = this.#fullWrite || this.#lease === undefined;
    const replicaDirty = this.#replicaDirty;
    const taken = new Map(this.#pending);
    this.#pending.clear();
    this.#fullWrite = false;
    this.#replicaDirty = false;
    try {
      const id = await this.#grantedLease();
      await this.#commit(this.#operations(id, full, replicaDirty, taken));
      if (full) this.#registered();
      this.#recovered();
    } catch (err) {
      if (full) this.#fullWrite = true;
      if (replicaDirty) this.#replicaDirty = true;
      for (const [proxy, change] of taken) if (!this.#pending.has(proxy)) this.#pending.set(proxy, change);
      this.#failed(err);
    }
  }

  #operations(leaseId: string, full: boolean, replicaDirty: boolean, taken: Map<string, ProxyChange>): IRequestOp[] {
    const prefix = this.#store.options.location.prefix;
    const put = (key: string, value: object): IRequestOp => ({
      request_put: { key: Buffer.from(prefix + key), value: Buffer.from(JSON.stringify(value)), lease: leaseId },
    });
    const del = (key: string): IRequestOp => ({ request_delete_range: { key: Buffer.from(prefix + key) } });
    const ops: IRequestOp[] = [];
    if (full || replicaDirty) ops.push(put(replicaKey(this.#replica.id), this.#replica));
    const id = this.#replica.id;
    if (full) for (const record of this.#proxies.values()) ops.push(put(proxyKey(id, record.proxy), record));
    for (const [proxy, change] of taken) {
      if (change === 'delete') ops.push(del(proxyKey(id, proxy)));
      else if (!full) ops.push(put(proxyKey(id, proxy), change));
    }
    return ops;
  }

  async #commit(ops: IRequestOp[]): Promise<void> {
    for (let i = 0; i < ops.length; i += this.#maxOps) {
      const success = ops.slice(i, i + this.#maxOps);
      await this.#store.call(() => this.#store.client.kv.txn({ compare: [], success, failure: [] }));
      this.#transactions++;
    }
  }

  async #grantedLease(): Promise<string> {
    let lease = this.#lease;
    if (!lease) {
      lease = this.#store.kv.lease(this.#ttl);
      const mine = lease;
      mine.on('lost', (err) => this.#leaseLost(mine, err));
      this.#lease = mine;
    }
    return this.#store.call(() => lease.grant());
  }

  #leaseLost(lease: Lease, err: unknown): void {
    if (this.#lease !== lease || this.#stopped) return;
    this.#lease = undefined;
    this.#fullWrite = true;
    this.#failed(err);
  }

  #registered(): void {
    this.#registrations++;
    if (this.#registrations > 1)
      this.#log?.info({ replica: this.#replica.id, proxies: this.#proxies.size }, 'replica registered again in the store');
  }

  #recovered(): void {
    this.#retryMs = RETRY_MIN_MS;
    if (!this.#failing) return;
    this.#failing = false;
    this.#log?.info({ replica: this.#replica.id }, 'replica registry writes to the store again');
  }

  #failed(err: unknown): void {
    if (this.#stopped) return;
    if (isLeaseGone(err) && this.#lease) {
      this.#lease.release();
      this.#lease = undefined;
      this.#fullWrite = true;
    }
    if (!this.#failing) {
      this.#failing = true;
      this.#log?.warn(
        { replica: this.#replica.id, err: String((err as Error)?.message ?? err) },
        'cannot register this replica in the store; retrying (its entry may be missing or stale meanwhile)',
      );
    }
    const delay = this.#retryMs;
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    // Once the current flush (if any) ends; #schedule does nothing while it runs.
    setTimeout(() => this.#schedule(0), delay).unref();
  }

  #wakeIdle(): void {
    for (const wake of this.#idle) wake();
    this.#idle.clear();
  }
}

function isLeaseGone(err: unknown): boolean {
  return err instanceof EtcdLeaseInvalidError || /lease not found|lease has expired/i.test(String(err));
}

/** Waits for `p` at most `ms`; rethrows its failure only when asked. */
async function bounded(p: Promise<unknown> | undefined, ms: number, rethrow = false): Promise<void> {
  if (!p) return;
  let timer: NodeJS.Timeout | undefined;
  const guarded = rethrow ? p : p.catch(() => undefined);
  const timeout = new Promise<void>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([guarded, rethrow ? timeout : timeout.catch(() => undefined)]);
  } finally {
    clearTimeout(timer);
  }
}

export interface MeshView {
  replicas: ReplicaRecord[];
  proxies: ProxyRecord[];
}

/** Every registered replica and connected proxy, as the store holds them now (malformed entries skipped). */
export async function readMesh(store: EtcdStore): Promise<MeshView> {
  const [replicas, proxies] = await Promise.all([store.range(STORE_KEYS.replicas), store.range(STORE_KEYS.proxies)]);
  return {
    replicas: replicas.entries.flatMap((e) => parsed<ReplicaRecord>(e.value, (r) => typeof r.id === 'string')),
    proxies: proxies.entries.flatMap((e) =>
      parsed<ProxyRecord>(e.value, (p) => typeof p.proxy === 'string' && typeof p.replica === 'string'),
    ),
  };
}

function parsed<T>(value: Buffer, valid: (v: T) => boolean): T[] {
  try {
    const v = JSON.parse(value.toString('utf8')) as T;
    return v !== null && typeof v === 'object' && valid(v) ? [v] : [];
  } catch {
    return [];
  }
}
