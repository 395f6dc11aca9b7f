// The few DER (X.690) constructs a certificate template needs, and a reader
// just good enough to cut fields out of certificates we already parsed.
import { appendAll } from '../util/append-all.js';

export type DerPart = Buffer;

/** Bytes a DER header takes for `length` content bytes: the tag, then one length byte or 0x8n and n bytes. */
function headerSize(length: number): number {
  if (length < 0x80) return 2;
  let size = 2;
  for (let n = length; n > 0; n = Math.floor(n / 256)) size++;
  return size;
}

/**
 * One element whose content is `parts` one after the other. Certificates are
 * built from dozens of these per signature: one allocation each, no
 * intermediate concatenations.
 */
function element(tag: number, parts: readonly Uint8Array[]): DerPart {
  let length = 0;
  for (const p of parts) length += p.length;
  const header = headerSize(length);
  const out = Buffer.allocUnsafe(header + length);
  out[0] = tag;
  if (header === 2) out[1] = length;
  else {
    out[1] = 0x80 | (header - 2);
    for (let i = header - 1, n = length; i >= 2; i--, n = Math.floor(n / 256)) out[i] = n % 256;
  }
  let at = header;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const tlv = (tag: number, content: Uint8Array): DerPart => element(tag, [content]);
export const sequence = (...parts: Uint8Array[]): DerPart => element(0x30, parts);
export const set = (...parts: Uint8Array[]): DerPart => element(0x31, parts);
export const octetString = (bytes: Uint8Array): DerPart => tlv(0x04, bytes);
export const utf8String = (text: string): DerPart => tlv(0x0c, Buffer.from(text, 'utf8'));
export const NULL = Buffer.from([0x05, 0x00]);
export const TRUE = Buffer.from([0x01, 0x01, 0xff]);
/** [n] EXPLICIT, constructed. */
export const explicit = (n: number, content: Uint8Array): DerPart => element(0xa0 | n, [content]);
/** [n] IMPLICIT over a primitive value. */
export const implicit = (n: number, bytes: Uint8Array): DerPart => tlv(0x80 | n, bytes);

const ZERO = Buffer.from([0]);

/** A non-negative INTEGER from big-endian magnitude bytes. */
export function unsignedInteger(magnitude: Uint8Array): DerPart {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return trimmed[0]! & 0x80 ? element(0x02, [ZERO, trimmed]) : element(0x02, [trimmed]);
}

export function objectIdentifier(dotted: string): DerPart {
  const arcs = dotted.split('.').map(Number);
  const bytes = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const base128 = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) base128.unshift(0x80 | (n & 0x7f));
    appendAll(bytes, base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** A named-bit BIT STRING (KeyUsage): bit 0 is the most significant bit of the first byte. */
export function namedBits(bits: number[]): DerPart {
  const highest = bits.reduce((max, b) => Math.max(max, b), -Infinity);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  return tlv(0x03, Buffer.concat([Buffer.from([7 - (highest & 7)]), bytes]));
}

export const bitString = (bytes: Uint8Array): DerPart => element(0x03, [ZERO, bytes]);

/** X.509 validity times: UTCTime through 2049, GeneralizedTime from 2050. Whole seconds only. */
export function time(date: Date): DerPart {
  const two = (n: number) => (n < 10 ? `0${n}` : String(n));
  const year = date.getUTCFullYear();
  const rest = `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return year >= 1950 && year < 2050
    ? tlv(0x17, Buffer.from(`${two(year % 100)}${rest}`, 'latin1'))
    : tlv(0x18, Buffer.from(`${String(year).padStart(4, '0')}${rest}`, 'latin1'));
}

export interface DerElement {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  end: number;
}

export function readElement(der: Uint8Array, offset: number): DerElement {
  const tag = der[offset];
  let length = der[offset + 1];
  if (tag === undefined || length === undefined) throw new Error('truncated DER');
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[contentStart + i]!;
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > der.length) throw new Error('truncated DER');
  return { tag, start: offset, contentStart, end };
}

/** The elements directly inside a constructed element. */
export function children(der: Uint8Array, parent: DerElement): DerElement[] {
  const found: DerElement[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const child = readElement(der, at);
    found.push(child);
    at = child.end;
  }
  return found;
}
