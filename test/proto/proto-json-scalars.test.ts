// Scalar, map, enum and presence rules, on a small schema parsed here (Envoy's
// API has no int64-keyed maps, sint64 or proto3 optional fields to exercise them).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import protobuf from 'protobufjs';
import { decodeToJson } from '../../src/proto/binary-to-json.js';
import { encodeJson } from '../../src/proto/json-to-binary.js';
import { lookupMessage } from '../../src/proto/envoy-root.js';
import { binaryToJson, jsonToBinary, ProtoJsonError, type Json } from '../../src/proto/proto-json.js';

const SCHEMA = `
syntax = "proto3";
package t;
enum Color { COLOR_UNSPECIFIED = 0; RED = 1; GREEN = 2; }
message Inner { int32 n = 1; }
message All {
  double d = 1; float f = 2; int32 i32 = 3; uint32 u32 = 4; sint32 s32 = 5; fixed32 fx32 = 6; sfixed32 sfx32 = 7;
  int64 i64 = 8; uint64 u64 = 9; sint64 s64 = 10; fixed64 fx64 = 11; sfixed64 sfx64 = 12;
  bool b = 13; string s = 14; bytes by = 15; Color color = 16;
  optional int32 opt = 17;
  repeated int64 r64 = 18; repeated sint32 rs32 = 19; repeated Color colors = 20; repeated string names = 21;
  map<int64, string> by_id = 22; map<bool, int32> flags = 23; map<uint32, Inner> inners = 24; map<string, bytes> blobs = 25;
  Inner inner = 26;
  oneof choice { string text = 27; Inner detail = 28; }
  string json_named = 29 [json_name = "customName"];
  optional string opt_s = 30;
}
`;
const All = protobuf.parse(SCHEMA, { keepCase: true }).root.resolveAll().lookupType('t.All');

const canonical = (json: Json): Json => decodeToJson(All, encodeJson(All, json, ''), '');
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

test('every scalar type round-trips in canonical form', () => {
  const input: Json = {
    d: 1.5,
    f: 0.1,
    i32: -7,
    u32: 4294967295,
    s32: -2147483648,
    fx32: 7,
    sfx32: -7,
    i64: '-9223372036854775808',
    u64: '18446744073709551615',
    s64: '-1',
    fx64: '18446744073709551615',
    sfx64: '-123',
    b: true,
    s: 'héllo ✓ 😀',
    by: 'AAEC/w==',
    color: 'GREEN',
    opt: 0,
    r64: ['1', '-2', '9007199254740993'],
    rs32: [-1, 0, 1],
    colors: ['RED', 5, 'COLOR_UNSPECIFIED'],
    names: ['', 'x'],
    by_id: { '-1': 'neg', '7': 'seven', '9223372036854775807': 'max' },
    flags: { false: 0, true: 1 },
    inners: { '1': {}, '2': { n: 2 } },
    blobs: { a: '', b: 'AQ==' },
    inner: {},
    detail: { n: -3 },
    json_named: 'j',
    opt_s: '',
  };
  assert.is(JSON.stringify(canonical(input)), JSON.stringify(input));
});

test('64-bit values encode exactly as protobufjs encodes Long values', () => {
  const Long = protobuf.util.Long as unknown as { fromString(s: string, unsigned?: boolean): protobuf.Long };
  const json = { i64: '-9223372036854775808', u64: '18446744073709551615', s64: '-2', fx64: '9223372036854775808', sfx64: '-1' };
  const longs = {
    i64: Long.fromString(json.i64),
    u64: Long.fromString(json.u64, true),
    s64: Long.fromString(json.s64),
    fx64: Long.fromString(json.fx64, true),
    sfx64: Long.fromString(json.sfx64),
  };
  assert.is(hex(encodeJson(All, json, '')), hex(All.encode(longs).finish()));
});

test('implicit-presence defaults are dropped, proto3 optional ones are kept', () => {
  const out = canonical({ d: 0, i64: '0', b: false, s: '', by: '', color: 'COLOR_UNSPECIFIED', opt: 0, opt_s: '', text: '' });
  assert.equal(out, { opt: 0, text: '', opt_s: '' });
  assert.equal(canonical({}), {});
});

test('numbers given as strings, enums as integers and special floats are normalized', () => {
  const out = canonical({ d: '-2.5e3', f: 'NaN', i32: '-12', i64: 12, color: 1, u64: '0018' });
  assert.equal(out, { d: -2500, f: 'NaN', i32: -12, i64: '12', u64: '18', color: 'RED' });
  assert.equal(canonical({ d: 'Infinity', f: '-Infinity' }), { d: 'Infinity', f: '-Infinity' });
  assert.equal(canonical({ f: 3.4028234663852886e38 }), { f: 3.4028235e38 });
});

test('json_name and lowerCamel names are accepted on input, .proto names are printed', () => {
  assert.equal(canonical({ customName: 'a', byId: { '3': 'x' } }), { by_id: { '3': 'x' }, json_named: 'a' });
});

test('repeated numeric fields are packed; unpacked input decodes too', () => {
  const packed = encodeJson(All, { rs32: [-1, 1] }, '');
  // Tag 19 with wire type 2 (9a 01), length 2, then zigzag -1 (01) and 1 (02).
  assert.is(hex(packed), '9a01020102');
  const unpacked = protobuf.Writer.create()
    .uint32((19 << 3) | 0)
    .sint32(-1)
    .uint32((19 << 3) | 0)
    .sint32(1)
    .finish();
  assert.equal(decodeToJson(All, unpacked, ''), { rs32: [-1, 1] });
});

test('bytes accept standard or URL-safe base64, padded or not', () => {
  for (const input of ['+/8=', '-_8=', '+/8', '-_8']) assert.equal(canonical({ by: input }), { by: '+/8=' }, input);
});

test('map entries are written in sorted key order, whatever the JSON key order', () => {
  assert.is(hex(encodeJson(All, { blobs: { b: 'AQ==', a: '' } }, '')), hex(encodeJson(All, { blobs: { a: '', b: 'AQ==' } }, '')));
  const struct = 'google.protobuf.Struct';
  assert.is(hex(jsonToBinary(struct, { z: 1, a: { y: 2, b: 3 } })), hex(jsonToBinary(struct, { a: { b: 3, y: 2 }, z: 1 })));
});

test('maps and Structs decoded from unsorted binary are printed with sorted keys', () => {
  const bytes = All.encode({ blobs: { b: new Uint8Array([1]), a: new Uint8Array() } }).finish();
  // protobufjs writes entries in insertion order: the first entry's key is "b" (62).
  assert.is(hex(bytes.subarray(0, 6)), 'ca01060a0162');
  assert.is(JSON.stringify(decodeToJson(All, bytes, '')), '{"blobs":{"a":"","b":"AQ=="}}');
  const Struct = lookupMessage('google.protobuf.Struct');
  const struct = Struct.encode({ fields: { z: { boolValue: true }, a: { stringValue: 's' } } }).finish();
  assert.is(JSON.stringify(binaryToJson('google.protobuf.Struct', struct)), '{"a":"s","z":true}');
});

test('scalar and map errors name their path', () => {
  const cases: Array<[Json, string, RegExp]> = [
    [{ by_id: { x: 'a' } }, 'by_id["x"]', /expected an integer \(int64\)/],
    [{ flags: { yes: 1 } }, 'flags["yes"]', /keys must be "true" or "false"/],
    [{ inners: { '1': null } }, 'inners["1"]', /map values cannot be null/],
    [{ f: 1e39 }, 'f', /out of range for float/],
    [{ d: '1e999' }, 'd', /out of range for double/],
    [{ s: 'a\ud800' }, 's', /lone UTF-16 surrogate/],
    [{ colors: ['RED', 'BLUE'] }, 'colors[1]', /unknown value "BLUE" for enum t\.Color/],
    [{ text: 'a', detail: {} }, 'detail', /oneof "choice"/],
    [{ s32: 2147483648 }, 's32', /out of range for sint32/],
    [{ by: 'Q' }, 'by', /invalid base64/],
  ];
  for (const [json, path, problem] of cases) {
    let caught: unknown;
    try {
      encodeJson(All, json, '');
    } catch (err) {
      caught = err;
    }
    assert.instance(caught, ProtoJsonError, JSON.stringify(json));
    assert.is((caught as ProtoJsonError).path, path);
    assert.match((caught as ProtoJsonError).message, problem);
  }
});

test.run();
