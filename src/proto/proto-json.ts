// Strict converter between canonical proto3 JSON and the binary wire format,
// for any message type in the Envoy root (see envoy-root.ts).
//
// JSON -> binary rejects unknown fields, wrong JSON types, unknown enum names,
// oneof conflicts and unknown Any type URLs, naming the exact path. Binary ->
// JSON prints snake_case names in .proto declaration order, omits
// implicit-presence defaults (like Envoy's config dump), sorts map and Struct
// keys, and rejects unknown fields.
import { anyToJson, decodeToJson } from './binary-to-json.js';
import { lookupMessage } from './envoy-root.js';
import { type AnyEncodings, encodeAny, encodeJson } from './json-to-binary.js';
import { ProtoJsonError, type Json } from './proto-json-error.js';

export { ProtoJsonError, type Json } from './proto-json-error.js';
export type { AnyEncodings, AnyParts } from './json-to-binary.js';

/** Validates `json` as canonical proto3 JSON of `typeName` and encodes it (the Any values it holds through `encodings`, when given). */
export function jsonToBinary(typeName: string, json: Json, encodings?: AnyEncodings): Uint8Array {
  return encodeJson(lookupMessage(typeName), json, '', encodings);
}

/** Decodes `bytes` as `typeName` and prints canonical proto3 JSON. */
export function binaryToJson(typeName: string, bytes: Uint8Array): Json {
  return decodeToJson(lookupMessage(typeName), bytes, '');
}

/** Normalizes `json` through the binary form: validation plus canonical printing. */
export function canonicalJson(typeName: string, json: Json): Json {
  return binaryToJson(typeName, jsonToBinary(typeName, json));
}

/**
 * A JSON Any (`{"@type": ..., ...fields}`) as the type URL and encoded message,
 * ready for DiscoveryResponse.resources.
 */
export function anyToBinary(any: Json): { type_url: string; value: Uint8Array } {
  const parts = encodeAny(any, '');
  if (!parts) throw new ProtoJsonError('', 'expected an Any with an "@type", got {}');
  return parts;
}

/** The JSON Any for an encoded message: `@type` first, then the message's fields. */
export function binaryAnyToJson(typeUrl: string, value: Uint8Array): Json {
  return anyToJson(typeUrl, value, '');
}
