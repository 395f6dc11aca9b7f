// Envoy v3 API schema, loaded from the .proto files that @grpc/grpc-js-xds ships
// (node_modules/@grpc/grpc-js-xds/deps/{envoy-api,xds,googleapis,protoc-gen-validate}).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

const TYPE_URL_PREFIX = 'type.googleapis.com/';

// Entry files; their imports are followed through the include path. The deps
// tree is a partial copy of envoy-api (some v2/v3 files reference protos that
// are not shipped), so loading "every file" fails: this list is deliberate.
export const ENVOY_ENTRY_FILES: readonly string[] = [
  ...[
    'config/bootstrap/v3/bootstrap',
    'config/cluster/v3/cluster',
    'config/listener/v3/listener',
    'config/route/v3/route',
    'config/route/v3/scoped_route',
    'config/endpoint/v3/endpoint',
    'config/endpoint/v3/load_report',
    'config/rbac/v3/rbac',
    'config/core/v3/resolver',
    'config/core/v3/udp_socket_config',
    'service/discovery/v3/ads',
    'service/discovery/v3/discovery',
    'service/secret/v3/sds',
    'service/cluster/v3/cds',
    'service/listener/v3/lds',
    'service/route/v3/rds',
    'service/route/v3/srds',
    'service/endpoint/v3/eds',
    'service/endpoint/v3/leds',
    'service/runtime/v3/rtds',
    'service/extension/v3/config_discovery',
    'service/status/v3/csds',
    // ext_authz's check API (CheckRequest/CheckResponse), for test authorization servers
    'service/auth/v3/external_auth',
    'service/load_stats/v3/lrs',
    ...[
      'certs',
      'clusters',
      'config_dump',
      'config_dump_shared',
      'init_dump',
      'listeners',
      'memory',
      'metrics',
      'mutex_stats',
      'server_info',
      'tap',
    ].map((f) => `admin/v3/${f}`),
    ...['tls', 'secret', 'cert', 'common', 'tls_spiffe_validator_config'].map((f) => `extensions/transport_sockets/tls/v3/${f}`),
    'extensions/transport_sockets/raw_buffer/v3/raw_buffer',
    'extensions/transport_sockets/proxy_protocol/v3/upstream_proxy_protocol',
    'extensions/transport_sockets/http_11_proxy/v3/upstream_http_11_connect',
    'extensions/transport_sockets/internal_upstream/v3/internal_upstream',
    'extensions/transport_sockets/tcp_stats/v3/tcp_stats',
    'extensions/filters/network/http_connection_manager/v3/http_connection_manager',
    'extensions/filters/network/tcp_proxy/v3/tcp_proxy',
    'extensions/filters/network/rbac/v3/rbac',
    'extensions/filters/network/ext_authz/v3/ext_authz',
    'extensions/filters/network/local_ratelimit/v3/local_rate_limit',
    'extensions/filters/network/direct_response/v3/config',
    'extensions/filters/network/connection_limit/v3/connection_limit',
    'extensions/filters/http/router/v3/router',
    'extensions/filters/http/rbac/v3/rbac',
    'extensions/filters/http/jwt_authn/v3/config',
    'extensions/filters/http/fault/v3/fault',
    'extensions/filters/http/ext_authz/v3/ext_authz',
    'extensions/filters/http/cors/v3/cors',
    'extensions/filters/http/health_check/v3/health_check',
    'extensions/filters/http/local_ratelimit/v3/local_rate_limit',
    'extensions/filters/http/lua/v3/lua',
    'extensions/filters/http/header_mutation/v3/header_mutation',
    'extensions/filters/http/grpc_web/v3/grpc_web',
    'extensions/filters/http/compressor/v3/compressor',
    'extensions/filters/listener/tls_inspector/v3/tls_inspector',
    'extensions/filters/listener/http_inspector/v3/http_inspector',
    'extensions/filters/listener/original_dst/v3/original_dst',
    'extensions/filters/listener/original_src/v3/original_src',
    'extensions/filters/listener/proxy_protocol/v3/proxy_protocol',
    'extensions/retry/host/previous_hosts/v3/previous_hosts',
    'extensions/path/match/uri_template/v3/uri_template_match',
    'extensions/upstreams/http/v3/http_protocol_options',
    'extensions/upstreams/tcp/v3/tcp_protocol_options',
    'extensions/clusters/aggregate/v3/cluster',
    'extensions/clusters/dynamic_forward_proxy/v3/cluster',
    'extensions/clusters/redis/v3/redis_cluster',
    'extensions/access_loggers/file/v3/file',
    'extensions/access_loggers/stream/v3/stream',
    'extensions/access_loggers/grpc/v3/als',
    ...[
      'client_side_weighted_round_robin',
      'cluster_provided',
      'least_request',
      'maglev',
      'pick_first',
      'random',
      'ring_hash',
      'round_robin',
      'subset',
      'wrr_locality',
    ].map((p) => `extensions/load_balancing_policies/${p}/v3/${p}`),
    ...['filter_state', 'http_inputs', 'metadata', 'node', 'number', 'path', 'regex', 'status_code_input', 'string', 'struct', 'value'].map(
      (f) => `type/matcher/v3/${f}`,
    ),
  ].map((f) => `envoy/${f}.proto`),
  'udpa/type/v1/typed_struct.proto',
  'xds/type/v3/typed_struct.proto',
  // protobufjs's bundled copies (not files on disk); loaded so that every
  // well-known type can be named directly or inside an Any.
  ...['any', 'duration', 'empty', 'field_mask', 'struct', 'timestamp', 'wrappers'].map((f) => `google/protobuf/${f}.proto`),
];

export interface EnvoyRootStats {
  loadMillis: number;
  fileCount: number;
}

let cachedRoot: protobuf.Root | undefined;
let cachedStats: EnvoyRootStats | undefined;
const messageCache = new Map<string, protobuf.Type>();

function includeDirs(): string[] {
  const require = createRequire(import.meta.url);
  const xdsDir = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  // descriptor.proto is not one of protobufjs's bundled "common" files, but the
  // package ships it under google/protobuf/.
  const protobufDir = dirname(require.resolve('protobufjs/package.json'));
  const deps = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(xdsDir, 'deps', d));
  return [...deps, protobufDir];
}

function loadRoot(): protobuf.Root {
  const started = performance.now();
  const dirs = includeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (origin: string, target: string): string => {
    for (const dir of dirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    // protobufjs substitutes its bundled well-known types for these names.
    if (target.startsWith('google/protobuf/')) return target;
    // Returning null would make protobufjs skip the import silently and fail
    // later with a vaguer "no such type" error.
    throw new Error(`envoy-root: cannot find "${target}"${origin ? ` (imported by ${origin})` : ''} in ${dirs.join(', ')}`);
  };
  root.loadSync([...ENVOY_ENTRY_FILES], { keepCase: true });
  root.resolveAll();
  cachedStats = { loadMillis: performance.now() - started, fileCount: root.files.length };
  return root;
}

/** The shared Envoy v3 schema root; loaded on first use (0.25-0.5s), then cached. */
export function envoyRoot(): protobuf.Root {
  cachedRoot ??= loadRoot();
  return cachedRoot;
}

/** How long the root took to load, or undefined if it has not been loaded yet. */
export function envoyRootStats(): EnvoyRootStats | undefined {
  return cachedStats;
}

/** Looks up a message type by full name, with or without a leading dot. */
export function lookupMessage(fullName: string): protobuf.Type {
  const name = fullName.startsWith('.') ? fullName.slice(1) : fullName;
  const cached = messageCache.get(name);
  if (cached) return cached;
  let found: protobuf.ReflectionObject | null = null;
  if (/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name)) {
    found = envoyRoot().lookup(`.${name}`);
  }
  if (!(found instanceof protobuf.Type)) {
    const kind = found?.constructor.name.toLowerCase() ?? '';
    const what = found ? `names ${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}, not a message type` : 'is not a known message type';
    throw new Error(`"${fullName}" ${what} (the Envoy root loads the entry files listed in src/proto/envoy-root.ts)`);
  }
  messageCache.set(name, found);
  return found;
}

/** `type.googleapis.com/<fullName>`, the type URL Envoy expects in Any and DiscoveryResponse. */
export function typeUrl(fullName: string): string {
  return TYPE_URL_PREFIX + (fullName.startsWith('.') ? fullName.slice(1) : fullName);
}
