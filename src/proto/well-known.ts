// Which google.protobuf types have a special JSON form, and Any type URL resolution.
import type protobuf from 'protobufjs';
import { lookupMessage } from './envoy-root.js';
import { ProtoJsonError, fieldPath } from './proto-json-error.js';

export const ANY = '.google.protobuf.Any';
export const DURATION = '.google.protobuf.Duration';
export const TIMESTAMP = '.google.protobuf.Timestamp';
export const STRUCT = '.google.protobuf.Struct';
export const VALUE = '.google.protobuf.Value';
export const LIST_VALUE = '.google.protobuf.ListValue';
export const FIELD_MASK = '.google.protobuf.FieldMask';
export const NULL_VALUE = '.google.protobuf.NullValue';

/** Wrapper message -> the scalar type of its single `value` field. */
export const WRAPPERS: ReadonlyMap<string, string> = new Map([
  ['.google.protobuf.DoubleValue', 'double'],
  ['.google.protobuf.FloatValue', 'float'],
  ['.google.protobuf.Int64Value', 'int64'],
  ['.google.protobuf.UInt64Value', 'uint64'],
  ['.google.protobuf.Int32Value', 'int32'],
  ['.google.protobuf.UInt32Value', 'uint32'],
  ['.google.protobuf.BoolValue', 'bool'],
  ['.google.protobuf.StringValue', 'string'],
  ['.google.protobuf.BytesValue', 'bytes'],
]);

// Empty is absent on purpose: its JSON form is the ordinary `{}`, so inside an
// Any it is written `{"@type": ".../google.protobuf.Empty"}` with no "value".
const SPECIAL = new Set([ANY, DURATION, TIMESTAMP, STRUCT, VALUE, LIST_VALUE, FIELD_MASK, ...WRAPPERS.keys()]);

/** True for types whose JSON is not an object of fields (and so sit under "value" inside an Any). */
export function hasSpecialJson(type: protobuf.Type): boolean {
  return SPECIAL.has(type.fullName);
}

/** The message type named by an Any's type URL (the part after the last "/"). */
export function resolveAnyType(typeUrl: string, anyPath: string): protobuf.Type {
  const at = fieldPath(anyPath, '@type');
  const slash = typeUrl.lastIndexOf('/');
  const name = typeUrl.slice(slash + 1);
  if (slash < 0 || name === '') {
    throw new ProtoJsonError(at, `invalid Any type URL ${JSON.stringify(typeUrl)} (expected "type.googleapis.com/<message name>")`);
  }
  try {
    return lookupMessage(name);
  } catch {
    throw new ProtoJsonError(at, `unknown Any type URL ${JSON.stringify(typeUrl)}: ${name} is not a message type in the Envoy schema`);
  }
}
