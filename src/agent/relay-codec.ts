// The wire work of the ADS relay. Responses are decoded only to route them
// (type, version, nonce, which resource is which); resource bytes go on as
// they came. Requests the relay writes itself (its own subscriptions, Envoy's
// requests re-sent on a new upstream stream) are built field by field.
import { X509Certificate } from 'node:crypto';
import { certificateBlocks } from '../ca/pem.js';
import { lookupMessage } from '../proto/envoy-root.js';
import { type Json, jsonToBinary } from '../proto/proto-json.js';
import { discoveryMessageTypes, type SotwRequest } from '../server/discovery-codec.js';
import type { Secret } from '../xds/envoy-types/index.js';
import { TYPE } from '../xds/type-urls.js';
import { AGENT_NODE_METADATA } from './agent-types.js';

export const SECRET_TYPE_URL: string = TYPE.secret;
const SECRET_MESSAGE = 'envoy.extensions.transport_sockets.tls.v3.Secret';

// biome-ignore lint/suspicious/noExplicitAny: protobufjs plain objects, read field by field
type Plain = Record<string, any>;
const TO_PLAIN = { longs: String, enums: String, bytes: String, defaults: false, arrays: true, objects: true } as const;

export interface RelayResponse {
  versionInfo: string;
  typeUrl: string;
  nonce: string;
  /** Each resource's Any value, the bytes exactly as received. */
  resources: Uint8Array[];
}

/** Throws on bytes that are not a DiscoveryResponse. */
export function decodeResponse(bytes: Uint8Array): RelayResponse {
  const raw = discoveryMessageTypes().response!.decode(bytes) as unknown as Plain;
  return {
    versionInfo: String(raw.version_info ?? ''),
    typeUrl: String(raw.type_url ?? ''),
    nonce: String(raw.nonce ?? ''),
    resources: ((raw.resources ?? []) as Plain[]).map((r) => r.value as Uint8Array),
  };
}

export interface OutgoingRequest {
  typeUrl: string;
  versionInfo: string;
  resourceNames: readonly string[];
  responseNonce: string;
  errorDetail?: { code: number; message: string };
  /** A plain Node object (see nodeWithAgentMarker). */
  node?: Plain;
}

export function encodeRequest(req: OutgoingRequest): Uint8Array {
  const type = discoveryMessageTypes().request!;
  const message = type.fromObject({
    version_info: req.versionInfo,
    resource_names: [...req.resourceNames],
    type_url: req.typeUrl,
    response_nonce: req.responseNonce,
    ...(req.errorDetail ? { error_detail: req.errorDetail } : {}),
    ...(req.node ? { node: req.node } : {}),
  });
  return type.encode(message).finish();
}

/** A Secret request of the relay's own (see secret-split.ts). */
export function encodeSecretRequest(
  req: { names: readonly string[]; versionInfo: string; nonce: string; errorDetail?: { code: number; message: string } },
  node?: Plain,
): Uint8Array {
  return encodeRequest({
    typeUrl: SECRET_TYPE_URL,
    versionInfo: req.versionInfo,
    resourceNames: req.names,
    responseNonce: req.nonce,
    errorDetail: req.errorDetail,
    node,
  });
}

/** Envoy's request `req` sent again as a fresh subscription: its names and accepted version, no nonce, no error, no node. */
export function encodeResubscription(req: SotwRequest): Uint8Array {
  return encodeRequest({ typeUrl: req.typeUrl, versionInfo: req.versionInfo, resourceNames: req.resourceNames, responseNonce: '' });
}

export interface ConfiguredNode {
  id: string;
  cluster: string;
  metadata: Record<string, unknown>;
}

/**
 * The node to send meshlite: Envoy's own (from its request `bytes`) when it
 * has one, else `fallback`; either way with AGENT_NODE_METADATA set, so that
 * meshlite knows the key of this proxy is made on its host.
 */
export function nodeWithAgentMarker(fallback: ConfiguredNode, bytes?: Uint8Array): Plain {
  let node: Plain | undefined;
  if (bytes) {
    const type = discoveryMessageTypes().request!;
    const raw = type.toObject(type.decode(bytes), TO_PLAIN) as Plain;
    if (raw.node?.id) node = raw.node as Plain;
  }
  node ??= { id: fallback.id, cluster: fallback.cluster, metadata: structOf(fallback.metadata) };
  const fields = { ...((node.metadata as Plain | undefined)?.fields ?? {}), [AGENT_NODE_METADATA]: { stringValue: 'true' } };
  return { ...node, metadata: { fields } };
}

// protobufjs's built-in google.protobuf.Struct names its fields in camelCase, whatever the loader's keepCase.
function structOf(json: Record<string, unknown>, depth = 0): Plain {
  const fields: Plain = {};
  for (const [k, v] of Object.entries(json)) {
    const value = structValue(v, depth);
    if (value) fields[k] = value;
  }
  return { fields };
}

function structValue(v: unknown, depth: number): Plain | undefined {
  if (depth > 32) return undefined;
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return Number.isFinite(v) ? { numberValue: v } : undefined;
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map((x) => structValue(x, depth + 1) ?? { nullValue: 'NULL_VALUE' }) } };
  if (typeof v === 'object') return { structValue: structOf(v as Record<string, unknown>, depth + 1) };
  return undefined;
}

export interface DecodedSecret {
  name: string;
  /** validation_context.trusted_ca.inline_string, when the secret holds one. */
  trustedCaPem?: string;
}

/** Reads a Secret resource (throws on bytes that are not one). */
export function decodeSecret(value: Uint8Array): DecodedSecret {
  const raw = lookupMessage(SECRET_MESSAGE).decode(value) as unknown as Plain;
  const inline = raw.validation_context?.trusted_ca?.inline_string;
  return { name: String(raw.name ?? ''), ...(typeof inline === 'string' ? { trustedCaPem: inline } : {}) };
}

export function encodeSecret(secret: Secret): Uint8Array {
  return jsonToBinary(SECRET_MESSAGE, secret as unknown as Json);
}

/** Why `pem` cannot be a trust bundle (no certificate, or one that does not parse); undefined when it can. */
export function trustBundleProblem(pem: string | undefined): string | undefined {
  if (pem === undefined) return 'ROOTCA holds no inline trusted_ca';
  const blocks = certificateBlocks(pem, 'ROOTCA trusted_ca');
  if (!blocks.ok) return blocks.error;
  for (const [i, der] of blocks.value.entries()) {
    try {
      new X509Certificate(der);
    } catch (err) {
      return `ROOTCA trusted_ca: certificate ${i + 1} does not parse (${(err as Error).message})`;
    }
  }
  return undefined;
}
