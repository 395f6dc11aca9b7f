// Binary -> canonical proto3 JSON (snake_case names, declaration order,
// implicit-presence defaults omitted), failing on unknown fields.
import protobuf from 'protobufjs';
import { fieldPath, indexPath, keyPath, ProtoJsonError, setKey, type Json, type JsonObject } from './proto-json-error.js';
import {
  ANY,
  DURATION,
  FIELD_MASK,
  hasSpecialJson,
  LIST_VALUE,
  NULL_VALUE,
  resolveAnyType,
  STRUCT,
  TIMESTAMP,
  VALUE,
  WRAPPERS,
} from './well-known.js';
import { encodeBase64, formatDuration, formatFieldMask, formatFloating, formatTimestamp, is64Bit, longToBigInt } from './wkt-format.js';

type Decoded = Record<string, unknown>;

// Map keys of 64-bit type come back as 8-char "hashes" only when protobufjs has
// Long support; without it they would be ambiguous, so insist on it.
if (!protobuf.util.Long) throw new Error('protobufjs is running without the "long" package; 64-bit values would lose precision');

export function decodeToJson(type: protobuf.Type, bytes: Uint8Array, path: string): Json {
  return messageToJson(type, decode(type, bytes, path), path);
}

/** `{"@type": url, ...fields}`, or `{"@type": url, "value": ...}` for a well-known type. */
export function anyToJson(typeUrl: string, value: Uint8Array, path: string): JsonObject {
  const inner = resolveAnyType(typeUrl, path);
  const json: JsonObject = { '@type': typeUrl };
  if (hasSpecialJson(inner)) {
    json.value = decodeToJson(inner, value, fieldPath(path, 'value'));
  } else {
    const fields = decodeToJson(inner, value, path) as JsonObject;
    for (const key of Object.keys(fields)) setKey(json, key, fields[key] as Json);
  }
  return json;
}

function decode(type: protobuf.Type, bytes: Uint8Array, path: string): Decoded {
  const reader = protobuf.Reader.create(bytes);
  // Per reader, not the global Reader.discardUnknown, which other code may rely on.
  reader.discardUnknown = false;
  try {
    return type.decode(reader) as unknown as Decoded;
  } catch (err) {
    throw new ProtoJsonError(path, `cannot decode ${type.fullName.slice(1)}: ${(err as Error).message}`);
  }
}

function own(msg: Decoded, field: protobuf.Field): unknown {
  return Object.hasOwn(msg, field.name) ? msg[field.name] : undefined;
}

function byId(type: protobuf.Type, msg: Decoded, id: number): unknown {
  const field = type.fieldsById[id];
  return field ? own(msg, field) : undefined;
}

function messageToJson(type: protobuf.Type, msg: Decoded, path: string): Json {
  rejectUnknownFields(type, msg, path);
  const name = type.fullName;
  if (name === ANY) {
    const url = (byId(type, msg, 1) as string | undefined) ?? '';
    const value = (byId(type, msg, 2) as Uint8Array | undefined) ?? new Uint8Array();
    if (url === '' && value.length === 0) return {};
    return anyToJson(url, value, path);
  }
  if (name === DURATION || name === TIMESTAMP) {
    const seconds = longToBigInt(byId(type, msg, 1) ?? 0, false);
    const nanos = (byId(type, msg, 2) as number | undefined) ?? 0;
    return name === DURATION ? formatDuration({ seconds, nanos }, path) : formatTimestamp({ seconds, nanos }, path);
  }
  if (name === STRUCT) return structToJson(type, msg, path);
  if (name === VALUE) return valueToJson(type, msg, path);
  if (name === LIST_VALUE) {
    const values = (byId(type, msg, 1) as Decoded[] | undefined) ?? [];
    const valueType = type.fieldsById[1]?.resolvedType as protobuf.Type;
    return values.map((v, i) => messageToJson(valueType, v, indexPath(path, i)));
  }
  if (name === FIELD_MASK) return formatFieldMask((byId(type, msg, 1) as string[] | undefined) ?? [], path);
  const wrapped = WRAPPERS.get(name);
  if (wrapped) {
    const value = byId(type, msg, 1);
    return value === undefined ? defaultJson(wrapped) : scalarToJson(wrapped, undefined, value);
  }

  const json: JsonObject = {};
  for (const field of type.fieldsArray) {
    const value = own(msg, field);
    if (value === undefined || value === null) continue;
    const p = fieldPath(path, field.protoName);
    const messageType = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    let out: Json;
    if (field.map) {
      const map = mapToJson(field as unknown as protobuf.MapField, value as Decoded, p);
      if (Object.keys(map).length === 0) continue;
      out = map;
    } else if (field.repeated) {
      const items = value as unknown[];
      if (items.length === 0) continue;
      out = items.map((item, i) =>
        messageType ? messageToJson(messageType, item as Decoded, indexPath(p, i)) : fieldScalarToJson(field, item),
      );
    } else if (messageType) {
      out = messageToJson(messageType, value as Decoded, p);
    } else {
      if (!field.hasPresence && isDefault(value)) continue;
      out = fieldScalarToJson(field, value);
    }
    setKey(json, field.protoName, out);
  }
  return json;
}

function rejectUnknownFields(type: protobuf.Type, msg: Decoded, path: string): void {
  const unknowns = Object.hasOwn(msg, '$unknowns') ? (msg.$unknowns as Uint8Array[]) : [];
  const first = unknowns[0];
  if (!first) return;
  const tag = protobuf.Reader.create(first).uint32();
  const [id, wire] = [tag >>> 3, tag & 7];
  const known = type.fieldsById[id];
  const problem = known
    ? `field "${known.protoName}" (${id}) of ${type.fullName.slice(1)} has an unexpected wire type ${wire}`
    : `unknown field number ${id} (wire type ${wire}) in ${type.fullName.slice(1)}`;
  throw new ProtoJsonError(path, `${problem}${unknowns.length > 1 ? ` (and ${unknowns.length - 1} more unknown)` : ''}`);
}

function structToJson(type: protobuf.Type, msg: Decoded, path: string): JsonObject {
  const fields = (byId(type, msg, 1) as Decoded | undefined) ?? {};
  const valueType = type.fieldsById[1]?.resolvedType as protobuf.Type;
  const json: JsonObject = {};
  for (const key of Object.keys(fields).sort()) {
    setKey(json, key, messageToJson(valueType, fields[key] as Decoded, keyPath(path, key)));
  }
  return json;
}

function valueToJson(type: protobuf.Type, msg: Decoded, path: string): Json {
  for (const field of type.fieldsArray) {
    const value = own(msg, field);
    if (value === undefined) continue;
    switch (field.id) {
      case 1:
        return null;
      case 2:
        if (!Number.isFinite(value)) throw new ProtoJsonError(path, `google.protobuf.Value number_value ${String(value)} has no JSON form`);
        return value as number;
      case 3:
        return value as string;
      case 4:
        return value as boolean;
      default:
        return messageToJson(field.resolvedType as protobuf.Type, value as Decoded, path);
    }
  }
  throw new ProtoJsonError(path, 'google.protobuf.Value has no kind set');
}

function mapToJson(field: protobuf.MapField, map: Decoded, path: string): JsonObject {
  const valueType = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
  const entries = Object.keys(map).map((rawKey) => [mapKey(field.keyType, rawKey), map[rawKey]] as const);
  if (field.keyType === 'string' || field.keyType === 'bool') {
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  } else {
    entries.sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
  }
  const json: JsonObject = {};
  for (const [key, value] of entries) {
    const out = valueType
      ? messageToJson(valueType, value as Decoded, keyPath(path, key))
      : fieldScalarToJson(field as unknown as protobuf.Field, value);
    setKey(json, key, out);
  }
  return json;
}

function mapKey(keyType: string, rawKey: string): string {
  if (!is64Bit(keyType) || rawKey.length !== 8) return rawKey;
  const unsigned = keyType === 'uint64' || keyType === 'fixed64';
  return longToBigInt(protobuf.util.longFromHash(rawKey, unsigned), unsigned).toString();
}

function fieldScalarToJson(field: protobuf.Field, value: unknown): Json {
  const enumType = field.resolvedType instanceof protobuf.Enum ? field.resolvedType : undefined;
  return scalarToJson(field.type, enumType, value);
}

function scalarToJson(type: string, enumType: protobuf.Enum | undefined, value: unknown): Json {
  if (enumType) {
    if (enumType.fullName === NULL_VALUE) return null;
    return enumType.valuesById[value as number] ?? (value as number);
  }
  if (is64Bit(type)) return longToBigInt(value, type === 'uint64' || type === 'fixed64').toString();
  if (type === 'float' || type === 'double') return formatFloating(value as number, type);
  if (type === 'bytes') return encodeBase64(value as Uint8Array);
  return value as Json;
}

function defaultJson(type: string): Json {
  if (type === 'bool') return false;
  if (type === 'string' || type === 'bytes') return '';
  return is64Bit(type) ? '0' : 0;
}

function isDefault(value: unknown): boolean {
  if (value instanceof Uint8Array) return value.length === 0;
  if (typeof value === 'object' && value !== null) {
    const long = value as { low?: number; high?: number };
    return long.low === 0 && long.high === 0;
  }
  return value === false || value === '' || Object.is(value, 0);
}
