// `meshlite agent`: runs one proxy's node agent, and its Envoy under it (or,
// with --grpc, serves a proxyless gRPC app instead).
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { readRootCertOrExit, ttlSecondsOrExit } from './certificate-flags.js';
import { addLogFormatOption, createLogger, type LogFormat } from './log-format.js';
import { exitWith } from './state.js';

interface AgentCliOptions {
  proxy?: string;
  group?: string;
  address?: string;
  controlPlane: string;
  tokenFile: string;
  rootCert: string;
  workDir?: string;
  statusAddress: string;
  certTtl?: string;
  envoyBin: string;
  envoy: boolean;
  grpc?: boolean;
  grpcBootstrap?: string;
  cluster?: string;
  logLevel: string;
  logFormat: LogFormat;
}

const fail = (message: string): never => exitWith(`meshlite agent: ${message}`);

export function agentCommand(): Command {
  const command = new Command('agent')
    .description(
      "run a proxy's node agent: its key is made here, its certificate comes from meshlite's CA and is renewed at half life; Envoy gets SDS and ADS over Unix sockets (no token or CA in its bootstrap) and is started and restarted by the agent",
    )
    .usage('--proxy <name.namespace> --control-plane <host:port> --token-file <file> --root-cert <file> [options] [-- envoy args...]')
    .option('--proxy <name.namespace>', 'the workload this proxy is (its WorkloadEntry); this or --group is required')
    .option(
      '--group <name.namespace>',
      'instead of --proxy: register this host as a workload of the WorkloadGroup (token from `meshlite token --group`), run its probe here and report the verdict, then run the agent as the registered workload (no --grpc); needs --address',
    )
    .option('--address <ip>', 'with --group: the address other proxies reach this host at (and probes connect to)')
    .requiredOption(
      '--control-plane <host:port[,host:port...]>',
      "meshlite's ADS address; with several replicas, all of them: the agent moves to the next when one fails",
    )
    .requiredOption(
      '--token-file <file>',
      'a proxy token for the workload (`meshlite token`), needed for the first certificate only; re-read at each use',
    )
    .requiredOption(
      '--root-cert <file>',
      "meshlite's root (state dir ca/root-cert.pem), trusted at first contact; meshlite's own bundle replaces it",
    )
    .option('--work-dir <dir>', 'sockets and Envoy bootstrap (created 0700)', undefined)
    .option('--status-address <host:port>', 'readiness (/healthz/ready), metrics (/stats/prometheus) and /debug/agent', '127.0.0.1:15020')
    .option('--cert-ttl <duration>', 'certificate lifetime to ask for (meshlite grants at most its --cert-ttl)')
    .option('--envoy-bin <path>', 'the Envoy binary', process.env.ENVOY_BIN ?? 'envoy')
    .option('--no-envoy', 'do not run Envoy: only serve the sockets (for an Envoy started some other way)')
    .option(
      '--grpc',
      'serve a proxyless gRPC app instead of Envoy: certificate files in <work-dir>/certs and a gRPC xDS bootstrap (implies --no-envoy)',
    )
    .option('--grpc-bootstrap <path>', 'where --grpc writes the bootstrap for GRPC_XDS_BOOTSTRAP (default <work-dir>/grpc-bootstrap.json)')
    .option('--cluster <name>', 'the node cluster Envoy reports (default: the proxy id)')
    .option('--log-level <level>', 'pino log level', 'info');
  return addLogFormatOption(command)
    .argument('[envoy-args...]', 'extra Envoy arguments, after --')
    .action(async (envoyArgs: string[], opts: AgentCliOptions) => {
      if (opts.group !== undefined) return runRegistration(opts, envoyArgs);
      const proxy = opts.proxy ?? fail("give '--proxy <name.namespace>' (or '--group <name.namespace>')");
      await runAgent(opts, proxy, envoyArgs);
    });
}

/** The node agent of `proxy`; `before` is stopped first on a signal (the registration of --group). */
async function runAgent(opts: AgentCliOptions, proxy: string, envoyArgs: string[], before?: { stop(): void }): Promise<void> {
  if (opts.grpcBootstrap !== undefined && !opts.grpc) fail('--grpc-bootstrap needs --grpc');
  if (opts.grpc && envoyArgs.length > 0) fail(`--grpc runs no Envoy, so it takes no Envoy arguments after --, got: ${envoyArgs.join(' ')}`);
  const rootCertPem = readRootCertOrExit(opts.rootCert, 'meshlite agent');
  const certTtlSeconds = opts.certTtl === undefined ? undefined : ttlSecondsOrExit(opts.certTtl, '--cert-ttl', 'meshlite agent');
  const workDir = resolve(opts.workDir ?? join(tmpdir(), `meshlite-agent-${proxy}`));
  const [logger, { startAgent }] = await Promise.all([
    createLogger(opts.logFormat, { level: opts.logLevel, base: { service: 'meshlite-agent', proxy } }),
    import('../agent/agent.js'),
  ]);
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'agent stopping: Envoy first');
    await agent?.stop();
    before?.stop();
    logger.info({}, 'agent stopped');
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    agent = await startAgent({
      proxyId: proxy,
      cluster: opts.cluster,
      controlPlane: opts.controlPlane,
      tokenFile: opts.tokenFile,
      rootCertPem,
      workDir,
      statusAddress: opts.statusAddress,
      certTtlSeconds,
      envoy: opts.envoy && !opts.grpc ? { bin: opts.envoyBin, args: envoyArgs } : undefined,
      grpc: opts.grpc ? { bootstrapPath: resolve(opts.grpcBootstrap ?? join(workDir, 'grpc-bootstrap.json')) } : undefined,
      logger,
    });
  } catch (err) {
    if (stopping) return;
    fail((err as Error).message);
  }
}

/**
 * `--group`: registers this host and keeps it registered; unless --no-envoy,
 * then runs the node agent (certificate, relays, Envoy) as the registered workload.
 */
async function runRegistration(opts: AgentCliOptions, envoyArgs: string[]): Promise<void> {
  if (opts.proxy !== undefined) fail('give either --proxy or --group, not both');
  if (opts.address === undefined || isIP(opts.address) === 0) fail('--group needs --address <ip> (an IP address)');
  if (opts.grpc) fail('--group runs Envoy (or, with --no-envoy, nothing): --grpc is not supported with it');
  const rootCertPem = readRootCertOrExit(opts.rootCert, 'meshlite agent');
  const [logger, { RegistrationAgent }, { readTokenFile }] = await Promise.all([
    createLogger(opts.logFormat, { level: opts.logLevel, base: { service: 'meshlite-agent', group: opts.group } }),
    import('../agent/registration-agent.js'),
    import('../agent/token-file.js'),
  ]);
  const agent = new RegistrationAgent({
    controlPlane: opts.controlPlane.split(',')[0]!,
    group: opts.group!,
    address: opts.address!,
    token: () => {
      try {
        return readTokenFile(opts.tokenFile);
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'cannot read the token file');
        return undefined;
      }
    },
    rootCertPem,
    logger,
  });
  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'agent stopping: its registration ends after the grace period');
    agent.stop();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  agent.start();
  if (opts.envoy) {
    let workloadId: string | undefined;
    // Registration retries on its own; the node agent starts once meshlite answered.
    while (!workloadId)
      workloadId = await agent
        .registered(60_000)
        .catch((err: Error) => void logger.warn({ err: err.message }, 'not registered with meshlite after 60 s; still trying'));
    process.removeListener('SIGTERM', stop);
    process.removeListener('SIGINT', stop);
    return runAgent(opts, workloadId, envoyArgs, agent);
  }
  // Keeps the process alive: the agent's timers do not.
  setInterval(() => undefined, 1 << 30);
}
