// Access logs from the MeshConfig: every HTTP connection manager and tcp_proxy
// of a proxy's listeners writes one entry per request (HTTP) or connection
// (TCP) to the configured file or stream, in meshlite's default format or the
// custom one.
import type { AccessLogSettings } from '../model/view-types.js';
import { typed } from './common.js';
import type {
  envoy_config_accesslog_v3_AccessLog as AccessLog,
  envoy_config_core_v3_SubstitutionFormatString as SubstitutionFormatString,
  Listener,
} from './envoy-types/index.js';
import { TYPE } from './type-urls.js';

/**
 * meshlite's default fields. HTTP entries fill the request fields; TCP entries
 * leave them "-" (null in JSON) and fill the connection ones. Either kind says
 * why it was refused: an HTTP RBAC deny writes `rbac_access_denied_matched_policy[<policy>]`
 * into the response code details, a network RBAC deny the same into the
 * connection termination details.
 */
export const DEFAULT_JSON_FORMAT: Readonly<Record<string, string>> = {
  start_time: '%START_TIME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  connection_termination_details: '%CONNECTION_TERMINATION_DETAILS%',
  authority: '%REQ(:AUTHORITY)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  peer_identity: '%DOWNSTREAM_PEER_URI_SAN%',
  local_identity: '%DOWNSTREAM_LOCAL_URI_SAN%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  upstream_cluster: '%UPSTREAM_CLUSTER%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
};

/** The same fields on one line: the request first, then why it ended, then who and where, then sizes and time. */
export const DEFAULT_TEXT_FORMAT = `${[
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"',
  '%RESPONSE_CODE% %RESPONSE_FLAGS% details=%RESPONSE_CODE_DETAILS% termination=%CONNECTION_TERMINATION_DETAILS%',
  'authority="%REQ(:AUTHORITY)%" request_id=%REQ(X-REQUEST-ID)%',
  'peer=%DOWNSTREAM_PEER_URI_SAN% local=%DOWNSTREAM_LOCAL_URI_SAN% from=%DOWNSTREAM_REMOTE_ADDRESS%',
  'upstream=%UPSTREAM_CLUSTER% host=%UPSTREAM_HOST% upstream_failure=%UPSTREAM_TRANSPORT_FAILURE_REASON%',
  'rx=%BYTES_RECEIVED% tx=%BYTES_SENT% ms=%DURATION%',
].join(' ')}\n`;

/**
 * The `access_log` entry for `settings`. `/dev/stdout` and `/dev/stderr` get
 * Envoy's stream loggers, which write to the process's own descriptors: opening
 * those paths fails when the descriptor is a socket (as when a Node parent
 * such as `meshlite agent` reads Envoy's output), and Envoy would then refuse
 * every listener carrying the log.
 */
export function accessLogEntry(settings: AccessLogSettings): AccessLog {
  const log_format: SubstitutionFormatString =
    settings.encoding === 'JSON'
      ? { json_format: { ...(settings.json ?? DEFAULT_JSON_FORMAT) } }
      : { text_format_source: { inline_string: settings.text ?? DEFAULT_TEXT_FORMAT } };
  if (settings.path === '/dev/stdout')
    return { name: 'envoy.access_loggers.stdout', typed_config: typed(TYPE.stdoutAccessLog, { log_format }) };
  if (settings.path === '/dev/stderr')
    return { name: 'envoy.access_loggers.stderr', typed_config: typed(TYPE.stderrAccessLog, { log_format }) };
  return { name: 'envoy.access_loggers.file', typed_config: typed(TYPE.fileAccessLog, { path: settings.path, log_format }) };
}

const LOGGING_FILTERS = new Set(['envoy.filters.network.http_connection_manager', 'envoy.filters.network.tcp_proxy']);

/**
 * `listeners` with the access log on every HCM and tcp_proxy (new objects;
 * the inputs, which caches may share, are left alone). Without settings, the
 * same array.
 */
export function withAccessLog(listeners: Listener[], settings: AccessLogSettings | undefined): Listener[] {
  if (!settings) return listeners;
  const entry = accessLogEntry(settings);
  return listeners.map((listener) => ({
    ...listener,
    filter_chains: listener.filter_chains?.map((chain) => ({
      ...chain,
      filters: chain.filters?.map((filter) =>
        filter.name && LOGGING_FILTERS.has(filter.name) && filter.typed_config
          ? { ...filter, typed_config: { ...filter.typed_config, access_log: [entry] } as typeof filter.typed_config }
          : filter,
      ),
    })),
  }));
}
