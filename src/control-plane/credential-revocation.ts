// Revoking a proxy (`meshlite token revoke --proxy`) revokes every credential
// it was given up to that moment: its tokens, and the workload certificates
// CreateCertificate issued to it (the ledger knows each certificate's holder:
// the token's proxy, inherited by every renewal). Otherwise an agent whose
// token was revoked would go on renewing with its certificate. A certificate
// the ledger does not know (issued before it existed) cannot be tied to a
// proxy and is not affected.
import * as grpc from '@grpc/grpc-js';
import type { IssuedLedger } from '../ca/issued-ledger.js';
import type { RevocationList } from '../identity/token-revocations.js';
import type { AdsServer, ConnectionInfo } from '../server/ads-server.js';

/** Why the certificate with this serial is revoked, or undefined. */
export type CertificateRevocationCheck = (serial: string) => string | undefined;

export function certificateRevocation(ledger: IssuedLedger, revocations: () => RevocationList | undefined): CertificateRevocationCheck {
  return (serial) => {
    const entry = ledger.entry(serial);
    if (!entry) return undefined;
    const reason = revocations()?.revokedReason({
      workloadId: entry.holder,
      tokenId: undefined,
      issuedAt: Math.floor(entry.issuedAt / 1000),
    });
    return reason && `certificate ${serial} was issued to ${entry.holder}, and ${reason}`;
  };
}

/** Why a list of revocations ends this stream (its token, or its certificate, revoked), or undefined. */
function streamRevoked(c: ConnectionInfo, list: RevocationList, certificateRevoked: CertificateRevocationCheck): string | undefined {
  if (!c.credential) return undefined;
  if (c.credential.kind === 'certificate') return c.credential.id === undefined ? undefined : certificateRevoked(c.credential.id);
  const issuedAt = c.credential.issuedAt === undefined ? undefined : c.credential.issuedAt / 1000;
  const reason = list.revokedReason({ workloadId: c.proxyId, tokenId: c.credential.id, issuedAt });
  return reason && `token revoked: ${reason}`;
}

/** Closes, at once, every stream whose credential the new list revokes. */
export function closeRevokedStreams(
  ads: AdsServer | undefined,
  list: RevocationList,
  certificateRevoked: CertificateRevocationCheck,
): void {
  for (const c of ads?.listConnections() ?? []) {
    const reason = streamRevoked(c, list, certificateRevoked);
    if (reason) ads!.closeStreams((x) => x.streamId === c.streamId, grpc.status.UNAUTHENTICATED, reason, 'token_revoked');
  }
}
