// `meshlite agent`: runs one proxy's node agent, and its Envoy under it (or,
// with --grpc, serves a proxyless gRPC app instead).
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { readRootCertOrExit, ttlSecondsOrExit } from './certificate-flags.js';
import { exitWith } from './state.js';

interface AgentCliOptions {
  proxy: string;
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
}

const fail = (message: string): never => exitWith(`meshlite agent: ${message}`);

export function agentCommand(): Command {
  return new Command('agent')
    .description(
      "run a proxy's node agent: its key is made here, its certificate comes from meshlite's CA and is renewed at half life; Envoy gets SDS and ADS over Unix sockets (no token or CA in its bootstrap) and is started and restarted by the agent",
    )
    .usage('--proxy <name.namespace> --control-plane <host:port> --token-file <file> --root-cert <file> [options] [-- envoy args...]')
    .requiredOption('--proxy <name.namespace>', 'the workload this proxy is (its WorkloadEntry)')
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
    .option('--log-level <level>', 'pino log level', 'info')
    .argument('[envoy-args...]', 'extra Envoy arguments, after --')
    .action(async (envoyArgs: string[], opts: AgentCliOptions) => {
      if (opts.grpcBootstrap !== undefined && !opts.grpc) fail('--grpc-bootstrap needs --grpc');
      if (opts.grpc && envoyArgs.length > 0)
        fail(`--grpc runs no Envoy, so it takes no Envoy arguments after --, got: ${envoyArgs.join(' ')}`);
      const rootCertPem = readRootCertOrExit(opts.rootCert, 'meshlite agent');
      const certTtlSeconds = opts.certTtl === undefined ? undefined : ttlSecondsOrExit(opts.certTtl, '--cert-ttl', 'meshlite agent');
      const workDir = resolve(opts.workDir ?? join(tmpdir(), `meshlite-agent-${opts.proxy}`));
      const [{ pino }, { startAgent }] = await Promise.all([import('pino'), import('../agent/agent.js')]);
      const logger = pino({ level: opts.logLevel, base: { service: 'meshlite-agent', proxy: opts.proxy } });
      let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
      let stopping = false;
      const stop = async (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'agent stopping: Envoy first');
        await agent?.stop();
        logger.info({}, 'agent stopped');
        process.exit(0);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      try {
        agent = await startAgent({
          proxyId: opts.proxy,
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
    });
}
