// `meshlite agent`: everything one proxy needs on its host. The workload key
// is made here and its certificate obtained through CreateCertificate (the
// token only for the first one); Envoy gets `default` and ROOTCA from here and
// the rest of its config relayed from meshlite, both over Unix sockets in the
// work directory, so its bootstrap holds no token and no CA material; and
// Envoy itself is started, restarted if it dies, and stopped with the agent.
// With `grpc` there is no Envoy: a proxyless gRPC app reads certificate files
// and a gRPC bootstrap the agent writes, and takes its xDS from the relay.
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Gauge, Registry } from 'prom-client';
import { registerBuildInfo } from '../util/build-info-metric.js';
import { ADS_SERVER_NAME } from '../xds/bootstrap.js';
import { agentBootstrap, writeAgentBootstrap } from './agent-bootstrap.js';
import { AGENT_NODE_METADATA } from './agent-types.js';
import { startAdsRelay, type AdsRelay } from './ads-relay.js';
import { CaClient } from './ca-client.js';
import { type AgentLogger, CertificateManager } from './certificate-manager.js';
import { EnvoySupervisor, freeLoopbackPort, pickBaseId } from './envoy-supervisor.js';
import { startSdsServer, type SdsServer } from './sds-server.js';
import { type StatusCheck, type StatusServer, startStatusServer } from './status-server.js';
import { readTokenFile } from './token-file.js';
import { ReplicaRotation } from './replica-rotation.js';
import { agentDebugView } from './agent-debug.js';
import { type GrpcMode, startGrpcMode } from './grpc-mode.js';

export interface AgentOptions {
  proxyId: string;
  /** Node cluster Envoy reports; the proxy id by default (as `meshlite bootstrap` writes it). */
  cluster?: string;
  /** meshlite's ADS address, host:port, or every replica's, comma-separated (tried in turn). */
  controlPlane: string;
  tokenFile: string;
  /** The roots to trust meshlite with at first contact (its root-cert.pem). */
  rootCertPem: string;
  /** Sockets, bootstrap: created 0700. */
  workDir: string;
  statusAddress: string;
  certTtlSeconds?: number;
  /** Run this Envoy; without it the agent only serves its sockets (an Envoy started elsewhere uses them). */
  envoy?: { bin: string; args: readonly string[] };
  /** Serve a proxyless gRPC app instead (no Envoy): certificate files in <workDir>/certs and its bootstrap at this path. */
  grpc?: { bootstrapPath: string };
  logger: AgentLogger & { debug(obj: object, msg?: string): void };
}

export interface RunningAgent {
  statusUrl: string;
  xdsSocket: string;
  /** Not served with `grpc`: nothing there asks for SDS. */
  sdsSocket?: string;
  /** With `grpc`: the bootstrap for GRPC_XDS_BOOTSTRAP. */
  grpcBootstrap?: string;
  /** Stops Envoy (SIGTERM, then SIGKILL), then everything else. */
  stop(): Promise<void>;
}

/** Throws a RangeError when both `envoy` and `grpc` are given. */
export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  if (o.envoy && o.grpc) throw new RangeError('an agent serves either an Envoy or a proxyless gRPC app, not both');
  const log = o.logger;
  mkdirSync(o.workDir, { recursive: true, mode: 0o700 });
  chmodSync(o.workDir, 0o700);
  const xdsSocket = join(o.workDir, 'xds.sock');
  const sdsSocket = join(o.workDir, 'sds.sock');
  let manager: CertificateManager | undefined;
  const ca = new CaClient({
    address: ReplicaRotation.parse(o.controlPlane),
    trustBundlePem: () => manager?.trustBundlePem() ?? o.rootCertPem,
    workloadId: o.proxyId,
  });
  manager = new CertificateManager({
    ca,
    token: () => readTokenFile(o.tokenFile),
    tokenSource: `the token file ${o.tokenFile}`,
    trustBundlePem: o.rootCertPem,
    ttlSeconds: o.certTtlSeconds,
    logger: log,
  });
  const certificates = manager;
  let relay: AdsRelay | undefined;
  let sds: SdsServer | undefined;
  let envoy: EnvoySupervisor | undefined;
  let grpcMode: GrpcMode | undefined;
  const registry = agentMetrics(
    certificates,
    () => relay,
    () => envoy,
  );
  const checks: StatusCheck[] = [
    async () => {
      const left = certificates.expiresInSeconds();
      if (left === undefined) return { name: 'certificate', ok: false, detail: 'no workload certificate yet' };
      return left > 0
        ? { name: 'certificate', ok: true, detail: `expires in ${Math.round(left)} s` }
        : { name: 'certificate', ok: false, detail: `expired ${Math.round(-left)} s ago` };
    },
  ];
  if (o.envoy) checks.push(async () => (envoy ? envoy.check() : { name: 'envoy', ok: false, detail: 'not started' }));
  if (o.grpc) {
    checks.push(async () => grpcMode?.check() ?? { name: 'certificate-files', ok: false, detail: 'not written yet' });
    checks.push(async () => upstreamCheck(relay));
  }
  const status: StatusServer = await startStatusServer({
    address: o.statusAddress,
    checks,
    metrics: registry,
    debug: () =>
      agentDebugView({
        mode: o.grpc ? 'grpc' : o.envoy ? 'envoy' : 'sockets',
        proxyId: o.proxyId,
        controlPlane: o.controlPlane,
        workDir: o.workDir,
        certificates,
        relay,
        envoy,
        grpc: grpcMode?.status(),
      }),
  });
  log.info({ proxy: o.proxyId, statusUrl: status.url, controlPlane: o.controlPlane }, 'agent started; getting the workload certificate');
  const stopAll = async () => {
    await envoy?.stop('SIGTERM');
    await grpcMode?.stop();
    await relay?.close();
    await sds?.close();
    certificates.stop();
    ca.close();
    await status.close();
  };
  try {
    await certificates.start();
    let serial = certificates.certificate()?.serialNumber;
    const replicas = ReplicaRotation.parse(o.controlPlane);
    relay = await startAdsRelay({
      socketPath: xdsSocket,
      upstream: () => upstreamConnection(replicas.current, certificates),
      failover: replicas,
      secrets: certificates,
      onTrustBundle: (pem) => certificates.setTrustBundle(pem),
      node: { id: o.proxyId, cluster: o.cluster ?? o.proxyId, metadata: { [AGENT_NODE_METADATA]: 'true' } },
      logger: log,
    });
    const activeRelay = relay;
    // The upstream stream authenticated with the certificate it opened with: move to the new one now, not at its expiry.
    certificates.onChange(() => {
      const now = certificates.certificate()?.serialNumber;
      if (now === serial) return;
      serial = now;
      activeRelay.reconnectUpstream('workload certificate renewed');
    });
    if (o.grpc) {
      grpcMode = await startGrpcMode({
        proxyId: o.proxyId,
        cluster: o.cluster ?? o.proxyId,
        workDir: o.workDir,
        bootstrapPath: o.grpc.bootstrapPath,
        serverUri: `unix://${xdsSocket}`,
        certTtlSeconds: o.certTtlSeconds,
        secrets: certificates,
        logger: log,
      });
    } else sds = await startSdsServer({ socketPath: sdsSocket, secrets: certificates, logger: log });
    if (o.envoy) envoy = await startEnvoy(o, xdsSocket);
  } catch (err) {
    await stopAll();
    throw err;
  }
  if (grpcMode) {
    const g = grpcMode.status();
    log.info(
      { proxy: o.proxyId, statusUrl: status.url, xdsSocket, grpcBootstrap: g.bootstrap, certificateFiles: g.certificateFiles },
      'agent ready: run the app with GRPC_XDS_BOOTSTRAP set to grpcBootstrap',
    );
    return { statusUrl: status.url, xdsSocket, grpcBootstrap: g.bootstrap, stop: stopAll };
  }
  log.info(
    { proxy: o.proxyId, statusUrl: status.url, xdsSocket, sdsSocket, envoyAdmin: envoy?.status().adminUrl },
    'agent ready: serving SDS and ADS to Envoy over Unix sockets',
  );
  return { statusUrl: status.url, xdsSocket, sdsSocket, stop: stopAll };
}

async function startEnvoy(o: AgentOptions, xdsSocket: string): Promise<EnvoySupervisor> {
  const adminPort = await freeLoopbackPort();
  const bootstrapPath = join(o.workDir, 'envoy-bootstrap.json');
  await writeAgentBootstrap(
    bootstrapPath,
    agentBootstrap({
      proxyId: o.proxyId,
      cluster: o.cluster ?? o.proxyId,
      adsSocketPath: xdsSocket,
      adminAddress: { host: '127.0.0.1', port: adminPort },
    }),
  );
  const envoy = new EnvoySupervisor({
    envoyBin: o.envoy!.bin,
    bootstrapPath,
    extraArgs: o.envoy!.args,
    baseId: pickBaseId(o.proxyId),
    adminUrl: `http://127.0.0.1:${adminPort}`,
    logger: o.logger,
  });
  await envoy.start();
  return envoy;
}

async function upstreamCheck(relay: AdsRelay | undefined) {
  const s = relay?.status();
  if (s?.upstreamConnected) return { name: 'upstream', ok: true, detail: 'meshlite answers the relay' };
  return { name: 'upstream', ok: false, detail: s?.lastUpstreamError ?? 'no answer from meshlite yet' };
}

/** TLS to meshlite with the current workload certificate, verified against the current trust bundle. */
function upstreamConnection(address: string, certificates: CertificateManager) {
  const held = certificates.certificate();
  const bundle = Buffer.from(certificates.trustBundlePem());
  const credentials = held
    ? grpc.credentials.createSsl(bundle, Buffer.from(held.privateKeyPem), Buffer.from(held.certChainPem))
    : grpc.credentials.createSsl(bundle);
  return {
    address,
    credentials,
    options: { 'grpc.ssl_target_name_override': ADS_SERVER_NAME, 'grpc.use_local_subchannel_pool': 1 },
  };
}

export function agentMetrics(
  certificates: CertificateManager,
  relay: () => AdsRelay | undefined,
  envoy: () => EnvoySupervisor | undefined,
): Registry {
  const registry = new Registry();
  registerBuildInfo(registry, 'meshlite_agent_build_info');
  new Gauge({
    name: 'meshlite_agent_certificate_expiry_seconds',
    help: 'Seconds until the workload certificate the agent serves expires (negative once expired)',
    registers: [registry],
    collect() {
      const left = certificates.expiresInSeconds();
      if (left !== undefined) this.set(left);
    },
  });
  new Gauge({
    name: 'meshlite_agent_upstream_connected',
    help: '1 while the agent has a stream to meshlite',
    registers: [registry],
    collect() {
      this.set(relay()?.status().upstreamConnected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'meshlite_agent_envoy_restarts',
    help: 'Times the agent restarted its Envoy after it exited',
    registers: [registry],
    collect() {
      this.set(envoy()?.status().restarts ?? 0);
    },
  });
  return registry;
}
