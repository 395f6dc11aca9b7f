// Prometheus metrics (prom-client), on a registry of their own per meshlite
// instance. Also the observer the ADS streams report to.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DanglingReference } from '../cache/snapshot-consistency.js';
import type { FindingSeverity } from '../config/config-status.js';
import type { StreamObserver } from '../server/stream-status.js';
import { registerBuildInfo } from '../util/build-info-metric.js';
import type { ResourceType } from '../xds/type-urls.js';

export class Metrics implements StreamObserver {
  readonly registry = new Registry();
  readonly connectedProxies = new Gauge({
    name: 'meshlite_connected_proxies',
    help: 'Proxies with at least one open ADS stream',
    registers: [this.registry],
  });
  readonly pushes = new Counter({
    name: 'meshlite_xds_pushes_total',
    help: 'xDS responses sent',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly acks = new Counter({
    name: 'meshlite_xds_acks_total',
    help: 'xDS responses accepted by proxies',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly nacks = new Counter({
    name: 'meshlite_xds_nacks_total',
    help: 'xDS responses rejected by proxies',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly pushAckSeconds = new Histogram({
    name: 'meshlite_xds_push_ack_seconds',
    help: 'Time from sending an xDS response to the proxy accepting it',
    labelNames: ['type'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly configApplySeconds = new Histogram({
    name: 'meshlite_config_apply_seconds',
    help: 'Time to rebuild the snapshots of all connected proxies after a config change',
    buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
    registers: [this.registry],
  });
  readonly convergenceSeconds = new Histogram({
    name: 'meshlite_convergence_seconds',
    help: 'Time from a config change being applied to every connected proxy accepting it',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly snapshotBuildSeconds = new Histogram({
    name: 'meshlite_snapshot_build_seconds',
    help: 'Time to translate and encode one proxy snapshot',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });
  readonly snapshotsInconsistent = new Counter({
    name: 'meshlite_snapshots_inconsistent_total',
    help: 'Proxy snapshots not served because they name resources they do not hold, by the type missing (clusters, endpoints, routes, secrets)',
    labelNames: ['missing'],
    registers: [this.registry],
  });
  readonly configErrors = new Counter({
    name: 'meshlite_config_errors_total',
    help: 'Config loads rejected (each keeps the last good config)',
    registers: [this.registry],
  });
  readonly configErrorsCurrent = new Gauge({
    name: 'meshlite_config_current_errors',
    help: 'Errors in the config on disk now (0 when it is being served)',
    registers: [this.registry],
  });
  readonly configFindings = new Gauge({
    name: 'meshlite_config_findings',
    help: 'Findings of meshlite analyze on the config being served, by severity (advice: they never reject a config)',
    labelNames: ['severity'],
    registers: [this.registry],
  });
  readonly configGeneration = new Gauge({
    name: 'meshlite_config_generation',
    help: 'Generation of the config being served',
    registers: [this.registry],
  });
  readonly certificatesIssued = new Counter({
    name: 'meshlite_certificates_issued_total',
    help: 'Workload certificates issued (first issue and rotations)',
    registers: [this.registry],
  });
  readonly workloadKeysGenerated = new Counter({
    name: 'meshlite_workload_keys_generated_total',
    help: 'Private keys meshlite made for workloads of direct-mode proxies, by identity (namespace/serviceaccount); agent-run proxies make their own',
    labelNames: ['identity'],
    registers: [this.registry],
  });
  readonly streamsClosed = new Counter({
    name: 'meshlite_ads_streams_closed_total',
    help: 'ADS streams meshlite ended itself, by reason (refused, auth_timeout, token_expired, token_revoked, malformed_request, stalled, superseded)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly tlsHandshakeFailures = new Counter({
    name: 'meshlite_ads_tls_handshake_failures_total',
    help: 'Failed TLS handshakes on the ADS port, by kind (untrusted_certificate, plaintext_client, closed_early, other)',
    labelNames: ['kind'],
    registers: [this.registry],
  });

  constructor() {
    // prom-client names its defaults process_* and nodejs_*; the prefix only adds meshlite_.
    collectDefaultMetrics({ register: this.registry, prefix: 'meshlite_' });
    registerBuildInfo(this.registry, 'meshlite_build_info');
  }

  sent(_proxy: string, type: ResourceType): void {
    this.pushes.inc({ type });
  }

  acked(_proxy: string, type: ResourceType, _version: string, latencyMs: number): void {
    this.acks.inc({ type });
    this.pushAckSeconds.observe({ type }, latencyMs / 1000);
  }

  nacked(_proxy: string, type: ResourceType): void {
    this.nacks.inc({ type });
  }

  configApplied(generation: number, _proxies: number, millis: number): void {
    this.configGeneration.set(generation);
    this.configErrorsCurrent.set(0);
    this.configApplySeconds.observe(millis / 1000);
  }

  configAnalyzed(counts: Readonly<Record<FindingSeverity, number>>): void {
    for (const [severity, count] of Object.entries(counts)) this.configFindings.set({ severity }, count);
  }

  configRejected(issues: number): void {
    this.configErrors.inc();
    this.configErrorsCurrent.set(issues);
  }

  snapshotBuilt(_proxy: string, _changed: readonly string[], millis: number): void {
    this.snapshotBuildSeconds.observe(millis / 1000);
  }

  snapshotInconsistent(_proxy: string, dangling: readonly DanglingReference[]): void {
    for (const missing of new Set(dangling.map((d) => d.type))) this.snapshotsInconsistent.inc({ missing });
  }
}
