// Writes src/xds/envoy-types/index.ts (gitignored): TypeScript types for the
// Envoy resources meshlite builds, generated from the protos at build time
// (`npm run build` and `npm run typecheck` run it before tsc). Deterministic:
// the same protos give the same bytes, and an unchanged file is not rewritten.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envoyRoot } from '../src/proto/envoy-root.js';
import { emitEnvoyTypes, type EnvoyTypeSelection } from './envoy-type-emitter.js';

/**
 * What src/xds builds: the resources it serves and the bootstrap it writes,
 * and every message it puts inside an Any. A builder that writes a type URL
 * missing here does not compile (common.ts's `typed` takes only these).
 */
export const ENVOY_TYPE_SELECTION: EnvoyTypeSelection = {
  roots: [
    'envoy.config.cluster.v3.Cluster',
    'envoy.config.endpoint.v3.ClusterLoadAssignment',
    'envoy.config.listener.v3.Listener',
    'envoy.config.route.v3.RouteConfiguration',
    'envoy.extensions.transport_sockets.tls.v3.Secret',
    'envoy.config.bootstrap.v3.Bootstrap',
  ],
  anyPayloads: [
    'envoy.config.cluster.v3.Cluster',
    'envoy.config.endpoint.v3.ClusterLoadAssignment',
    'envoy.config.listener.v3.Listener',
    'envoy.config.route.v3.RouteConfiguration',
    'envoy.extensions.transport_sockets.tls.v3.Secret',
    'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
    'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
    'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer',
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
    'envoy.extensions.filters.network.rbac.v3.RBAC',
    'envoy.extensions.filters.network.ext_authz.v3.ExtAuthz',
    'envoy.extensions.filters.http.router.v3.Router',
    'envoy.extensions.filters.http.rbac.v3.RBAC',
    'envoy.extensions.filters.http.rbac.v3.RBACPerRoute',
    'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
    'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
    'envoy.extensions.filters.http.fault.v3.HTTPFault',
    'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
    'envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
    'envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig',
    'envoy.extensions.access_loggers.file.v3.FileAccessLog',
    'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
    'envoy.extensions.access_loggers.stream.v3.StderrAccessLog',
  ],
};

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ENVOY_TYPES_FILE = join(REPO_ROOT, 'src', 'xds', 'envoy-types', 'index.ts');

function main(): void {
  const started = performance.now();
  const text = emitEnvoyTypes(envoyRoot(), ENVOY_TYPE_SELECTION);
  let before: string | undefined;
  try {
    before = readFileSync(ENVOY_TYPES_FILE, 'utf8');
  } catch {
    before = undefined;
  }
  if (before !== text) {
    mkdirSync(dirname(ENVOY_TYPES_FILE), { recursive: true });
    writeFileSync(ENVOY_TYPES_FILE, text);
  }
  if (process.argv.includes('--stats')) {
    const millis = Math.round(performance.now() - started);
    const kib = Math.round(Buffer.byteLength(text) / 1024);
    console.log(`envoy types: ${kib} KiB, ${before === text ? 'unchanged' : 'written'} in ${millis} ms`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
