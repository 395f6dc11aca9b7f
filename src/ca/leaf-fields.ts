// The few fields of a workload certificate that decide whom it names, read
// straight from its DER: serial, validity, basicConstraints
// and the URI subjectAltNames. Renewals and ADS streams authenticate with a
// client certificate, and a general ASN.1 library takes over a millisecond to
// find these; the certificate's signature is OpenSSL's to check (during the
// TLS handshake), not this reader's.
import { DerError, expect, objectIdentifierBytes, readOnly, sameBytes, type Tlv } from './der-reader.js';
import { objectIdentifier } from './der.js';
import { fail, ok, type Result } from './result.js';

export interface LeafFields {
  /** The serial number in lower-case hex, without the sign byte DER puts before a high first bit. */
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  /** basicConstraints says cA TRUE. */
  isCa: boolean;
  /** Every uniformResourceIdentifier of the subjectAltName extension, in order. */
  uris: string[];
}

const SEQUENCE = 0x30;
const VERSION = 0xa0;
const EXTENSIONS = 0xa3;
const URI_NAME = 0x86;
const [ISSUER_UID, SUBJECT_UID] = [0x81, 0x82];
/** Every order the optional trailing fields of a TBSCertificate may come in. */
const OPTIONAL_TAIL: readonly number[][] = [[], [ISSUER_UID], [SUBJECT_UID], [ISSUER_UID, SUBJECT_UID]].flatMap((t) => [
  t,
  [...t, EXTENSIONS],
]);
const BOOLEAN_TRUE = Buffer.from([0x01, 0x01, 0xff]);
const BASIC_CONSTRAINTS = objectIdentifier('2.5.29.19');
const SUBJECT_ALT_NAME = objectIdentifier('2.5.29.17');

/** The fields of a DER certificate; never throws on any input. */
export function readLeafFields(der: Uint8Array): Result<LeafFields> {
  try {
    return ok(read(der));
  } catch (err) {
    if (err instanceof DerError) return fail(`not a valid X.509 certificate (${err.message})`);
    throw err;
  }
}

function read(der: Uint8Array): LeafFields {
  const [tbs] = expect(der, readOnly(der), SEQUENCE, 3);
  const fields = expect(der, tbs, SEQUENCE, 6, 10);
  const body = fields[0]!.tag === VERSION ? fields.slice(1) : fields;
  const [serial, , , validity] = body;
  if (serial?.tag !== 0x02 || serial.end === serial.contentStart) throw new DerError('expected the serial number');
  const [notBefore, notAfter] = expect(der, validity, SEQUENCE, 2);
  // After the six mandatory fields only issuerUniqueID [1], subjectUniqueID [2] and extensions [3] may follow, in that order.
  const optional = body.slice(6).map((f) => f.tag);
  if (!OPTIONAL_TAIL.some((tail) => tail.join() === optional.join())) throw new DerError('unexpected fields after the public key');
  const extensions = fields.at(-1)!.tag === EXTENSIONS ? extensionsOf(der, fields.at(-1)!) : [];
  const value = (oid: Uint8Array): Uint8Array | undefined => {
    const found = extensions.filter((e) => sameBytes(e.oid, oid));
    if (found.length > 1) throw new DerError('an extension appears twice');
    return found[0]?.value;
  };
  return {
    serialHex: serialHex(der.subarray(serial.contentStart, serial.end)),
    notBefore: timeOf(der, notBefore!),
    notAfter: timeOf(der, notAfter!),
    isCa: isCa(value(BASIC_CONSTRAINTS)),
    uris: urisOf(value(SUBJECT_ALT_NAME)),
  };
}

function extensionsOf(der: Uint8Array, wrapper: Tlv): { oid: Uint8Array; value: Uint8Array }[] {
  const [list] = expect(der, wrapper, EXTENSIONS, 1);
  return expect(der, list, SEQUENCE, 1, Infinity).map((extension) => {
    const [oid, ...rest] = expect(der, extension, SEQUENCE, 2, 3);
    const value = rest.at(-1)!;
    if (rest.length === 2 && rest[0]!.tag !== 0x01) throw new DerError('expected the critical flag');
    if (value.tag !== 0x04) throw new DerError('expected an extension value');
    return { oid: objectIdentifierBytes(der, oid), value: der.subarray(value.contentStart, value.end) };
  });
}

function serialHex(integer: Uint8Array): string {
  const magnitude = integer.length > 1 && integer[0] === 0 && integer[1]! > 0x7f ? integer.subarray(1) : integer;
  return Buffer.from(magnitude).toString('hex');
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL } */
function isCa(value: Uint8Array | undefined): boolean {
  if (value === undefined) return false;
  const [first] = expect(value, readOnly(value), SEQUENCE, 0, 2);
  return first?.tag === 0x01 && sameBytes(value.subarray(first.start, first.end), BOOLEAN_TRUE);
}

/** GeneralNames ::= SEQUENCE OF GeneralName; a URI is [6] IMPLICIT IA5String. */
function urisOf(value: Uint8Array | undefined): string[] {
  if (value === undefined) return [];
  const names = expect(value, readOnly(value), SEQUENCE, 1, Infinity);
  return names.filter((n) => n.tag === URI_NAME).map((n) => Buffer.from(value.subarray(n.contentStart, n.end)).toString('latin1'));
}

/** UTCTime (YYMMDDHHMMSSZ, years 1950-2049) or GeneralizedTime (YYYYMMDDHHMMSSZ), the only time forms X.509 certificates may use. */
function timeOf(der: Uint8Array, element: Tlv): Date {
  const text = Buffer.from(der.subarray(element.contentStart, element.end)).toString('latin1');
  const utc = element.tag === 0x17 && /^\d{12}Z$/.test(text);
  if (!utc && !(element.tag === 0x18 && /^\d{14}Z$/.test(text))) throw new DerError('expected a UTCTime or GeneralizedTime');
  const digits = utc ? `${Number(text.slice(0, 2)) >= 50 ? '19' : '20'}${text}` : text;
  const [year, month, day, hour, minute, second] = [0, 4, 6, 8, 10, 12].map((at, i) => Number(digits.slice(at, i === 0 ? 4 : at + 2)));
  const date = new Date(0);
  date.setUTCFullYear(year!, month! - 1, day!);
  date.setUTCHours(hour!, minute!, second!);
  // Dates roll 31 February over into March: a date that does not read back the same was not a date.
  if (date.getUTCMonth() !== month! - 1 || date.getUTCDate() !== day! || hour! > 23 || minute! > 59 || second! > 59)
    throw new DerError('not a valid time');
  return date;
}
