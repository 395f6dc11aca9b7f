// Wire encoding of the ADS messages. Requests are decoded leniently (newer
// Envoys send fields our protos may not know); responses carry resources that
// were already encoded strictly when the snapshot was built.
import type protobuf from 'protobufjs';
import { lookupMessage } from '../proto/envoy-root.js';
import { writeSotwResponse } from './sotw-response-writer.js';

export interface NodeInfo {
  id: string;
  cluster: string;
  metadata: Record<string, unknown>;
  userAgent: string;
}

export interface SotwRequest {
  versionInfo: string;
  node?: NodeInfo;
  resourceNames: string[];
  typeUrl: string;
  responseNonce: string;
  errorDetail?: { code: number; message: string };
}

export interface DeltaRequest {
  node?: NodeInfo;
  typeUrl: string;
  subscribe: string[];
  unsubscribe: string[];
  initialResourceVersions: Record<string, string>;
  responseNonce: string;
  errorDetail?: { code: number; message: string };
}

export interface WireResource {
  name: string;
  version: string;
  value: Uint8Array;
}

let types: Record<string, protobuf.Type> | undefined;
/** The DiscoveryRequest/Response message types (v3, SotW and delta), looked up once. */
export function discoveryMessageTypes(): Record<string, protobuf.Type> {
  types ??= {
    request: lookupMessage('envoy.service.discovery.v3.DiscoveryRequest'),
    response: lookupMessage('envoy.service.discovery.v3.DiscoveryResponse'),
    deltaRequest: lookupMessage('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
    deltaResponse: lookupMessage('envoy.service.discovery.v3.DeltaDiscoveryResponse'),
  };
  return types;
}

// protobufjs's toObject output: plain JSON-like data whose shape the caller knows.
// biome-ignore lint/suspicious/noExplicitAny: decoded protobuf objects are read field by field by typed callers
type Decoded = Record<string, any>;
const TO_OBJECT = { longs: String, enums: String, defaults: false, arrays: true, objects: true } as const;

function decode(type: protobuf.Type, bytes: Uint8Array): Decoded {
  return type.toObject(type.decode(bytes), TO_OBJECT) as Decoded;
}

function structValue(value: Decoded | undefined): unknown {
  if (!value) return null;
  if ('stringValue' in value) return value.stringValue;
  if ('numberValue' in value) return value.numberValue;
  if ('boolValue' in value) return value.boolValue;
  if ('structValue' in value) return structToJson(value.structValue);
  if ('listValue' in value) return ((value.listValue?.values ?? []) as Decoded[]).map(structValue);
  return null;
}

function structToJson(struct: Decoded | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((struct?.fields ?? {}) as Record<string, Decoded>)) out[k] = structValue(v);
  return out;
}

function node(raw: Decoded | undefined): NodeInfo | undefined {
  if (!raw) return undefined;
  return {
    id: String(raw.id ?? ''),
    cluster: String(raw.cluster ?? ''),
    metadata: structToJson(raw.metadata),
    userAgent: [raw.user_agent_name, raw.user_agent_version].filter(Boolean).join('/'),
  };
}

function errorDetail(raw: Decoded | undefined): { code: number; message: string } | undefined {
  return raw ? { code: Number(raw.code ?? 0), message: String(raw.message ?? '') } : undefined;
}

export function decodeSotwRequest(bytes: Uint8Array): SotwRequest {
  const raw = decode(discoveryMessageTypes().request!, bytes);
  return {
    versionInfo: String(raw.version_info ?? ''),
    node: node(raw.node),
    resourceNames: (raw.resource_names ?? []).map(String),
    typeUrl: String(raw.type_url ?? ''),
    responseNonce: String(raw.response_nonce ?? ''),
    errorDetail: errorDetail(raw.error_detail),
  };
}

export function encodeSotwResponse(typeUrl: string, versionInfo: string, nonce: string, resources: readonly WireResource[]): Uint8Array {
  return writeSotwResponse(typeUrl, versionInfo, nonce, resources);
}

export function decodeDeltaRequest(bytes: Uint8Array): DeltaRequest {
  const raw = decode(discoveryMessageTypes().deltaRequest!, bytes);
  return {
    node: node(raw.node),
    typeUrl: String(raw.type_url ?? ''),
    subscribe: (raw.resource_names_subscribe ?? []).map(String),
    unsubscribe: (raw.resource_names_unsubscribe ?? []).map(String),
    initialResourceVersions: Object.fromEntries(Object.entries(raw.initial_resource_versions ?? {}).map(([k, v]) => [k, String(v)])),
    responseNonce: String(raw.response_nonce ?? ''),
    errorDetail: errorDetail(raw.error_detail),
  };
}

export function encodeDeltaResponse(
  typeUrl: string,
  systemVersion: string,
  nonce: string,
  resources: readonly WireResource[],
  removed: readonly string[],
): Uint8Array {
  return discoveryMessageTypes()
    .deltaResponse!.encode({
      system_version_info: systemVersion,
      type_url: typeUrl,
      nonce,
      resources: resources.map((r) => ({ name: r.name, version: r.version, resource: { type_url: typeUrl, value: r.value } })),
      removed_resources: [...removed],
      control_plane: { identifier: 'meshlite' },
    })
    .finish();
}
