// Scalar and well-known-type string forms of proto3 JSON: 64-bit integers,
// floats, base64, Duration, Timestamp and FieldMask.
import type protobuf from 'protobufjs';
import { describeJson, ProtoJsonError, type Json } from './proto-json-error.js';

function brief(json: Json): string {
  const text = JSON.stringify(json);
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}

const SIGNED_64 = new Set(['int64', 'sint64', 'sfixed64']);
const UNSIGNED_64 = new Set(['uint64', 'fixed64']);
const INT_RANGES: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

export function is64Bit(type: string): boolean {
  return SIGNED_64.has(type) || UNSIGNED_64.has(type);
}

export function isIntegerType(type: string): boolean {
  return type in INT_RANGES;
}

/** Integers: 32-bit types yield a number, 64-bit types a bigint. */
export function parseInteger(json: Json, type: string, path: string): number | bigint {
  const range = INT_RANGES[type];
  if (!range) throw new Error(`not an integer type: ${type}`);
  let value: bigint;
  if (typeof json === 'number') {
    if (!Number.isInteger(json)) throw new ProtoJsonError(path, `expected an integer (${type}), got ${json}`);
    if (!Number.isSafeInteger(json)) {
      throw new ProtoJsonError(path, `${json} is beyond 2^53 and has lost precision; write ${type} values as strings`);
    }
    value = BigInt(json);
  } else if (typeof json === 'string' && /^-?\d+$/.test(json)) {
    value = BigInt(json);
  } else {
    throw new ProtoJsonError(path, `expected an integer (${type}) as a number or decimal string, got ${describeJson(json)}`);
  }
  if (value < range[0] || value > range[1]) throw new ProtoJsonError(path, `${value} is out of range for ${type}`);
  return is64Bit(type) ? value : Number(value);
}

/** The {low, high} form protobufjs's Writer accepts for 64-bit values (LongBits.from reads only these). */
export function toLong(value: bigint, unsigned: boolean): protobuf.Long {
  const bits = BigInt.asUintN(64, value);
  return { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0, unsigned };
}

/** protobufjs decodes 64-bit fields to Long (the `long` package) or, without it, to number. */
export function longToBigInt(value: unknown, unsigned: boolean): bigint {
  if (typeof value === 'number') return BigInt(value);
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string') return BigInt(value);
  const long = value as { low: number; high: number };
  const bits = (BigInt(long.high >>> 0) << 32n) | BigInt(long.low >>> 0);
  return unsigned ? bits : BigInt.asIntN(64, bits);
}

const FLOAT_MAX = 3.4028234663852886e38;
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

export function parseFloating(json: Json, type: 'float' | 'double', path: string): number {
  let value: number;
  if (typeof json === 'number') value = json;
  else if (json === 'NaN') value = NaN;
  else if (json === 'Infinity') value = Infinity;
  else if (json === '-Infinity') value = -Infinity;
  else if (typeof json === 'string' && JSON_NUMBER.test(json)) value = Number(json);
  else throw new ProtoJsonError(path, `expected a number (${type}), got ${describeJson(json)}`);
  if (type === 'float' && Number.isFinite(value) && Math.abs(value) > FLOAT_MAX) {
    throw new ProtoJsonError(path, `${json} is out of range for float`);
  }
  if (type === 'double' && !Number.isFinite(value) && typeof json === 'string' && JSON_NUMBER.test(json)) {
    throw new ProtoJsonError(path, `${json} is out of range for double`);
  }
  return value;
}

/** Floats decode as the exact float32 value; print the shortest decimal that maps back to it. */
export function formatFloating(value: number, type: 'float' | 'double'): Json {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (type === 'double') return value;
  for (let digits = 1; digits < 17; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Standard or URL-safe alphabet, padding optional (as protobuf's JSON parsers accept). */
export function decodeBase64(json: Json, path: string): Uint8Array {
  if (typeof json !== 'string') throw new ProtoJsonError(path, `expected a base64 string (bytes), got ${describeJson(json)}`);
  const unpadded = json.replace(/=+$/, '');
  const badPadding = unpadded.length !== json.length && json.length % 4 !== 0;
  if (!BASE64.test(json) || unpadded.length % 4 === 1 || badPadding) {
    throw new ProtoJsonError(path, `invalid base64 for a bytes field: ${brief(json)}`);
  }
  const buf = Buffer.from(unpadded.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export interface SecondsNanos {
  seconds: bigint;
  nanos: number;
}

const DURATION_MAX_SECONDS = 315_576_000_000n;

export function parseDuration(json: Json, path: string): SecondsNanos {
  const match = typeof json === 'string' ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(json) : null;
  if (!match) {
    throw new ProtoJsonError(path, `invalid Duration ${brief(json)}: expected a string like "5s", "0.100s" or "-1.5s"`);
  }
  const sign = match[1] ? -1 : 1;
  const seconds = BigInt(match[2] ?? '0');
  const nanos = Number((match[3] ?? '').padEnd(9, '0') || '0');
  if (seconds > DURATION_MAX_SECONDS) throw new ProtoJsonError(path, `Duration ${json} is out of range (max ±315576000000s)`);
  return { seconds: sign < 0 ? -seconds : seconds, nanos: sign < 0 && nanos !== 0 ? -nanos : nanos };
}

function fraction(nanos: number): string {
  if (nanos === 0) return '';
  if (nanos % 1_000_000 === 0) return `.${String(nanos / 1_000_000).padStart(3, '0')}`;
  if (nanos % 1_000 === 0) return `.${String(nanos / 1_000).padStart(6, '0')}`;
  return `.${String(nanos).padStart(9, '0')}`;
}

export function formatDuration({ seconds, nanos }: SecondsNanos, path: string): string {
  const bad =
    seconds > DURATION_MAX_SECONDS ||
    seconds < -DURATION_MAX_SECONDS ||
    Math.abs(nanos) > 999_999_999 ||
    (seconds > 0n && nanos < 0) ||
    (seconds < 0n && nanos > 0);
  if (bad) throw new ProtoJsonError(path, `invalid Duration {seconds: ${seconds}, nanos: ${nanos}}`);
  const negative = seconds < 0n || nanos < 0;
  const abs = seconds < 0n ? -seconds : seconds;
  return `${negative ? '-' : ''}${abs}${fraction(Math.abs(nanos))}s`;
}

const TIMESTAMP_MIN = -62_135_596_800n; // 0001-01-01T00:00:00Z
const TIMESTAMP_MAX = 253_402_300_799n; // 9999-12-31T23:59:59Z
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil).
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

export function parseTimestamp(json: Json, path: string): SecondsNanos {
  const m = typeof json === 'string' ? RFC3339.exec(json) : null;
  const problem = `invalid Timestamp ${brief(json)}: expected RFC 3339 like "2024-05-01T12:00:00Z"`;
  if (!m) throw new ProtoJsonError(path, problem);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    throw new ProtoJsonError(path, problem);
  }
  let seconds = BigInt(daysFromCivil(year, month, day)) * 86400n + BigInt(hour * 3600 + minute * 60 + second);
  if (m[9]) {
    const offset = BigInt(Number(m[10]) * 3600 + Number(m[11]) * 60);
    seconds += m[9] === '+' ? -offset : offset;
  }
  if (seconds < TIMESTAMP_MIN || seconds > TIMESTAMP_MAX) {
    throw new ProtoJsonError(path, `Timestamp ${json} is out of range (years 0001 to 9999)`);
  }
  return { seconds, nanos: Number((m[7] ?? '').padEnd(9, '0') || '0') };
}

export function formatTimestamp({ seconds, nanos }: SecondsNanos, path: string): string {
  if (seconds < TIMESTAMP_MIN || seconds > TIMESTAMP_MAX || nanos < 0 || nanos > 999_999_999) {
    throw new ProtoJsonError(path, `invalid Timestamp {seconds: ${seconds}, nanos: ${nanos}}`);
  }
  const iso = new Date(Number(seconds) * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z within this range
  return `${iso.slice(0, 19)}${fraction(nanos)}Z`;
}

/** FieldMask JSON is one string of comma-separated lowerCamel paths; the binary form is snake_case. */
export function parseFieldMask(json: Json, path: string): string[] {
  if (typeof json !== 'string')
    throw new ProtoJsonError(path, `expected a FieldMask string like "fooBar,baz.qux", got ${describeJson(json)}`);
  if (json === '') return [];
  return json.split(',').map((p) => {
    if (!/^[A-Za-z0-9.]+$/.test(p)) throw new ProtoJsonError(path, `invalid FieldMask path ${JSON.stringify(p)} (expected lowerCamelCase)`);
    return p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  });
}

export function formatFieldMask(paths: string[], path: string): string {
  return paths
    .map((p) => {
      if (!/^[a-z0-9._]*$/.test(p) || /_(?![a-z])/.test(p)) {
        throw new ProtoJsonError(path, `FieldMask path ${JSON.stringify(p)} cannot be written in lowerCamelCase JSON`);
      }
      return p.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    })
    .join(',');
}
