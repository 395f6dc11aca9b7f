// Decides who is on the other end of an ADS stream. By default the proxy must
// present a meshlite token for exactly the workload its node claims to be. A
// node agent, once it holds its workload certificate, authenticates with that
// instead (its TLS client certificate): it may then be any workload with the
// certificate's namespace and service account, and its token may expire.
import * as grpc from '@grpc/grpc-js';
import { certificateCaller } from '../ca-service/caller-auth.js';
import type { TokenAuthority } from '../identity/proxy-token.js';
import type { RevocationList } from '../identity/token-revocations.js';
import type { AuthResult, PeerCertificate, StreamAuthenticator, StreamCredential } from '../server/ads-server.js';
import type { NodeInfo } from '../server/discovery-codec.js';
import { PROXYLESS_GRPC_ANNOTATION, proxylessMismatch } from '../model/proxyless-workload.js';
import { proxyKind } from '../model/proxy-kind.js';
import type { ControlPlane } from './control-plane.js';
import { servedWorkloadsMemo } from './served-workloads.js';
import type { ServedWorkloads } from '../ca-service/caller-auth.js';
import type { MeshModel } from '../model/mesh-model.js';

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
    /** The CA's trust domain: client certificates of other domains are refused. */
    private readonly trustDomain = 'cluster.local',
    /** Why a client certificate was revoked with its proxy (see credential-revocation.ts). */
    private readonly certificateRevoked: (serial: string) => string | undefined = () => undefined,
    /** The workloads served under a model (see served-workloads.ts). */
    private readonly servedIn: (model: MeshModel) => ServedWorkloads = servedWorkloadsMemo(),
    /** The WorkloadGroup an auto-registered workload belongs to: its group's token may open its streams. */
    private readonly groupOf: (workloadId: string) => string | undefined = () => undefined,
  ) {}

  /** `tokens` undefined means the explicit insecure mode: the node id is believed. */
  get insecure(): boolean {
    return this.tokens === undefined;
  }

  async authenticate(metadata: grpc.Metadata, node: NodeInfo, _peer = '', certificate: PeerCertificate = {}): Promise<AuthResult> {
    const claimed = claimedWorkload(node);
    let credential: StreamCredential | undefined;
    if (this.tokens) {
      const header = metadata.get('authorization')[0];
      const byToken = header !== undefined || (!certificate.verified && certificate.rejection === undefined);
      const checked = byToken ? await this.byToken(header, claimed, node.id) : this.byCertificate(certificate, claimed);
      if (!checked.ok) return checked;
      credential = checked.credential;
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

  private async byToken(
    header: string | Buffer | undefined,
    claimed: string,
    nodeId: string,
  ): Promise<{ ok: true; credential: StreamCredential } | Extract<AuthResult, { ok: false }>> {
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    if (!token)
      return {
        ok: false,
        code: grpc.status.UNAUTHENTICATED,
        message:
          'no bearer token in the "authorization" metadata (create one with `meshlite token`), and no workload certificate as the TLS client certificate',
      };
    const check = await this.tokens!.verify(token);
    if (!check.ok) return { ok: false, code: grpc.status.UNAUTHENTICATED, message: `invalid token: ${check.reason}` };
    const byGroup = check.group !== undefined && this.groupOf(claimed) === check.group;
    if (check.workloadId !== claimed && !byGroup) {
      return {
        ok: false,
        code: grpc.status.PERMISSION_DENIED,
        message: `node "${nodeId}" claims workload "${claimed}" but the token is for "${check.workloadId}"`,
      };
    }
    // Checked after the last await: a revocation read later closes the stream through closeStreams.
    const revoked = this.revocations()?.revokedReason(check);
    if (revoked) return { ok: false, code: grpc.status.UNAUTHENTICATED, message: `token revoked: ${revoked}` };
    return {
      ok: true,
      credential: { kind: 'token', id: check.tokenId, issuedAt: seconds(check.issuedAt), expiresAt: seconds(check.expiresAt) },
    };
  }

  /** A certificate proves a namespace and service account; the claimed workload must have them. */
  private byCertificate(
    certificate: PeerCertificate,
    claimed: string,
  ): { ok: true; credential: StreamCredential } | Extract<AuthResult, { ok: false }> {
    const model = this.controlPlane.currentModel;
    if (!model) return { ok: false, code: grpc.status.UNAVAILABLE, message: 'meshlite has no valid config yet' };
    const outcome = certificateCaller(
      { verifiedCertificate: certificate.verified, certificateRejection: certificate.rejection },
      { trustDomain: this.trustDomain, workloads: this.servedIn(model), now: new Date(), certificateRevoked: this.certificateRevoked },
    );
    if (outcome.kind === 'absent') return { ok: false, code: grpc.status.UNAUTHENTICATED, message: 'no credential' };
    if (outcome.kind === 'refused')
      return { ok: false, code: outcome.denied ? grpc.status.PERMISSION_DENIED : grpc.status.UNAUTHENTICATED, message: outcome.reason };
    const workload = model.registry.workload(claimed);
    const { caller } = outcome;
    if (workload && (workload.namespace !== caller.namespace || workload.serviceAccount !== caller.serviceAccount)) {
      return {
        ok: false,
        code: grpc.status.PERMISSION_DENIED,
        message: `node claims workload "${claimed}" (service account ${workload.namespace}/${workload.serviceAccount}) but the client certificate is for ${caller.spiffeId}`,
      };
    }
    return { ok: true, credential: { kind: 'certificate', id: caller.certificateSerial, expiresAt: outcome.notAfter.getTime() } };
  }
}

const seconds = (s: number | undefined) => (s === undefined ? undefined : s * 1000);
