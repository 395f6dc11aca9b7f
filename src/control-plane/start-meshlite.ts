// The composition root of `meshlite serve`: builds every part and joins them.
import { join } from 'node:path';
import { buildAdminServer } from '../admin/admin-server.js';
import { Metrics } from '../admin/metrics.js';
import { proxySync } from '../admin/sync-status.js';
import { SnapshotCache } from '../cache/snapshot-cache.js';
import { openCertificateAuthority } from '../ca/root-rotation-open.js';
import { DEFAULT_WORKLOAD_TTL_SECONDS } from '../ca/issue.js';
import { WorkloadCertificateCache } from '../ca/rotation.js';
import { BackgroundConfigLoader } from './config-loader.js';
import { DEFAULT_MESH_CONFIG } from '../config/types.js';
import { TokenAuthority } from '../identity/proxy-token.js';
import { secureStateDir } from '../identity/state-dir.js';
import type { RevocationList } from '../identity/token-revocations.js';
import { AdsServer } from '../server/ads-server.js';
import { ListenError } from '../server/ads-listener.js';
import type { StreamObserver } from '../server/stream-status.js';
import { CredentialStore } from '../credentials/credential-store.js';
import { JwksFetcher } from '../credentials/jwks-fetcher.js';
import { CredentialWatcher } from '../credentials/credential-watcher.js';
import { registerCredentialMetrics, registerJwksMetrics } from '../credentials/credential-metrics.js';
import { configPathOverlapping } from '../credentials/read-credentials.js';
import { caCredentials, countingKeys } from './ca-credentials.js';
import { mountCertificateService } from './certificate-service-mount.js';
import { servedConfigSource } from './served-config-source.js';
import { registerStoreMetrics } from '../admin/store-status.js';
import { ControlPlane, type ControlPlaneHooks } from './control-plane.js';
import { ConvergenceTracker } from './convergence.js';
import { type RevocationSource, RevocationWatcher } from './revocation-watcher.js';
import { STORE_ROTATION_REFUSAL, sharedIdentity } from './store-identity-mount.js';
import { RootRotationDriver } from './root-rotation-driver.js';
import { TokenStreamAuthenticator } from './stream-authenticator.js';
import { certificateRevocation, closeRevokedStreams } from './credential-revocation.js';
import { servedWorkloadsMemo } from './served-workloads.js';
import { keysOnNode } from '../server/node-metadata.js';
import { mountReplicaRegistry, type ReplicaMount } from './replica-mount.js';
import { AutoRegistrations } from './auto-registration.js';
import { mountRegistrationService } from './registration-service.js';
import { MarathonRegistry } from './marathon-registry.js';
import { registerRegistryMetrics } from '../admin/registry-status.js';
import { dashboardMatrix } from './dashboard-matrix.js';

import { ListenFailure, type MeshliteOptions, type RunningMeshlite, splitAddress } from './meshlite-options.js';

export { ListenFailure, type MeshliteOptions, type RunningMeshlite } from './meshlite-options.js';

export async function startMeshlite(options: MeshliteOptions): Promise<RunningMeshlite> {
  const log = options.logger;
  const metrics = new Metrics();
  const cache = new SnapshotCache();
  let applying: Promise<void> = Promise.resolve();
  let convergence: ConvergenceTracker | undefined;
  const marathon = options.marathon
    ? new MarathonRegistry({ ...options.marathon, logger: log, onChange: () => watcher.reload('Marathon changed') })
    : undefined;
  // The first config already holds what Marathon has (or, when it does not answer, it says so and is retried).
  await marathon?.poll();
  const loader = new BackgroundConfigLoader({
    limits: options.limits,
    defaultNamespace: options.defaultNamespace,
    registryTexts: marathon ? () => marathon.texts() : undefined,
  });
  let replicas: ReplicaMount | undefined;
  const watcher = servedConfigSource(
    { ...options, waitForStore: options.storeKey !== undefined },
    loader,
    log,
    (result, reason) => {
      applying = applying.then(async () => {
        const started = Date.now();
        await cp.applyConfig(result, reason);
        if (result.ok) convergence?.begin(cp.connectedProxies(), started);
      });
      return applying;
    },
    // Registered replicas show the store revision they serve.
    (revision) => replicas?.registry.update({ configRevision: revision }),
  );
  const firstRead = await watcher.readFirst();
  const first = firstRead?.result;
  const trustDomain = first?.ok ? first.config.mesh.trustDomain : DEFAULT_MESH_CONFIG.trustDomain;
  if (options.insecure) {
    log.warn(
      { ads: options.adsAddress },
      'INSECURE MODE: ADS is plaintext and proxies are not authenticated; any client that reaches the ADS address can claim any workload and receive its private key',
    );
  }
  secureStateDir(options.stateDir, log);

  const maxTtlSeconds = options.certTtlSeconds ?? DEFAULT_WORKLOAD_TTL_SECONDS;
  const shared = await sharedIdentity({ ...options, trustDomain, maxTtlSeconds, logger: log }).catch(async (err) => {
    await watcher.stop();
    throw err;
  });
  const { ca, rotation } = shared ?? (await openCertificateAuthority({ ...options, trustDomain, maxTtlSeconds }));
  const certificates = new WorkloadCertificateCache(ca, { ttlSeconds: options.certTtlSeconds, logger: log });
  const credentials = countingKeys(caCredentials(ca, certificates), metrics);
  const tokens = options.insecure ? undefined : (shared?.tokens ?? (await TokenAuthority.loadOrCreate(options.stateDir)));
  let revocations: RevocationSource | undefined;
  let ads: AdsServer | undefined;
  const revocationList = () => revocations?.current;
  const servedIn = servedWorkloadsMemo();
  const certificateRevoked = certificateRevocation(rotation.ledger, revocationList);
  // Streams whose token or certificate the new list revokes are closed at once.
  const closeRevoked = (list: RevocationList) => closeRevokedStreams(ads, list, certificateRevoked);
  if (tokens) {
    revocations = await (shared
      ? shared.openRevocations(closeRevoked)
      : RevocationWatcher.open({ stateDir: options.stateDir, logger: log, onChange: closeRevoked })
    ).catch(async (err) => {
      await watcher.stop();
      await shared?.rotation.close();
      throw err;
    });
    revocations.start();
  }
  // A certificate another replica issued, newly known here, may belong to a proxy already revoked.
  shared?.ledger.start(() => revocations && closeRevoked(revocations.current));
  // Read before the first config is applied, so no proxy sees a credential as missing at startup.
  const credentialStore = options.secretsDir === undefined ? undefined : new CredentialStore(options.secretsDir);
  const overlap = options.secretsDir === undefined ? undefined : configPathOverlapping(options.secretsDir, options.configPaths);
  if (overlap !== undefined)
    log.warn(
      { secretsDir: options.secretsDir, configPath: overlap },
      'the secrets directory overlaps a config path: Secret manifests there would be read as config and rejected',
    );
  const credentialWatcher = credentialStore
    ? new CredentialWatcher({
        store: credentialStore,
        debounceMs: options.debounceMs,
        logger: log,
        onChange: (names) => void cp.credentialsChanged(names),
      })
    : undefined;
  credentialWatcher?.start();
  const jwks = new JwksFetcher({
    refreshMillis: options.jwksRefreshSeconds === undefined ? undefined : options.jwksRefreshSeconds * 1000,
    onChange: (uri, text) => void cp.jwksChanged(uri, text),
    onError: (uri, err) => log.warn({ jwksUri: uri, err: err.message }, 'JWKS fetch failed; the last good document (if any) stays in use'),
  });
  const metricHooks: Required<ControlPlaneHooks> = metrics;
  const cp = new ControlPlane(cache, credentials, log, metricHooks, credentialStore, jwks, { proxylessSecurity: !options.insecure });
  registerCredentialMetrics(metrics.registry, () => cp.missingCredentials());
  registerJwksMetrics(metrics.registry, jwks);
  const registrations = new AutoRegistrations(log, (reason) => void cp.registrationsChanged(reason), options.autoRegisterGraceMs);
  cp.useRegisteredWorkloads((config) => registrations.entriesFor(config));

  const isSynced = (proxy: string) => (ads ? proxySync(proxy, ads.connectionsOf(proxy), cache).synced : false);
  convergence = new ConvergenceTracker(isSynced, (s) => metrics.convergenceSeconds.observe(s));
  const tracker = convergence;
  const observer: StreamObserver = {
    sent: (proxy, type, _version, _count) => metrics.sent(proxy, type),
    acked: (proxy, type, version, latencyMs) => {
      metrics.acked(proxy, type, version, latencyMs);
      tracker.check(proxy);
    },
    nacked: (proxy, type) => metrics.nacked(proxy, type),
  };
  ads = new AdsServer({
    cache,
    authenticator: new TokenStreamAuthenticator(cp, tokens, revocationList, ca.trustDomain, certificateRevoked, servedIn, (id) =>
      registrations.groupOf(id),
    ),
    logger: log,
    observer,
    authTimeoutMs: (options.authTimeoutSeconds ?? 10) * 1000,
    maxConnectionAgeMs: (options.maxConnectionAgeSeconds ?? 0) * 1000,
    maxConnectionAgeGraceMs: (options.maxConnectionAgeGraceSeconds ?? 10) * 1000,
    onStreamClosed: (reason) => metrics.streamsClosed.inc({ reason }),
    onTlsFailure: (failure) => metrics.tlsHandshakeFailures.inc({ kind: failure.kind }),
    onProxyConnected: (id, node) => {
      registrations.hold(id);
      void cp.proxyConnected(id, { keysOnNode: keysOnNode(node) });
      replicas?.registry.proxyConnected(id, keysOnNode(node));
    },
    onProxyDisconnected: (id) => {
      cp.proxyDisconnected(id);
      registrations.release(id);
      replicas?.registry.proxyDisconnected(id);
      tracker.forget(id);
    },
  });

  mountCertificateService({
    ads,
    ca,
    tokens,
    revocations: revocationList,
    certificateRevoked,
    registeredFrom: (id) => registrations.groupOf(id),
    servedIn,
    controlPlane: cp,
    registry: metrics.registry,
    maxTtlSeconds: options.certTtlSeconds ?? DEFAULT_WORKLOAD_TTL_SECONDS,
    rateLimit: options.csrRateLimit,
    logger: log,
  });

  mountRegistrationService({ ads, registrations, tokens, revocations: revocationList, config: () => cp.loadedConfig, logger: log });

  if (firstRead) await cp.applyConfig(firstRead.result, firstRead.reason);
  watcher.activate(first);
  if (watcher.storeStatus) registerStoreMetrics(metrics.registry, watcher.storeStatus);
  if (marathon) registerRegistryMetrics(metrics.registry, () => [marathon.status()]);
  marathon?.start();

  const adsHost = options.insecure ? undefined : splitAddress(options.adsAddress).host;
  const refusal = shared ? STORE_ROTATION_REFUSAL : undefined;
  const rootRotation = new RootRotationDriver({
    rotation,
    certificates,
    ads,
    cache,
    controlPlane: cp,
    metrics,
    logger: log,
    adsHost,
    refusal,
  });
  const adsTls = await rootRotation.servingTls();
  const admin = buildAdminServer({
    controlPlane: cp,
    ads,
    cache,
    metrics,
    ca,
    insecure: options.insecure,
    credentials: credentialStore,
    debugToken: options.adminToken,
    pendingSettle: () => watcher.pendingSettle(),
    rootRotation,
    store: watcher.storeStatus,
    registrations: () => registrations.list(),
    meshView: options.store ? () => replicas?.meshView() ?? Promise.resolve({ unavailable: 'not registered yet' }) : undefined,
    registries: marathon ? () => [marathon.status()] : undefined,
    matrix: dashboardMatrix(() => cp.currentModel),
  });
  const closeAll = async (streamGraceMs: number) => {
    marathon?.stop();
    await watcher.stop();
    loader.close();
    credentialWatcher?.stop();
    revocations?.stop();
    await shared?.ledger.stop();
    jwks.close();
    registrations.close();
    await ads!.shutdown(streamGraceMs);
    await admin.close();
    certificates.close();
    await rootRotation.close();
  };
  const adminAddr = splitAddress(options.adminAddress);
  let adsPort: number;
  try {
    adsPort = await ads.listen(options.adsAddress, adsTls).catch((err) => {
      throw err instanceof ListenError ? new ListenFailure('ads', options.adsAddress, err.code, err.message) : err;
    });
    await admin.listen({ host: adminAddr.host.replace(/^\[(.*)\]$/, '$1'), port: adminAddr.port }).catch((err: NodeJS.ErrnoException) => {
      throw new ListenFailure('admin', options.adminAddress, err.code ?? 'EUNKNOWN', err.message);
    });
  } catch (err) {
    // Leave nothing running: the caller reports the failure and may exit or retry.
    await closeAll(500);
    throw err;
  }
  const adminPort = (admin.server.address() as { port: number }).port;
  if (options.store)
    replicas = mountReplicaRegistry({
      ...options,
      store: options.store,
      adsListenAddress: options.adsAddress,
      adsPort,
      adminAddress: `${adminAddr.host}:${adminPort}`,
      rootFingerprint: ca.info.rootFingerprintSha256,
      configRevision: watcher.storeStatus?.().revision,
      leaseSeconds: options.replicaLeaseSeconds,
    });
  log.info(
    {
      ads: `${splitAddress(options.adsAddress).host}:${adsPort}`,
      admin: `${adminAddr.host}:${adminPort}`,
      tls: !options.insecure,
      stateDir: join(options.stateDir),
      ca: ca.info.source,
      rootFingerprint: ca.info.rootFingerprintSha256,
    },
    options.insecure ? 'meshlite serving (INSECURE: plaintext ADS, no proxy authentication)' : 'meshlite serving',
  );

  return {
    adsPort,
    adminPort,
    controlPlane: cp,
    ca,
    rootRotation,
    tokens,
    registrations,
    credentials: credentialStore,
    reload: () => {
      void watcher.reload('reload requested');
      credentialWatcher?.reload('reload requested');
    },
    async stop() {
      log.info({}, 'meshlite stopping: no new streams, closing open ones');
      // First, so other replicas and operators see this one gone at once.
      await replicas?.registry.stop();
      await closeAll(2000);
      await applying;
      log.info({}, 'meshlite stopped');
    },
  };
}
