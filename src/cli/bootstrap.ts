import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { canonicalJson } from '../proto/proto-json.js';
import { asJson } from '../xds/common.js';
import { buildBootstrap } from '../xds/bootstrap.js';
import { buildGrpcBootstrap } from '../xds/proxyless-bootstrap.js';
import { proxylessClients } from '../model/proxyless-view.js';
import { isProxylessWorkload, PROXYLESS_GRPC_ANNOTATION } from '../model/proxyless-workload.js';
import { formatJson } from '../translate/proxy-config-dump.js';
import { DEFAULT_TOKEN_TTL_SECONDS } from '../identity/proxy-token.js';
import { addConfigSourceFlags, type ConfigSourceFlags, storeModelOrExit, withConfigSource } from './config-source.js';
import { loadModelOrExit } from './load.js';
import { type Endpoint, replicaEndpointsOrExit } from './replica-endpoints.js';
import { DEFAULT_ADS_ADDRESS, DEFAULT_STATE_DIR, durationOrExit, exitWith, loadIdentityState, requireEnvoyProxy } from './state.js';
import { storeBootstrapIdentity, storeReplicaEndpointsOrExit } from './store-bootstrap.js';
import type { EtcdStore } from '../store/etcd-store.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { TokenAuthority } from '../identity/proxy-token.js';

export function bootstrapCommand(): Command {
  return addConfigSourceFlags(
    new Command('bootstrap').description(
      'write the Envoy bootstrap for a proxy (pass it to `envoy -c`), or with --grpc the gRPC xDS bootstrap of a proxyless client (GRPC_XDS_BOOTSTRAP)',
    ),
    'config file or directory (repeatable); or --store: the config, token key, CA root and replica addresses of a store',
  )
    .requiredOption(
      '--proxy <name.namespace>',
      'the workload this Envoy serves: a sidecar or a gateway (or, with --grpc, the proxyless workload)',
    )
    .option('--state-dir <dir>', 'the state directory of meshlite serve (CA root, token key)', DEFAULT_STATE_DIR)
    .option('--ca-dir <dir>', 'plugged-in CA directory (Istio cacerts layout)')
    .option('--ads-address <host:port>', "where meshlite's ADS listens", DEFAULT_ADS_ADDRESS)
    .option(
      '--control-plane <host:port,...>',
      "every replica's ADS address, comma-separated: Envoy moves to a live one when its replica dies (replaces --ads-address)",
    )
    .option('--store-key-file <file>', 'with --store: the key the replicas seal the CA and token keys with (serve --store-key-file)')
    .option('--root-cert <file>', "with --store and a plugged-in CA (serve --ca-dir): its root-cert.pem, checked against the store's")
    .option('--admin-address <ip>', "Envoy's admin address", '127.0.0.1')
    .option('--admin-port <port>', "Envoy's admin port (0 = any; use envoy --admin-address-path to learn it)", '15000')
    .option(
      '--token-ttl <duration>',
      'lifetime of the embedded token (static in the file: bootstrap again before it expires; the stream is closed then)',
      `${DEFAULT_TOKEN_TTL_SECONDS / 86400}d`,
    )
    .option('--insecure', 'plaintext ADS without a token (meshlite serve --insecure)')
    .option(
      '--grpc',
      `gRPC xDS bootstrap for a proxyless client (workload annotated ${PROXYLESS_GRPC_ANNOTATION}: "true"); needs meshlite serve --insecure`,
    )
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action((opts: BootstrapOptions) => withConfigSource(opts, 'bootstrap', (_source, store) => makeBootstrap(opts, store)));
}

interface BootstrapOptions extends ConfigSourceFlags {
  proxy: string;
  stateDir: string;
  caDir?: string;
  adsAddress: string;
  controlPlane?: string;
  storeKeyFile?: string;
  rootCert?: string;
  adminAddress: string;
  adminPort: string;
  tokenTtl: string;
  insecure?: boolean;
  grpc?: boolean;
  output?: string;
}

/** With `store`, everything comes from it (config, replicas, identity); otherwise from -c and the state directory. */
async function makeBootstrap(opts: BootstrapOptions, store: EtcdStore | undefined): Promise<void> {
  if (store === undefined && opts.rootCert !== undefined) exitWith('meshlite bootstrap: --root-cert goes with --store');
  const model = store ? await storeModelOrExit(store) : loadModelOrExit(opts.config!, opts.namespace);
  if (opts.grpc) {
    const workload = model.registry.workload(opts.proxy);
    if (!isProxylessWorkload(workload)) {
      const known = proxylessClients(model).map((w) => w.id);
      process.stderr.write(
        `${workload ? `workload "${opts.proxy}" is not proxyless (annotation ${PROXYLESS_GRPC_ANNOTATION}: "true")` : `no workload "${opts.proxy}"`}; proxyless workloads: ${known.join(', ') || 'none'}\n`,
      );
      process.exit(1);
    }
    if (!opts.insecure) process.stderr.write('note: grpc xDS clients reach meshlite over plaintext only; run meshlite serve --insecure\n');
    const text = `${JSON.stringify(buildGrpcBootstrap({ workload: workload!, adsAddress: opts.adsAddress }), null, 2)}\n`;
    if (opts.output) writeFileSync(opts.output, text);
    else process.stdout.write(text);
    return;
  }
  const { namespace, kind } = requireEnvoyProxy(model, opts.proxy);
  const i = opts.adsAddress.lastIndexOf(':');
  const adsEndpoints: Endpoint[] | undefined = store
    ? await storeReplicaEndpointsOrExit(store, opts.controlPlane)
    : await replicaEndpointsOrExit(opts);
  let caRootPem: string | undefined;
  let token: string | undefined;
  if (!opts.insecure) {
    const ttl = durationOrExit('--token-ttl', opts.tokenTtl);
    const { rootPem, tokens } = store ? await storeBootstrapIdentity(store, opts, model.mesh.trustDomain) : await fileIdentity(opts, model);
    caRootPem = rootPem;
    const issued = await tokens.issueToken(opts.proxy, ttl);
    token = issued.token;
    const expires = new Date(issued.expiresAt * 1000).toISOString();
    process.stderr.write(
      `embedded token id (jti) ${issued.tokenId} for ${opts.proxy} expires ${expires}: make a new bootstrap before then\n`,
    );
  }
  const bootstrap = buildBootstrap({
    proxyId: opts.proxy,
    kind,
    namespace,
    adsHost: opts.adsAddress.slice(0, i),
    adsPort: Number(opts.adsAddress.slice(i + 1)),
    adsEndpoints,
    adminAddress: opts.adminAddress,
    adminPort: Number(opts.adminPort),
    caRootPem,
    token,
  });
  const text = formatJson(canonicalJson('envoy.config.bootstrap.v3.Bootstrap', asJson(bootstrap)));
  if (opts.output) writeFileSync(opts.output, text, { mode: 0o600 });
  else process.stdout.write(text);
}

async function fileIdentity(opts: BootstrapOptions, model: MeshModel): Promise<{ rootPem: string; tokens: TokenAuthority }> {
  const { ca, tokens } = await loadIdentityState(opts.stateDir, opts.caDir, model);
  return { rootPem: ca.rootCertPem, tokens };
}
