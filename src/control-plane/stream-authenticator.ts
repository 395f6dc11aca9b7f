// Decides who is on the other end of an ADS stream. By default the proxy must
// present a meshlite token for exactly the workload its node claims to be.
import * as grpc from '@grpc/grpc-js';
import type { TokenAuthority } from '../identity/proxy-token.js';
import type { RevocationList } from '../identity/token-revocations.js';
import type { AuthResult, StreamAuthenticator, StreamCredential } from '../server/ads-server.js';
import type { NodeInfo } from '../server/discovery-codec.js';
import { PROXYLESS_GRPC_ANNOTATION, proxylessMismatch } from '../model/proxyless-workload.js';
import { proxyKind } from '../model/proxy-kind.js';
import type { ControlPlane } from './control-plane.js';

/** The workload a node claims: its id, or Istio's `sidecar~<ip>~<name>.<ns>~...` form. */
export function claimedWorkload(node: NodeInfo): string {
  const parts = node.id.split('~');
  return parts.length >= 3 && parts[0] === 'sidecar' ? parts[2]! : node.id;
}

export class TokenStreamAuthenticator implements StreamAuthenticator {
  constructor(
    private readonly controlPlane: ControlPlane,
    private readonly tokens: TokenAuthority | undefined,
    /** The revoked tokens now in force (read on every stream open). */
    private readonly revocations: () => RevocationList | undefined = () => undefined,
  ) {}

  /** `tokens` undefined means the explicit insecure mode: the node id is believed. */
  get insecure(): boolean {
    return this.tokens === undefined;
  }

  async authenticate(metadata: grpc.Metadata, node: NodeInfo): Promise<AuthResult> {
    const claimed = claimedWorkload(node);
    let credential: StreamCredential | undefined;
    if (this.tokens) {
      const header = metadata.get('authorization')[0];
      const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
      if (!token)
        return {
          ok: false,
          code: grpc.status.UNAUTHENTICATED,
          message: 'no bearer token in the "authorization" metadata (create one with `meshlite token`)',
        };
      const check = await this.tokens.verify(token);
      if (!check.ok) return { ok: false, code: grpc.status.UNAUTHENTICATED, message: `invalid token: ${check.reason}` };
      if (check.workloadId !== claimed) {
        return {
          ok: false,
          code: grpc.status.PERMISSION_DENIED,
          message: `node "${node.id}" claims workload "${claimed}" but the token is for "${check.workloadId}"`,
        };
      }
      // Checked after the last await: a revocation read later closes the stream through closeStreams.
      const revoked = this.revocations()?.revokedReason(check);
      if (revoked) return { ok: false, code: grpc.status.UNAUTHENTICATED, message: `token revoked: ${revoked}` };
      credential = { id: check.tokenId, issuedAt: seconds(check.issuedAt), expiresAt: seconds(check.expiresAt) };
    }
    const model = this.controlPlane.currentModel;
    if (!model) return { ok: false, code: grpc.status.UNAVAILABLE, message: 'meshlite has no valid config yet' };
    const workload = model.registry.workload(claimed);
    if (!workload)
      return {
        ok: false,
        code: grpc.status.PERMISSION_DENIED,
        message: `unknown workload "${claimed}" (no WorkloadEntry <name>.<namespace>)`,
      };
    const mismatch = proxylessMismatch(workload, node.userAgent);
    if (mismatch) return { ok: false, code: grpc.status.PERMISSION_DENIED, message: mismatch };
    if (!proxyKind(model, workload)) {
      return {
        ok: false,
        code: grpc.status.PERMISSION_DENIED,
        message: `workload "${claimed}" runs no sidecar (label security.istio.io/tlsMode: istio), no Gateway selects it, and it is not proxyless (annotation ${PROXYLESS_GRPC_ANNOTATION}: "true")`,
      };
    }
    return credential ? { ok: true, proxyId: claimed, credential } : { ok: true, proxyId: claimed };
  }
}

const seconds = (s: number | undefined) => (s === undefined ? undefined : s * 1000);
