// WorkloadEntries that agents registered from a WorkloadGroup. They live in
// memory only: an entry is made when an agent registers, held while its
// registration stream (or an ADS stream of its proxy) is open, and dropped a
// grace period after the last of them closed, so a restarting agent keeps it.
import type { ConfigSet, WorkloadEntry, WorkloadGroup } from '../config/types.js';
import type { Logger } from '../util/logger.js';

export const DEFAULT_AUTO_REGISTER_GRACE_MS = 10_000;

export interface RegisteredWorkload {
  /** `<name>.<namespace>`. */
  id: string;
  name: string;
  namespace: string;
  /** The WorkloadGroup, `<name>.<namespace>`. */
  group: string;
  address: string;
  registeredAt: string;
  /** Open streams holding it. */
  streams: number;
  /** Unknown until the agent's first probe report. */
  healthy?: boolean;
  healthMessage?: string;
  /** When it goes (ISO time), once no stream holds it. */
  removeAt?: string;
}

export type Registration = { ok: true; workloadId: string } | { ok: false; reason: string };

/** `<group name>-<address with dots and colons as dashes>`, Istio's naming. */
export function registeredName(groupName: string, address: string): string {
  return `${groupName}-${address.replace(/[.:]/g, '-')}`;
}

export class AutoRegistrations {
  readonly #entries = new Map<string, RegisteredWorkload>();
  readonly #timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly logger: Logger,
    /** Called after every change that alters the registry other proxies see. */
    private readonly changed: (reason: string) => void,
    private readonly graceMs = DEFAULT_AUTO_REGISTER_GRACE_MS,
  ) {}

  /** Registers (or re-joins) the workload of `group` at `address`, holding it for one stream. */
  register(config: ConfigSet | undefined, group: string, address: string): Registration {
    const wg = findGroup(config, group);
    if (!config || !wg) return { ok: false, reason: `no WorkloadGroup "${group}" in the config in force` };
    const name = registeredName(wg.meta.name, address);
    const id = `${name}.${wg.meta.namespace}`;
    if (config.workloadEntries.some((we) => we.meta.name === name && we.meta.namespace === wg.meta.namespace))
      return { ok: false, reason: `a WorkloadEntry "${id}" is already in the config; it cannot be auto-registered` };
    const known = this.#entries.get(id);
    if (known && known.group !== group) return { ok: false, reason: `"${id}" is already registered by WorkloadGroup "${known.group}"` };
    this.cancelRemoval(id);
    if (known) {
      known.streams += 1;
      return { ok: true, workloadId: id };
    }
    const entry: RegisteredWorkload = {
      id,
      name,
      namespace: wg.meta.namespace,
      group,
      address,
      registeredAt: new Date().toISOString(),
      streams: 1,
    };
    this.#entries.set(id, entry);
    this.logger.info({ workload: id, group, address }, 'registered a workload its agent announced');
    this.changed(`workload ${id} auto-registered`);
    return { ok: true, workloadId: id };
  }

  /** The group a registered workload belongs to, if it is one. */
  groupOf(workloadId: string): string | undefined {
    return this.#entries.get(workloadId)?.group;
  }

  /** Another stream (the proxy's ADS) holds a registered workload. */
  hold(workloadId: string): void {
    const entry = this.#entries.get(workloadId);
    if (!entry) return;
    entry.streams += 1;
    this.cancelRemoval(workloadId);
  }

  /** A stream holding it closed: after the last one, the entry goes once the grace period passed. */
  release(workloadId: string): void {
    const entry = this.#entries.get(workloadId);
    if (!entry) return;
    entry.streams = Math.max(0, entry.streams - 1);
    if (entry.streams > 0) return;
    entry.removeAt = new Date(Date.now() + this.graceMs).toISOString();
    const timer = setTimeout(() => {
      this.#timers.delete(workloadId);
      if (this.#entries.get(workloadId) !== entry || entry.streams > 0) return;
      this.#entries.delete(workloadId);
      this.logger.info({ workload: workloadId }, 'auto-registered workload removed: no stream for the grace period');
      this.changed(`workload ${workloadId} unregistered`);
    }, this.graceMs);
    timer.unref();
    this.#timers.set(workloadId, timer);
  }

  /** The agent's probe result; a change of health changes other proxies' endpoints. */
  reportHealth(workloadId: string, healthy: boolean, message?: string): void {
    const entry = this.#entries.get(workloadId);
    if (!entry) return;
    entry.healthMessage = healthy ? undefined : message;
    if (entry.healthy === healthy) return;
    entry.healthy = healthy;
    this.logger.info({ workload: workloadId, healthy, message }, healthy ? 'workload reported healthy' : 'workload reported unhealthy');
    this.changed(`workload ${workloadId} ${healthy ? 'healthy' : 'unhealthy'}`);
  }

  list(): RegisteredWorkload[] {
    return [...this.#entries.values()].map((e) => ({ ...e })).sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * The registered workloads as WorkloadEntries of `config`: made from their
   * group's template as it is now. Those whose group left the config, or whose
   * name a WorkloadEntry of the config took since, are left out.
   */
  entriesFor(config: ConfigSet): WorkloadEntry[] {
    const out: WorkloadEntry[] = [];
    for (const e of this.#entries.values()) {
      const wg = findGroup(config, e.group);
      if (!wg || config.workloadEntries.some((we) => we.meta.name === e.name && we.meta.namespace === e.namespace)) continue;
      out.push({
        kind: 'WorkloadEntry',
        meta: { name: e.name, namespace: e.namespace, labels: wg.spec.metadata.labels, annotations: wg.spec.metadata.annotations },
        source: { file: `auto-registered from WorkloadGroup ${e.group}`, line: 0 },
        spec: { ...wg.spec.template, address: e.address, ...(e.healthy === false ? { healthy: false } : {}) },
      });
    }
    return out;
  }

  /** Stops the removal timers (shutdown). */
  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  private cancelRemoval(id: string): void {
    const timer = this.#timers.get(id);
    if (timer) clearTimeout(timer);
    this.#timers.delete(id);
    const entry = this.#entries.get(id);
    if (entry) entry.removeAt = undefined;
  }
}

function findGroup(config: ConfigSet | undefined, group: string): WorkloadGroup | undefined {
  return config?.workloadGroups?.find((g) => `${g.meta.name}.${g.meta.namespace}` === group);
}
