// Small Envoy JSON fragments shared by the builders.
import type { Json } from '../proto/proto-json.js';
import { TYPE } from './type-urls.js';

export type JsonObject = { [key: string]: Json };

export const ADS_CONFIG_SOURCE: JsonObject = { ads: {}, resource_api_version: 'V3' };

export const DEFAULT_CONNECT_TIMEOUT = '10s';

export function socketAddress(address: string, port: number): JsonObject {
  return { socket_address: { address, port_value: port } };
}

export function sdsSecretConfig(name: string): JsonObject {
  return { name, sds_config: ADS_CONFIG_SOURCE };
}

export function typed(typeUrl: string, fields: JsonObject = {}): JsonObject {
  return { '@type': typeUrl, ...fields };
}

export const RAW_BUFFER_SOCKET: JsonObject = {
  name: 'envoy.transport_sockets.raw_buffer',
  typed_config: typed(TYPE.rawBuffer),
};

export const TLS_PARAMS: JsonObject = {
  tls_minimum_protocol_version: 'TLSv1_2',
  tls_maximum_protocol_version: 'TLSv1_3',
};

/** Istio durations ("100ms", "1m30s") to protobuf JSON durations ("0.100s", "90s"). */
export function protoDuration(istio: string): string {
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

export function byName<T extends { name?: Json }>(a: T, b: T): number {
  return String(a.name).localeCompare(String(b.name));
}
