// Small Envoy JSON fragments shared by the builders.
import type { Json } from '../proto/proto-json.js';
import type {
  Address,
  AnyOf,
  AnyPayloads,
  AnyTypeUrl,
  ConfigSource,
  Duration,
  envoy_config_listener_v3_Filter as NetworkFilter,
  HttpFilter,
  SdsSecretConfig,
  TlsParameters,
  TransportSocket,
} from './envoy-types/index.js';
import { TYPE } from './type-urls.js';

/** Generic proto3 JSON, for what is not one of the Envoy types (config dumps, admin views). */
export type JsonObject = { [key: string]: Json };

/**
 * A built Envoy message as generic JSON (the same object), for code that walks
 * or encodes JSON whatever its type. Builders write only JSON values, so this holds.
 */
export function asJson(message: object): JsonObject {
  return message as JsonObject;
}

/** `{name, typed_config}`: valid among an HCM's http_filters and in a filter chain alike; the caller's protocol says which it is. */
export type HttpOrNetworkFilter = HttpFilter & NetworkFilter;

export const ADS_CONFIG_SOURCE: ConfigSource = { ads: {}, resource_api_version: 'V3' };

export const DEFAULT_CONNECT_TIMEOUT = '10s';

export function socketAddress(address: string, port: number): Address {
  return { socket_address: { address, port_value: port } };
}

export function sdsSecretConfig(name: string): SdsSecretConfig {
  return { name, sds_config: ADS_CONFIG_SOURCE };
}

/** An Any holding the message of `typeUrl`; only the payload types the generator lists compile. */
export function typed<U extends AnyTypeUrl>(typeUrl: U, fields?: AnyPayloads[U]): AnyOf<U> {
  return { '@type': typeUrl, ...fields } as AnyOf<U>;
}

export const RAW_BUFFER_SOCKET: TransportSocket = {
  name: 'envoy.transport_sockets.raw_buffer',
  typed_config: typed(TYPE.rawBuffer),
};

export const TLS_PARAMS: TlsParameters = {
  tls_minimum_protocol_version: 'TLSv1_2',
  tls_maximum_protocol_version: 'TLSv1_3',
};

/** Istio durations ("100ms", "1m30s") to protobuf JSON durations ("0.100s", "90s"). */
export function protoDuration(istio: string): Duration {
  const units: Record<string, number> = { h: 3600e9, m: 60e9, s: 1e9, ms: 1e6, us: 1e3, µs: 1e3, ns: 1 };
  let nanos = 0n;
  for (const m of istio.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) {
    nanos += BigInt(Math.round(Number(m[1]) * units[m[2]!]!));
  }
  const seconds = nanos / 1_000_000_000n;
  const frac = nanos % 1_000_000_000n;
  if (frac === 0n) return `${seconds}s`;
  let digits = frac.toString().padStart(9, '0');
  digits = digits.endsWith('000000') ? digits.slice(0, 3) : digits.endsWith('000') ? digits.slice(0, 6) : digits;
  return `${seconds}.${digits}s`;
}

export function byName<T extends { name?: string }>(a: T, b: T): number {
  return String(a.name).localeCompare(String(b.name));
}

/**
 * `[...shared, ...own].sort(byName)` when `shared` is already sorted by name:
 * one pass over the shared list (a proxy's own resources are few, the ones it
 * shares with its namespace many). Ties keep shared before own, as the stable sort does.
 */
export function mergeByName<T extends { name?: string }>(shared: readonly T[], own: readonly T[]): T[] {
  const mine = [...own].sort(byName);
  const out: T[] = [];
  let i = 0;
  for (const item of mine) {
    while (i < shared.length && byName(item, shared[i]!) >= 0) out.push(shared[i++]!);
    out.push(item);
  }
  while (i < shared.length) out.push(shared[i++]!);
  return out;
}
