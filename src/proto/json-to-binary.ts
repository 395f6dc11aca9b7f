// Strict proto3 JSON -> binary. Walks the JSON against the reflected schema and
// writes straight to a protobufjs Writer: protobufjs's own fromObject drops
// unknown keys and coerces types silently, which is exactly what we must not do.
import protobuf from 'protobufjs';
import {
  describeJson,
  fieldPath,
  indexPath,
  isJsonObject,
  keyPath,
  ProtoJsonError,
  type Json,
  type JsonObject,
} from './proto-json-error.js';
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
import {
  decodeBase64,
  is64Bit,
  isIntegerType,
  parseDuration,
  parseFieldMask,
  parseFloating,
  parseInteger,
  parseTimestamp,
  toLong,
  type SecondsNanos,
} from './wkt-format.js';

type Writer = protobuf.Writer;
type Scalar = number | bigint | boolean | string | Uint8Array;

/** A scalar slot: a field, a map key/value or a wrapper's value. Enums are written as int32. */
interface ScalarSpec {
  type: string;
  enumType?: protobuf.Enum;
}

const WIRE_VARINT = 0;
const WIRE_64BIT = 1;
const WIRE_LEN = 2;
const WIRE_32BIT = 5;

function wireType(type: string): number {
  switch (type) {
    case 'double':
    case 'fixed64':
    case 'sfixed64':
      return WIRE_64BIT;
    case 'float':
    case 'fixed32':
    case 'sfixed32':
      return WIRE_32BIT;
    case 'string':
    case 'bytes':
      return WIRE_LEN;
    default:
      return WIRE_VARINT;
  }
}

function tag(id: number, wire: number): number {
  return ((id << 3) | wire) >>> 0;
}

export interface AnyParts {
  type_url: string;
  value: Uint8Array;
}

/**
 * Encodings of Any values found by their JSON text, kept by the caller: many
 * resources carry the same typed configs (a TLS context, an HCM) and encoding
 * them through reflection costs far more than printing them. The parts stored
 * for a text are exactly what encodeAny makes of it, so a hit is the same bytes.
 */
export interface AnyEncodings {
  get(text: string): AnyParts | undefined;
  set(text: string, parts: AnyParts): void;
}

/** The AnyEncodings of the encodeJson call under way (encoding is synchronous: one call at a time). */
let anyEncodings: AnyEncodings | undefined;

export function encodeJson(type: protobuf.Type, json: Json, path: string, encodings?: AnyEncodings): Uint8Array {
  const w = protobuf.Writer.create();
  const outer = anyEncodings;
  anyEncodings = encodings ?? outer;
  try {
    writeMessage(type, json, path, w);
  } finally {
    anyEncodings = outer;
  }
  return unpooled(w.finish());
}

/**
 * Node hands out small Buffers (under 4 KiB) as slices of shared 8 KiB slabs,
 * and one live slice keeps its whole slab alive. Encodings are kept for as
 * long as a snapshot holds them, while the rest of their slab was scratch
 * space, so a small one gets an exact-size copy of its own.
 */
function unpooled(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength >= 4096 || bytes.buffer.byteLength === bytes.byteLength) return bytes;
  const own = Buffer.allocUnsafeSlow(bytes.byteLength);
  own.set(bytes);
  return own;
}

/** The type URL and encoded inner message of a JSON Any, or null for the empty Any `{}`. */
export function encodeAny(json: Json, path: string): AnyParts | null {
  if (!isJsonObject(json)) throw new ProtoJsonError(path, `expected an object for google.protobuf.Any, got ${describeJson(json)}`);
  if (Object.keys(json).length === 0) return null;
  const url = json['@type'];
  if (url === undefined)
    throw new ProtoJsonError(path, 'google.protobuf.Any needs an "@type" (e.g. "type.googleapis.com/envoy.config.cluster.v3.Cluster")');
  if (typeof url !== 'string') throw new ProtoJsonError(fieldPath(path, '@type'), `expected a type URL string, got ${describeJson(url)}`);
  const inner = resolveAnyType(url, path);
  const w = protobuf.Writer.create();
  if (hasSpecialJson(inner)) {
    for (const key of Object.keys(json)) {
      if (key !== '@type' && key !== 'value') {
        throw new ProtoJsonError(
          fieldPath(path, key),
          `unknown field "${key}": an Any holding ${inner.fullName.slice(1)} takes only "@type" and "value"`,
        );
      }
    }
    if (!('value' in json)) throw new ProtoJsonError(path, `an Any holding ${inner.fullName.slice(1)} needs a "value"`);
    writeMessage(inner, json.value as Json, fieldPath(path, 'value'), w);
  } else {
    writeFields(inner, json, path, w, '@type');
  }
  return { type_url: url, value: unpooled(w.finish()) };
}

function writeMessage(type: protobuf.Type, json: Json, path: string, w: Writer): void {
  const name = fullNameOf(type);
  if (name === ANY) return writeAny(json, path, w);
  if (name === DURATION) return writeSecondsNanos(parseDuration(json, path), w);
  if (name === TIMESTAMP) return writeSecondsNanos(parseTimestamp(json, path), w);
  if (name === STRUCT) return writeStruct(json, path, w);
  if (name === VALUE) return writeValue(json, path, w);
  if (name === LIST_VALUE) return writeList(json, path, w);
  if (name === FIELD_MASK) {
    for (const p of parseFieldMask(json, path)) w.uint32(tag(1, WIRE_LEN)).string(p);
    return;
  }
  const wrapped = WRAPPERS.get(name);
  if (wrapped) {
    const value = parseScalar({ type: wrapped }, json, path);
    if (!isDefault(value)) writeTaggedScalar(1, wrapped, value, w);
    return;
  }
  if (!isJsonObject(json)) throw new ProtoJsonError(path, `expected an object for ${name.slice(1)}, got ${describeJson(json)}`);
  writeFields(type, json, path, w);
}

function writeFields(type: protobuf.Type, obj: JsonObject, path: string, w: Writer, skipKey?: string): void {
  const index = fieldIndex(type);
  const keyOf = new Map<protobuf.Field, string>();
  const oneofKeys = new Map<string, string>();
  const present: Array<{ field: protobuf.Field; value: Json; path: string }> = [];
  for (const key of Object.keys(obj)) {
    if (key === skipKey) continue;
    const field = index.get(key);
    const p = fieldPath(path, key);
    if (!field) throw unknownField(type, key, p);
    const earlier = keyOf.get(field);
    if (earlier !== undefined) throw new ProtoJsonError(p, `field "${field.protoName}" is given twice (as "${earlier}" and "${key}")`);
    keyOf.set(field, key);
    const value = obj[key] as Json;
    // proto3 JSON: null means "not set", except where null is itself a value.
    if (value === null && !takesNull(field)) continue;
    if (field.partOf) {
      const other = oneofKeys.get(field.partOf.name);
      if (other !== undefined) {
        throw new ProtoJsonError(
          p,
          `"${other}" and "${key}" are both set, but they belong to oneof "${field.partOf.name}" of ${type.fullName.slice(1)}`,
        );
      }
      oneofKeys.set(field.partOf.name, key);
    }
    present.push({ field, value, path: p });
  }
  present.sort((a, b) => a.field.id - b.field.id);
  for (const { field, value, path: p } of present) writeField(field, value, p, w);
}

function takesNull(field: protobuf.Field): boolean {
  if (field.repeated || field.map) return false;
  const resolved = field.resolvedType;
  if (!resolved) return false;
  const name = fullNameOf(resolved);
  return name === VALUE || name === NULL_VALUE;
}

function writeField(field: protobuf.Field, value: Json, path: string, w: Writer): void {
  const messageType = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
  if (field.map) return writeMap(field as unknown as protobuf.MapField, value, path, w);
  if (field.repeated) {
    if (!Array.isArray(value)) throw new ProtoJsonError(path, `expected an array, got ${describeJson(value)}`);
    if (messageType) {
      value.forEach((item, i) => writeMessageField(field.id, messageType, item, indexPath(path, i), w));
      return;
    }
    const spec = scalarSpec(field);
    const items = value.map((item, i) => parseScalar(spec, item, indexPath(path, i)));
    if (items.length === 0) return;
    if (field.packed && wireType(spec.type) !== WIRE_LEN) {
      w.uint32(tag(field.id, WIRE_LEN)).fork();
      for (const item of items) writeScalar(spec.type, item, w);
      w.ldelim();
    } else {
      for (const item of items) writeTaggedScalar(field.id, spec.type, item, w);
    }
    return;
  }
  if (messageType) return writeMessageField(field.id, messageType, value, path, w);
  const spec = scalarSpec(field);
  const scalar = parseScalar(spec, value, path);
  // Implicit-presence proto3 scalars are not serialized at their default value.
  if (field.hasPresence || !isDefault(scalar)) writeTaggedScalar(field.id, spec.type, scalar, w);
}

function writeMessageField(id: number, type: protobuf.Type, json: Json, path: string, w: Writer): void {
  w.uint32(tag(id, WIRE_LEN)).fork();
  writeMessage(type, json, path, w);
  w.ldelim();
}

function writeMap(field: protobuf.MapField, json: Json, path: string, w: Writer): void {
  if (!isJsonObject(json))
    throw new ProtoJsonError(path, `expected an object (map<${field.keyType}, ${field.type}>), got ${describeJson(json)}`);
  const valueType = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
  const valueSpec = scalarSpec(field as unknown as protobuf.Field);
  // Sorted so that equal maps always produce equal bytes (resource hashing, versions).
  for (const key of Object.keys(json).sort()) {
    const p = keyPath(path, key);
    const value = json[key] as Json;
    const keyValue = parseMapKey(field.keyType, key, p);
    w.uint32(tag(field.id, WIRE_LEN)).fork();
    writeTaggedScalar(1, field.keyType, keyValue, w);
    if (valueType) {
      if (value === null && fullNameOf(valueType) !== VALUE) throw new ProtoJsonError(p, 'map values cannot be null');
      writeMessageField(2, valueType, value, p, w);
    } else {
      writeTaggedScalar(2, valueSpec.type, parseScalar(valueSpec, value, p), w);
    }
    w.ldelim();
  }
}

function parseMapKey(keyType: string, key: string, path: string): Scalar {
  if (keyType === 'string') return key;
  if (keyType === 'bool') {
    if (key === 'true' || key === 'false') return key === 'true';
    throw new ProtoJsonError(path, `map<bool, ...> keys must be "true" or "false", got ${JSON.stringify(key)}`);
  }
  return parseInteger(key, keyType, path);
}

function writeAny(json: Json, path: string, w: Writer): void {
  const parts = anyEncodings ? encodeAnyOnce(json, path, anyEncodings) : encodeAny(json, path);
  if (!parts) return;
  w.uint32(tag(1, WIRE_LEN)).string(parts.type_url);
  if (parts.value.length > 0) w.uint32(tag(2, WIRE_LEN)).bytes(parts.value);
}

function encodeAnyOnce(json: Json, path: string, encodings: AnyEncodings): AnyParts | null {
  if (!isJsonObject(json)) return encodeAny(json, path);
  const text = JSON.stringify(json);
  const known = encodings.get(text);
  if (known) return known;
  const parts = encodeAny(json, path);
  if (parts) encodings.set(text, parts);
  return parts;
}

function writeSecondsNanos({ seconds, nanos }: SecondsNanos, w: Writer): void {
  if (seconds !== 0n) writeTaggedScalar(1, 'int64', seconds, w);
  if (nanos !== 0) writeTaggedScalar(2, 'int32', nanos, w);
}

function writeStruct(json: Json, path: string, w: Writer): void {
  if (!isJsonObject(json)) throw new ProtoJsonError(path, `expected an object for google.protobuf.Struct, got ${describeJson(json)}`);
  for (const key of Object.keys(json).sort()) {
    w.uint32(tag(1, WIRE_LEN)).fork();
    w.uint32(tag(1, WIRE_LEN)).string(checkedString(key, keyPath(path, key)));
    w.uint32(tag(2, WIRE_LEN)).fork();
    writeValue(json[key] as Json, keyPath(path, key), w);
    w.ldelim().ldelim();
  }
}

function writeValue(json: Json, path: string, w: Writer): void {
  if (json === null) {
    w.uint32(tag(1, WIRE_VARINT)).int32(0);
  } else if (typeof json === 'number') {
    w.uint32(tag(2, WIRE_64BIT)).double(json);
  } else if (typeof json === 'string') {
    w.uint32(tag(3, WIRE_LEN)).string(checkedString(json, path));
  } else if (typeof json === 'boolean') {
    w.uint32(tag(4, WIRE_VARINT)).bool(json);
  } else if (Array.isArray(json)) {
    w.uint32(tag(6, WIRE_LEN)).fork();
    writeList(json, path, w);
    w.ldelim();
  } else if (isJsonObject(json)) {
    w.uint32(tag(5, WIRE_LEN)).fork();
    writeStruct(json, path, w);
    w.ldelim();
  } else {
    throw new ProtoJsonError(path, `not a JSON value: ${describeJson(json)}`);
  }
}

function writeList(json: Json, path: string, w: Writer): void {
  if (!Array.isArray(json)) throw new ProtoJsonError(path, `expected an array for google.protobuf.ListValue, got ${describeJson(json)}`);
  json.forEach((item, i) => {
    w.uint32(tag(1, WIRE_LEN)).fork();
    writeValue(item, indexPath(path, i), w);
    w.ldelim();
  });
}

function scalarSpec(field: protobuf.Field): ScalarSpec {
  const resolved = field.resolvedType;
  return resolved instanceof protobuf.Enum ? { type: 'int32', enumType: resolved } : { type: field.type };
}

function parseScalar(spec: ScalarSpec, json: Json, path: string): Scalar {
  if (spec.enumType) return parseEnum(spec.enumType, json, path);
  const { type } = spec;
  if (isIntegerType(type)) return parseInteger(json, type, path);
  switch (type) {
    case 'double':
    case 'float':
      return parseFloating(json, type, path);
    case 'bool':
      if (typeof json !== 'boolean') throw new ProtoJsonError(path, `expected true or false, got ${describeJson(json)}`);
      return json;
    case 'string':
      if (typeof json !== 'string') throw new ProtoJsonError(path, `expected a string, got ${describeJson(json)}`);
      return checkedString(json, path);
    case 'bytes':
      return decodeBase64(json, path);
    default:
      throw new ProtoJsonError(path, `unsupported field type ${type}`);
  }
}

function parseEnum(enumType: protobuf.Enum, json: Json, path: string): number {
  const fullName = fullNameOf(enumType);
  const name = fullName.slice(1);
  if (json === null && fullName === NULL_VALUE) return 0;
  if (typeof json === 'string') {
    if (Object.hasOwn(enumType.values, json)) return enumType.values[json] as number;
    const known = Object.keys(enumType.values);
    const shown = known.length > 12 ? `${known.slice(0, 12).join(', ')}, ...` : known.join(', ');
    throw new ProtoJsonError(path, `unknown value ${JSON.stringify(json)} for enum ${name} (expected one of ${shown})`);
  }
  if (typeof json === 'number' && Number.isInteger(json) && json >= -(2 ** 31) && json < 2 ** 31) return json;
  throw new ProtoJsonError(path, `expected an enum name (string) for ${name}, got ${describeJson(json)}`);
}

function checkedString(value: string, path: string): string {
  // With the u flag a well-formed surrogate pair is one code point, so this only matches lone halves.
  if (/\p{Cs}/u.test(value)) throw new ProtoJsonError(path, 'string contains a lone UTF-16 surrogate (not valid UTF-8)');
  return value;
}

function isDefault(value: Scalar): boolean {
  if (value instanceof Uint8Array) return value.length === 0;
  return value === false || value === '' || value === 0n || Object.is(value, 0);
}

function writeTaggedScalar(id: number, type: string, value: Scalar, w: Writer): void {
  w.uint32(tag(id, wireType(type)));
  writeScalar(type, value, w);
}

function writeScalar(type: string, value: Scalar, w: Writer): void {
  if (is64Bit(type)) {
    const long = toLong(value as bigint, type === 'uint64' || type === 'fixed64');
    switch (type) {
      case 'int64':
        w.int64(long);
        return;
      case 'uint64':
        w.uint64(long);
        return;
      case 'sint64':
        w.sint64(long);
        return;
      case 'fixed64':
        w.fixed64(long);
        return;
      default:
        w.sfixed64(long);
        return;
    }
  }
  switch (type) {
    case 'int32':
      w.int32(value as number);
      return;
    case 'uint32':
      w.uint32(value as number);
      return;
    case 'sint32':
      w.sint32(value as number);
      return;
    case 'fixed32':
      w.fixed32(value as number);
      return;
    case 'sfixed32':
      w.sfixed32(value as number);
      return;
    case 'double':
      w.double(value as number);
      return;
    case 'float':
      w.float(value as number);
      return;
    case 'bool':
      w.bool(value as boolean);
      return;
    case 'string':
      w.string(value as string);
      return;
    case 'bytes':
      w.bytes(value as Uint8Array);
      return;
    default:
      throw new Error(`unsupported scalar type ${type}`);
  }
}

const fieldIndexes = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();
const fullNames = new WeakMap<protobuf.ReflectionObject, string>();

/** protobufjs builds `fullName` anew on every read by walking the parents; encoding reads it for every message. */
function fullNameOf(object: protobuf.ReflectionObject): string {
  let name = fullNames.get(object);
  if (name === undefined) fullNames.set(object, (name = object.fullName));
  return name;
}

/** Accepted JSON keys: the .proto name and the lowerCamel json_name. */
function fieldIndex(type: protobuf.Type): Map<string, protobuf.Field> {
  let index = fieldIndexes.get(type);
  if (!index) {
    index = new Map();
    for (const field of type.fieldsArray) {
      index.set(field.protoName, field);
      index.set(field.jsonName, field);
    }
    fieldIndexes.set(type, index);
  }
  return index;
}

function unknownField(type: protobuf.Type, key: string, path: string): ProtoJsonError {
  const names = type.fieldsArray.map((f) => f.protoName);
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 4)) + 1;
  for (const name of names) {
    const d = editDistance(key.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  const hint = best ? ` (did you mean "${best}"?)` : '';
  return new ProtoJsonError(path, `unknown field "${key}" in ${type.fullName.slice(1)}${hint}`);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
