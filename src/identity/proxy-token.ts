// Per-workload bearer tokens a proxy presents on its ADS stream. Signed by a
// key meshlite creates once in its state directory (ES256).
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, importSPKI, jwtVerify, SignJWT } from 'jose';

const ISSUER = 'meshlite';
const AUDIENCE = 'meshlite-ads';
const ALG = 'ES256';

export type TokenCheck = { ok: true; workloadId: string; expiresAt?: number } | { ok: false; reason: string };

export class TokenAuthority {
  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
  ) {}

  /** Loads the signing key from `<stateDir>/token-signing-key.pem`, creating it on first use. */
  static async loadOrCreate(stateDir: string): Promise<TokenAuthority> {
    const keyPath = join(stateDir, 'token-signing-key.pem');
    const pubPath = join(stateDir, 'token-signing-key.pub.pem');
    if (!existsSync(keyPath)) {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
      writeAtomic(keyPath, await exportPKCS8(privateKey), 0o600);
      writeAtomic(pubPath, await exportSPKI(publicKey), 0o644);
    }
    const privateKey = await importPKCS8(readFileSync(keyPath, 'utf8'), ALG);
    const publicKey = await importSPKI(readFileSync(pubPath, 'utf8'), ALG);
    return new TokenAuthority(privateKey, publicKey);
  }

  async issue(workloadId: string, ttlSeconds = 365 * 24 * 3600): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(workloadId)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.privateKey);
  }

  async verify(token: string): Promise<TokenCheck> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, { issuer: ISSUER, audience: AUDIENCE, algorithms: [ALG] });
      if (!payload.sub) return { ok: false, reason: 'token has no subject' };
      return { ok: true, workloadId: payload.sub, expiresAt: payload.exp };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }
}

function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}
