// What /ready and the metrics say about the registries serve polls (serve
// --registry marathon=<url>). Their resources are merged with the config; a
// registry that stops answering keeps what it last gave.
import { Gauge, type Registry } from 'prom-client';

export interface RegistryStatus {
  /** `marathon`. */
  source: string;
  /** The registry's address without credentials. */
  url: string;
  /** Whether the last poll got a valid answer. */
  up: boolean;
  /** When `up` last changed (ISO 8601). */
  since: string;
  lastError?: string;
  /** When the last valid answer arrived (ISO 8601); absent before the first. */
  lastSuccess?: string;
  /** Apps and pods taken from the last valid answer. */
  sources: number;
  /** Resources from an earlier answer are served because the last poll failed. */
  servingLastGood: boolean;
}

/** `meshlite_registry_up{source}` (1/0), read at scrape time. */
export function registerRegistryMetrics(registry: Registry, statuses: () => readonly RegistryStatus[]): void {
  new Gauge({
    name: 'meshlite_registry_up',
    help: 'Whether the last poll of a service registry (Marathon) got a valid answer: 1 yes, 0 no (what it last gave is kept)',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of statuses()) this.set({ source: s.source }, s.up ? 1 : 0);
    },
  });
}
