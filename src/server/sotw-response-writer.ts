// The DiscoveryResponse of a SotW push, written straight into one buffer.
// Every push of every stream goes through here and the resources are already
// encoded, so the message is a few strings plus the resources' bytes, each
// wrapped in an Any of the response's type: sized first, then copied once
// (a general-purpose encoder builds a list of operations per field and
// copies through a writer). The bytes equal what the DiscoveryResponse proto
// type encodes for the same fields: in field order, an empty one left out.

import { TYPE_URL_OF } from '../xds/type-urls.js';

/** DiscoveryResponse fields: version_info 1, resources 2, type_url 4, nonce 5, control_plane 6 (identifier 1); Any: type_url 1, value 2. */
const TAG = { versionInfo: 0x0a, resource: 0x12, typeUrl: 0x22, nonce: 0x2a, controlPlane: 0x32, anyTypeUrl: 0x0a, anyValue: 0x12 };

const CONTROL_PLANE = controlPlaneField('meshlite');
const EMPTY = new Uint8Array(0);
/** The Any type_url field of each type meshlite serves, encoded once. */
const ANY_TYPE_URL_FIELDS: ReadonlyMap<string, Uint8Array> = new Map(Object.values(TYPE_URL_OF).map((url) => [url, encodeAnyTypeUrl(url)]));

function anyTypeUrlField(typeUrl: string): Uint8Array {
  return ANY_TYPE_URL_FIELDS.get(typeUrl) ?? encodeAnyTypeUrl(typeUrl);
}

function encodeAnyTypeUrl(typeUrl: string): Uint8Array {
  const url = Buffer.from(typeUrl, 'utf8');
  return url.byteLength === 0 ? EMPTY : lengthDelimited(TAG.anyTypeUrl, url);
}

export interface ResourceBytes {
  value: Uint8Array;
}

export function writeSotwResponse(typeUrl: string, versionInfo: string, nonce: string, resources: readonly ResourceBytes[]): Uint8Array {
  const typeUrlBytes = Buffer.byteLength(typeUrl);
  const versionBytes = Buffer.byteLength(versionInfo);
  const nonceBytes = Buffer.byteLength(nonce);
  const anyTypeUrl = fieldSize(typeUrlBytes);
  let size = fieldSize(versionBytes);
  for (const r of resources) {
    const any = anyTypeUrl + fieldSize(r.value.byteLength);
    size += 1 + varintSize(any) + any;
  }
  size += anyTypeUrl + fieldSize(nonceBytes) + CONTROL_PLANE.byteLength;

  const out = Buffer.allocUnsafe(size);
  let at = 0;
  const byte = (b: number) => {
    out[at++] = b;
  };
  const varint = (n: number) => {
    while (n > 0x7f) {
      out[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    out[at++] = n;
  };
  const text = (tag: number, s: string, bytes: number) => {
    if (bytes === 0) return;
    byte(tag);
    varint(bytes);
    at += out.write(s, at, bytes, 'utf8');
  };
  text(TAG.versionInfo, versionInfo, versionBytes);
  // Every Any starts with the same type_url field: encoded once, then copied.
  const anyPrefix = resources.length > 0 ? anyTypeUrlField(typeUrl) : EMPTY;
  for (const r of resources) {
    const length = r.value.byteLength;
    byte(TAG.resource);
    varint(anyTypeUrl + fieldSize(length));
    out.set(anyPrefix, at);
    at += anyPrefix.byteLength;
    if (length === 0) continue;
    byte(TAG.anyValue);
    varint(length);
    out.set(r.value, at);
    at += length;
  }
  text(TAG.typeUrl, typeUrl, typeUrlBytes);
  text(TAG.nonce, nonce, nonceBytes);
  out.set(CONTROL_PLANE, at);
  at += CONTROL_PLANE.byteLength;
  if (at !== size) throw new Error(`DiscoveryResponse sized ${size} bytes but ${at} written`);
  return out;
}

/** A length-delimited field of `bytes` bytes: tag, length, data; nothing when empty. */
function fieldSize(bytes: number): number {
  return bytes === 0 ? 0 : 1 + varintSize(bytes) + bytes;
}

function varintSize(n: number): number {
  let size = 1;
  while (n > 0x7f) {
    n >>>= 7;
    size++;
  }
  return size;
}

/** ControlPlane { identifier 1 } as DiscoveryResponse field 6. */
function controlPlaneField(identifier: string): Uint8Array {
  return lengthDelimited(TAG.controlPlane, lengthDelimited(0x0a, Buffer.from(identifier, 'utf8')));
}

/** Tag, length and bytes of a length-delimited field (for the constant parts, built once). */
function lengthDelimited(tag: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), varintBytes(bytes.byteLength), bytes]);
}

function varintBytes(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
