// A strict DER (X.690) reader for what peers send: definite, minimal
// lengths, single-byte tags, every byte of a constructed element accounted
// for by its children, nothing after the outermost element. Reading peer
// input through a general ASN.1 schema library costs far more than the
// signature checks that follow, and accepts BER besides.

/** Thrown for input that is not DER; callers turn it into their own refusal. */
export class DerError extends Error {}

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  end: number;
}

/** Deeper nesting than any certificate or CSR has: input that needs it is refused, not recursed into. */
const MAX_DEPTH = 24;

/** The element at `offset`, which must end at or before `limit`. */
export function readTlv(der: Uint8Array, offset: number, limit: number = der.length): Tlv {
  if (offset + 2 > limit) throw new DerError('truncated element');
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not used here');
  let length = der[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    // 0 is BER's indefinite length; more than 3 bytes would be over 16 MiB.
    if (count === 0 || count > 3) throw new DerError('unsupported length');
    if (contentStart + count > limit) throw new DerError('truncated length');
    if (der[contentStart] === 0) throw new DerError('length not minimally encoded');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[contentStart + i]!;
    if (length < 0x80) throw new DerError('length not minimally encoded');
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError('truncated content');
  return { tag, start: offset, contentStart, end };
}

/** The one element that `der` consists of: trailing bytes are refused. */
export function readOnly(der: Uint8Array): Tlv {
  const whole = readTlv(der, 0);
  if (whole.end !== der.length) throw new DerError('bytes after the end');
  return whole;
}

/** The elements directly inside `parent`, which must fill it exactly. */
export function readChildren(der: Uint8Array, parent: Tlv): Tlv[] {
  const found: Tlv[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const child = readTlv(der, at, parent.end);
    found.push(child);
    at = child.end;
  }
  return found;
}

/** The children of `parent` after checking its tag and that it has `min` to `max` of them. */
export function expect(der: Uint8Array, parent: Tlv | undefined, tag: number, min: number, max: number = min): Tlv[] {
  if (parent?.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}`);
  const children = readChildren(der, parent);
  if (children.length < min || children.length > max) throw new DerError(`expected ${min} to ${max} elements`);
  return children;
}

/**
 * Checks that every constructed element within `element`, at any depth, is
 * made of whole elements, and that the OBJECT IDENTIFIERs, NULLs and INTEGERs
 * among them are in their one DER form: a reader that re-encodes what it
 * parsed (as general ASN.1 libraries do) must get back the very same bytes.
 */
export function checkNesting(der: Uint8Array, element: Tlv, depth = 0): void {
  if ((element.tag & 0x20) === 0) {
    checkPrimitive(der, element);
    return;
  }
  if (depth > MAX_DEPTH) throw new DerError('nested too deeply');
  for (const child of readChildren(der, element)) checkNesting(der, child, depth + 1);
}

function checkPrimitive(der: Uint8Array, element: Tlv): void {
  switch (element.tag) {
    case 0x06:
      objectIdentifierBytes(der, element);
      return;
    case 0x05:
      if (element.end !== element.contentStart) throw new DerError('NULL with content');
      return;
    case 0x02: {
      const length = element.end - element.contentStart;
      const [first, second] = [der[element.contentStart], der[element.contentStart + 1]];
      if (length === 0) throw new DerError('INTEGER without content');
      if (length > 1 && ((first === 0 && second! < 0x80) || (first === 0xff && second! >= 0x80)))
        throw new DerError('INTEGER not minimally encoded');
      return;
    }
  }
}

/** The content of a BIT STRING whose bit count is a whole number of bytes (keys and signatures). */
export function bitStringBytes(der: Uint8Array, element: Tlv | undefined): Uint8Array {
  if (element?.tag !== 0x03 || element.end === element.contentStart || der[element.contentStart] !== 0)
    throw new DerError('expected a BIT STRING of whole bytes');
  return der.subarray(element.contentStart + 1, element.end);
}

/** An OBJECT IDENTIFIER element's exact bytes, after checking its arcs are minimally encoded. */
export function objectIdentifierBytes(der: Uint8Array, element: Tlv | undefined): Uint8Array {
  if (element?.tag !== 0x06 || element.end === element.contentStart) throw new DerError('expected an OBJECT IDENTIFIER');
  if (der[element.end - 1]! & 0x80) throw new DerError('OBJECT IDENTIFIER ends inside an arc');
  for (let i = element.contentStart; i < element.end; i++) {
    const arcStart = i === element.contentStart || (der[i - 1]! & 0x80) === 0;
    if (arcStart && der[i] === 0x80) throw new DerError('OBJECT IDENTIFIER arc not minimally encoded');
  }
  return der.subarray(element.start, element.end);
}

export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;
