// The file in which meshlite hands the resources it serves to another xDS
// server (bench/compare/go reads it too): for each state of the mesh and each
// proxy, per xDS type the version meshlite gives the type and each resource's
// name, version and serialized google.protobuf.Any. Each distinct Any is
// stored once and referenced by index, so 1,000 proxies sharing most of their
// clusters cost little more than one.
//
// Layout, every integer a little-endian uint32, every string a uint32 byte
// length then UTF-8:
//   "MLXDSNAP" formatVersion(=1)
//   blobCount, blobCount x (length, Any bytes)
//   stateCount, per state: label, proxyCount,
//     per proxy: nodeId, typeCount,
//       per type: typeUrl, version, resourceCount,
//         per resource: name, version, blobIndex
import { createHash } from 'node:crypto';

import type { MtlsMode } from '../push-config.js';

/** The files bench/compare/export-snapshots.ts writes into its output directory. */
export const SNAPSHOT_FILE = 'snapshots.bin';
export const CERT_FILE = 'ads-cert.pem';
export const KEY_FILE = 'ads-key.pem';
/** State 0 is the mesh as written (STRICT), state 1 the mesh after the change. */
export const STATE_MODES: readonly MtlsMode[] = ['STRICT', 'PERMISSIVE'];

const MAGIC = 'MLXDSNAP';
const FORMAT_VERSION = 1;

export interface ExportedResource {
  name: string;
  version: string;
  /** A serialized google.protobuf.Any (type_url, value). */
  any: Uint8Array;
}

export interface ExportedType {
  typeUrl: string;
  version: string;
  resources: ExportedResource[];
}

export interface ExportedProxy {
  id: string;
  types: ExportedType[];
}

export interface ExportedState {
  label: string;
  proxies: ExportedProxy[];
}

// ---- google.protobuf.Any, by hand: field 1 type_url, field 2 value ----

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

export function encodeAny(typeUrl: string, value: Uint8Array): Uint8Array {
  const url = Buffer.from(typeUrl, 'utf8');
  return Buffer.concat([Buffer.from([0x0a, ...varint(url.length)]), url, Buffer.from([0x12, ...varint(value.length)]), value]);
}

/** The value field of an Any (a view, not a copy). */
export function anyValue(any: Uint8Array): Uint8Array {
  let pos = 0;
  const read = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = any[pos++];
      if (b === undefined) throw new Error('truncated google.protobuf.Any');
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
  };
  while (pos < any.length) {
    const key = read();
    if ((key & 7) !== 2) throw new Error(`unexpected wire type ${key & 7} in a google.protobuf.Any`);
    const len = read();
    if (key >>> 3 === 2) return any.subarray(pos, pos + len);
    pos += len;
  }
  return new Uint8Array(0);
}

// ---- writing ----

class Writer {
  private readonly chunks: Buffer[] = [];
  u32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    this.chunks.push(b);
  }
  raw(data: Uint8Array): void {
    this.chunks.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }
  bytes(data: Uint8Array): void {
    this.u32(data.length);
    this.raw(data);
  }
  str(s: string): void {
    this.bytes(Buffer.from(s, 'utf8'));
  }
  result(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export function writeSnapshotFile(states: readonly ExportedState[]): Buffer {
  const blobs: Uint8Array[] = [];
  const byObject = new Map<Uint8Array, number>();
  const byContent = new Map<string, number>();
  const indexOf = (any: Uint8Array): number => {
    const known = byObject.get(any);
    if (known !== undefined) return known;
    const key = createHash('sha256').update(any).digest('base64');
    let index = byContent.get(key);
    if (index === undefined) {
      index = blobs.push(any) - 1;
      byContent.set(key, index);
    }
    byObject.set(any, index);
    return index;
  };
  const body = new Writer();
  body.u32(states.length);
  for (const state of states) {
    body.str(state.label);
    body.u32(state.proxies.length);
    for (const proxy of state.proxies) {
      body.str(proxy.id);
      body.u32(proxy.types.length);
      for (const type of proxy.types) {
        body.str(type.typeUrl);
        body.str(type.version);
        body.u32(type.resources.length);
        for (const r of type.resources) {
          body.str(r.name);
          body.str(r.version);
          body.u32(indexOf(r.any));
        }
      }
    }
  }
  const head = new Writer();
  head.raw(Buffer.from(MAGIC, 'ascii'));
  head.u32(FORMAT_VERSION);
  head.u32(blobs.length);
  for (const blob of blobs) head.bytes(blob);
  return Buffer.concat([head.result(), body.result()]);
}

// ---- reading ----

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  u32(): number {
    if (this.pos + 4 > this.buf.length) throw new Error('snapshot file truncated');
    const n = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return n;
  }
  bytes(): Buffer {
    const len = this.u32();
    if (this.pos + len > this.buf.length) throw new Error('snapshot file truncated');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  str(): string {
    return this.bytes().toString('utf8');
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }
}

/** The states of a snapshot file; resources that were one blob share one byte array. */
export function readSnapshotFile(buf: Buffer): ExportedState[] {
  if (buf.subarray(0, MAGIC.length).toString('ascii') !== MAGIC) throw new Error('not a meshlite snapshot file (bad magic)');
  const r = new Reader(buf.subarray(MAGIC.length));
  const format = r.u32();
  if (format !== FORMAT_VERSION) throw new Error(`snapshot file format ${format}, expected ${FORMAT_VERSION}`);
  const blobs: Buffer[] = [];
  for (let n = r.u32(); n > 0; n--) blobs.push(r.bytes());
  const states: ExportedState[] = [];
  for (let s = r.u32(); s > 0; s--) {
    const label = r.str();
    const proxies: ExportedProxy[] = [];
    for (let p = r.u32(); p > 0; p--) {
      const id = r.str();
      const types: ExportedType[] = [];
      for (let t = r.u32(); t > 0; t--) {
        const typeUrl = r.str();
        const version = r.str();
        const resources: ExportedResource[] = [];
        for (let k = r.u32(); k > 0; k--) {
          const name = r.str();
          const resourceVersion = r.str();
          const index = r.u32();
          const any = blobs[index];
          if (any === undefined) throw new Error(`snapshot file names blob ${index} of ${blobs.length}`);
          resources.push({ name, version: resourceVersion, any });
        }
        types.push({ typeUrl, version, resources });
      }
      proxies.push({ id, types });
    }
    states.push({ label, proxies });
  }
  if (!r.done) throw new Error('snapshot file has trailing bytes');
  return states;
}
