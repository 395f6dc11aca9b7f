// Access logs from the MeshConfig: every HTTP connection manager and tcp_proxy
// of a proxy's listeners writes one entry per request (HTTP) or connection
// (TCP) to the configured file, in meshlite's default format or the custom one.
import type { AccessLogSettings } from '../model/view-types.js';
import { typed } from './common.js';
import type { envoy_config_accesslog_v3_AccessLog as AccessLog, FileAccessLog, Listener } from './envoy-types/index.js';
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

/** The `access_log` entry for `settings`. */
export function fileAccessLog(settings: AccessLogSettings): AccessLog {
  const config: FileAccessLog = { path: settings.path };
  if (settings.encoding === 'JSON') {
    config.log_format = { json_format: { ...(settings.json ?? DEFAULT_JSON_FORMAT) } };
  } else {
    config.log_format = { text_format_source: { inline_string: settings.text ?? DEFAULT_TEXT_FORMAT } };
  }
  return { name: 'envoy.access_loggers.file', typed_config: typed(TYPE.fileAccessLog, config) };
}

const LOGGING_FILTERS = new Set(['envoy.filters.network.http_connection_manager', 'envoy.filters.network.tcp_proxy']);

/**
 * `listeners` with the access log on every HCM and tcp_proxy (new objects;
 * the inputs, which caches may share, are left alone). Without settings, the
 * same array.
 */
export function withAccessLog(listeners: Listener[], settings: AccessLogSettings | undefined): Listener[] {
  if (!settings) return listeners;
  const entry = fileAccessLog(settings);
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
