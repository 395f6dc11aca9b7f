// Per-workload bearer tokens a proxy presents on its ADS stream. Signed by a
// key meshlite creates once in its state directory (ES256). Every token has a
// random id (`jti`) so that one token can be revoked on its own. Tokens are
// made and checked with jose; the ones that checked out are remembered until
// they expire (verified-token-cache.ts), so an agent's repeated calls cost a lookup.
import { createPublicKey, type KeyObject, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, jwtVerify, SignJWT } from 'jose';
import { VerifiedTokenCache } from './verified-token-cache.js';

const ISSUER = 'meshlite';
const AUDIENCE = 'meshlite-ads';
const ALG = 'ES256';
export const TOKEN_KEY_FILE = 'token-signing-key.pem';
const TOKEN_PUBLIC_KEY_FILE = 'token-signing-key.pub.pem';

/** 30 days: an Envoy bootstrap holds its token statically, so the operator renews it by re-running bootstrap. */
export const DEFAULT_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

export interface TokenClaims {
  workloadId: string;
  /**
   * A WorkloadGroup token (`<name>.<namespace>`): it registers workloads of the
   * group rather than naming one. Its subject is `group:<id>`, which no
   * workload id can equal, so it never passes for a workload's own token.
   */
  group?: string;
  /** The token id (`jti`); tokens made before ids existed have none. */
  tokenId?: string;
  /** Seconds since the epoch (`iat`). */
  issuedAt?: number;
  /** Seconds since the epoch (`exp`). */
  expiresAt?: number;
}

export type TokenCheck = ({ ok: true } & TokenClaims) | { ok: false; reason: string };

export interface IssuedToken {
  token: string;
  tokenId: string;
  workloadId: string;
  issuedAt: number;
  expiresAt: number;
}

export class TokenAuthority {
  readonly #verified = new VerifiedTokenCache<TokenClaims>();

  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicKey: KeyObject,
  ) {}

  /** True when `stateDir` holds a token signing key (made by `meshlite serve`). */
  static existsIn(stateDir: string): boolean {
    return existsSync(join(stateDir, TOKEN_KEY_FILE));
  }

  /** Loads the signing key from `<stateDir>/token-signing-key.pem`, creating it on first use. */
  static async loadOrCreate(stateDir: string): Promise<TokenAuthority> {
    const keyPath = join(stateDir, TOKEN_KEY_FILE);
    const pubPath = join(stateDir, TOKEN_PUBLIC_KEY_FILE);
    if (!existsSync(keyPath)) {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
      writeAtomic(keyPath, await exportPKCS8(privateKey), 0o600);
      writeAtomic(pubPath, await exportSPKI(publicKey), 0o644);
    }
    return TokenAuthority.load(stateDir);
  }

  /** A new signing key, PKCS#8 PEM (kept by the caller: the store seals it). */
  static async generatePrivateKeyPem(): Promise<string> {
    const { privateKey } = await generateKeyPair(ALG, { extractable: true });
    return exportPKCS8(privateKey);
  }

  /** An authority signing with this PKCS#8 PEM key (its public key derived from it). */
  static async fromPrivateKeyPem(pem: string): Promise<TokenAuthority> {
    const privateKey = await importPKCS8(pem, ALG);
    return new TokenAuthority(privateKey, checkedPublicKey(createPublicKey(pem), 'the token signing key'));
  }

  /** Loads an existing signing key; throws when there is none. */
  static async load(stateDir: string): Promise<TokenAuthority> {
    const privateKey = await importPKCS8(readFileSync(join(stateDir, TOKEN_KEY_FILE), 'utf8'), ALG);
    const publicKey = createPublicKey(readFileSync(join(stateDir, TOKEN_PUBLIC_KEY_FILE), 'utf8'));
    return new TokenAuthority(privateKey, checkedPublicKey(publicKey, TOKEN_PUBLIC_KEY_FILE));
  }

  async issue(workloadId: string, ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS): Promise<string> {
    return (await this.issueToken(workloadId, ttlSeconds)).token;
  }

  /** A token with its id and lifetime, for the operator to record. */
  async issueToken(workloadId: string, ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS): Promise<IssuedToken> {
    return this.sign(workloadId, {}, ttlSeconds);
  }

  /** A token for agents that register workloads of the WorkloadGroup `<name>.<namespace>`. */
  async issueGroupToken(groupId: string, ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS): Promise<IssuedToken> {
    return this.sign(groupSubject(groupId), { group: groupId }, ttlSeconds);
  }

  private async sign(workloadId: string, claims: Record<string, string>, ttlSeconds: number): Promise<IssuedToken> {
    if (!(ttlSeconds > 0)) throw new Error(`token lifetime must be positive (got ${ttlSeconds} s)`);
    const tokenId = randomUUID();
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAt = issuedAt + Math.round(ttlSeconds);
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(workloadId)
      .setJti(tokenId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(this.privateKey);
    return { token, tokenId, workloadId, issuedAt, expiresAt };
  }

  /** Signature, issuer, audience, expiry and subject; revocation is the caller's to check. */
  async verify(token: string): Promise<TokenCheck> {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const known = this.#verified.get(token, nowSeconds);
    if (known) return { ok: true, ...known };
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.publicKey, { issuer: ISSUER, audience: AUDIENCE, algorithms: [ALG] }));
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
    const { sub, jti, iat, exp, group } = payload;
    if (typeof sub !== 'string' || sub === '') return { ok: false, reason: 'token has no subject' };
    if (group !== undefined && (typeof group !== 'string' || sub !== groupSubject(group)))
      return { ok: false, reason: '"group" claim does not match the subject' };
    if (jti !== undefined && typeof jti !== 'string') return { ok: false, reason: '"jti" claim must be a string' };
    const claims: TokenClaims = {
      workloadId: sub,
      ...(group === undefined ? {} : { group }),
      tokenId: jti,
      issuedAt: iat as number | undefined,
      expiresAt: exp as number | undefined,
    };
    this.#verified.remember(token, claims);
    return { ok: true, ...claims };
  }
}

/** The subject of a WorkloadGroup token. */
export function groupSubject(groupId: string): string {
  return `group:${groupId}`;
}

function checkedPublicKey(publicKey: KeyObject, source: string): KeyObject {
  if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw new Error(`${source} does not hold an EC P-256 ${publicKey.type} key`);
  return publicKey;
}

function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}
