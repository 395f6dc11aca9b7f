// Verification of compact JWS tokens signed with ES256 (ECDSA P-256,
// SHA-256), the only kind meshlite issues, with Node's crypto on a KeyObject
// made once. A WebCrypto-based verifier costs about twice the CPU per token,
// and every CreateCertificate call and ADS stream opened with a token pays it.
// The checks are those of a general JWT library given an issuer, an audience
// and ES256 as the only algorithm: a `crit` header (extensions this code
// does not know) is refused; `nbf` and `exp` are compared with the current
// second, without tolerance.
import { type KeyObject, verify } from 'node:crypto';

/** Far longer than any token meshlite issues; a longer string is refused before any decoding. */
export const MAX_TOKEN_CHARS = 8192;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ES256_SIGNATURE_BYTES = 64;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export type JwtClaims = Record<string, unknown>;
export type JwtCheck = { ok: true; claims: JwtClaims } | { ok: false; reason: string };

export interface JwtExpectations {
  issuer: string;
  audience: string;
  /** Seconds since the epoch. */
  nowSeconds: number;
}

const refuse = (reason: string): JwtCheck => ({ ok: false, reason });

/** The claims of `token` once its ES256 signature by `key` and its issuer, audience and times check out. */
export function verifyEs256Jwt(token: string, key: KeyObject, expected: JwtExpectations): JwtCheck {
  if (token.length > MAX_TOKEN_CHARS) return refuse(`token is longer than ${MAX_TOKEN_CHARS} characters`);
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p) && p.length % 4 !== 1))
    return refuse('not a compact JWS (three base64url parts separated by dots)');
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const header = jsonObject(encodedHeader);
  if (!header) return refuse('the JWS header is not a JSON object');
  if (header.alg !== 'ES256') return refuse('"alg" (Algorithm) Header Parameter value not allowed');
  if (header.crit !== undefined) return refuse('"crit" (Critical) Header Parameter is not supported');
  const signature = Buffer.from(encodedSignature, 'base64url');
  const signingInput = Buffer.from(`${encodedHeader}.${encodedPayload}`, 'latin1');
  if (signature.length !== ES256_SIGNATURE_BYTES || !verify('sha256', signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature))
    return refuse('signature verification failed');
  const claims = jsonObject(encodedPayload);
  if (!claims) return refuse('JWT Claims Set must be a top-level JSON object');
  return checkClaims(claims, expected);
}

function checkClaims(claims: JwtClaims, { issuer, audience, nowSeconds }: JwtExpectations): JwtCheck {
  for (const required of ['iss', 'aud']) if (!Object.hasOwn(claims, required)) return refuse(`missing required "${required}" claim`);
  if (claims.iss !== issuer) return refuse('unexpected "iss" claim value');
  const { aud } = claims;
  if (!(aud === audience || (Array.isArray(aud) && aud.includes(audience)))) return refuse('unexpected "aud" claim value');
  for (const time of ['iat', 'nbf', 'exp'])
    if (claims[time] !== undefined && typeof claims[time] !== 'number') return refuse(`"${time}" claim must be a number`);
  if (claims.nbf !== undefined && (claims.nbf as number) > nowSeconds) return refuse('"nbf" claim timestamp check failed');
  if (claims.exp !== undefined && (claims.exp as number) <= nowSeconds) return refuse('"exp" claim timestamp check failed');
  return { ok: true, claims };
}

/** The JSON object a base64url part holds (strict UTF-8), or undefined. */
function jsonObject(encoded: string): JwtClaims | undefined {
  let value: unknown;
  try {
    value = JSON.parse(UTF8.decode(Buffer.from(encoded, 'base64url')));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JwtClaims) : undefined;
}
