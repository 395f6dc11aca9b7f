// Who is asking for a certificate. Two credentials count: a proxy token (as
// on ADS: signature, expiry, revocation) naming a workload meshlite serves,
// and, for renewal, a certificate this CA issued, presented as the TLS client
// certificate: verified against the CA's roots during the handshake, still
// valid now, and naming an identity that a served workload still has. One
// valid credential is enough (an agent whose token expired renews with its
// certificate); two valid ones must name the same identity. A WorkloadGroup
// token names no workload: it counts for the workload an agent registered
// from that group, named in the `meshlite-workload` metadata, and for that
// workload's identity only.
import type { TokenAuthority } from '../identity/proxy-token.js';
import type { RevocationList } from '../identity/token-revocations.js';
import { type LeafFields, readLeafFields } from '../ca/leaf-fields.js';

export interface IdentityName {
  namespace: string;
  serviceAccount: string;
}

/** The workloads meshlite serves under the config in force. */
export interface ServedWorkloads {
  /** The identity of a served workload (`<name>.<namespace>`), or why there is none. */
  workload(workloadId: string): { ok: true; identity: IdentityName } | { ok: false; reason: string };
  /** Whether some served workload has this identity. */
  servesIdentity(identity: IdentityName): boolean;
}

export interface Caller extends IdentityName {
  spiffeId: string;
  via: 'token' | 'certificate';
  workloadId?: string;
  tokenId?: string;
  certificateSerial?: string;
}

export interface PresentedCredentials {
  /** The first `authorization` metadata value. */
  authorization?: string;
  /** The first `meshlite-workload` metadata value: the workload the caller says it is. */
  workload?: string;
  /** The client certificate (DER) when OpenSSL verified it against the CA's roots during the handshake. */
  verifiedCertificate?: Buffer;
  /** Why a client certificate that was presented was not verified. */
  certificateRejection?: string;
}

export interface CallerContext {
  trustDomain: string;
  /** Why a client certificate (by serial) was revoked with its proxy, or undefined. */
  certificateRevoked?(serial: string): string | undefined;
  tokens: TokenAuthority;
  revocations(): RevocationList | undefined;
  workloads: ServedWorkloads;
  /** The WorkloadGroup a live auto-registered workload came from, if it is one. */
  registeredFrom?(workloadId: string): string | undefined;
  now: Date;
}

export type CallerResult = { ok: true; caller: Caller } | { ok: false; denied: boolean; message: string };

type Refused = { kind: 'refused'; denied: boolean; reason: string };
type Outcome = { kind: 'absent' } | { kind: 'ok'; caller: Caller } | Refused;
/** What a client certificate proves: nothing (`absent`), a caller until `notAfter`, or a refusal. */
export type CertificateOutcome = { kind: 'absent' } | { kind: 'ok'; caller: Caller; notAfter: Date } | Refused;

const SPIFFE_ID = /^spiffe:\/\/([a-z0-9._-]+)\/ns\/([A-Za-z0-9._-]+)\/sa\/([A-Za-z0-9._-]+)$/;
const NO_CREDENTIAL =
  'no credential: send "authorization: Bearer <token>" (see `meshlite token`), or present a certificate issued by meshlite as the TLS client certificate';

export async function authenticateCaller(presented: PresentedCredentials, context: CallerContext): Promise<CallerResult> {
  const outcomes = [certificateCaller(presented, context), await tokenOutcome(presented.authorization, presented.workload, context)];
  const valid = outcomes.flatMap((o) => (o.kind === 'ok' ? [o.caller] : []));
  if (valid.length === 2 && valid[0]!.spiffeId !== valid[1]!.spiffeId)
    return {
      ok: false,
      denied: true,
      message: `the client certificate is for ${valid[0]!.spiffeId} but the token for ${valid[1]!.spiffeId}`,
    };
  if (valid.length > 0) return { ok: true, caller: valid[0]! };
  const refused = outcomes.flatMap((o) => (o.kind === 'refused' ? [o] : []));
  if (refused.length === 0) return { ok: false, denied: false, message: NO_CREDENTIAL };
  return { ok: false, denied: refused.some((o) => o.denied), message: refused.map((o) => o.reason).join('; ') };
}

const unauthenticated = (reason: string): Refused => ({ kind: 'refused', denied: false, reason });
const denied = (reason: string): Refused => ({ kind: 'refused', denied: true, reason });
const spiffeUri = (trustDomain: string, id: IdentityName) => `spiffe://${trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;

async function tokenOutcome(header: string | undefined, claimed: string | undefined, context: CallerContext): Promise<Outcome> {
  if (header === undefined) return { kind: 'absent' };
  const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
  if (!token) return unauthenticated('the "authorization" metadata is not "Bearer <token>"');
  const check = await context.tokens.verify(token);
  if (!check.ok) return unauthenticated(`invalid token: ${check.reason}`);
  const revoked = context.revocations()?.revokedReason(check);
  if (revoked) return unauthenticated(`token revoked: ${revoked}`);
  const workloadId = check.group === undefined ? check.workloadId : claimed;
  if (workloadId === undefined)
    return denied(`a token for WorkloadGroup ${check.group} needs the registered workload's id in the "meshlite-workload" metadata`);
  if (check.group !== undefined && context.registeredFrom?.(workloadId) !== check.group)
    return denied(`workload ${workloadId} is not registered from WorkloadGroup ${check.group} (register it first: meshlite agent --group)`);
  if (claimed !== undefined && claimed !== workloadId)
    return denied(`the token is for ${check.workloadId} but the caller says it is ${claimed}`);
  const workload = context.workloads.workload(workloadId);
  if (!workload.ok) return denied(`token for ${workloadId}: ${workload.reason}`);
  const { namespace, serviceAccount } = workload.identity;
  return {
    kind: 'ok',
    caller: {
      namespace,
      serviceAccount,
      spiffeId: spiffeUri(context.trustDomain, workload.identity),
      via: 'token',
      workloadId,
      tokenId: check.tokenId,
    },
  };
}

/** What checking a client certificate needs: no token authority. */
export type CertificateContext = Pick<CallerContext, 'trustDomain' | 'workloads' | 'now' | 'certificateRevoked'>;

/**
 * The caller a presented client certificate proves, alone: `absent` when none
 * was presented. ADS streams of node agents authenticate this way.
 */
export function certificateCaller(
  presented: Pick<PresentedCredentials, 'verifiedCertificate' | 'certificateRejection'>,
  context: CertificateContext,
): CertificateOutcome {
  if (!presented.verifiedCertificate) {
    return presented.certificateRejection === undefined
      ? { kind: 'absent' }
      : unauthenticated(
          `client certificate not accepted (${presented.certificateRejection}): it must be a current certificate issued by meshlite's CA`,
        );
  }
  const read = readLeafFields(presented.verifiedCertificate);
  if (!read.ok) return unauthenticated('client certificate cannot be parsed');
  const cert: LeafFields = read.value;
  const serial = cert.serialHex;
  if (context.now > cert.notAfter) return unauthenticated(`client certificate ${serial} expired at ${cert.notAfter.toISOString()}`);
  if (context.now < cert.notBefore)
    return unauthenticated(`client certificate ${serial} is not valid before ${cert.notBefore.toISOString()}`);
  if (cert.isCa) return unauthenticated(`client certificate ${serial} is a CA certificate`);
  const revoked = context.certificateRevoked?.(serial);
  if (revoked) return unauthenticated(`client certificate revoked: ${revoked}`);
  const { uris } = cert;
  if (uris.length !== 1)
    return unauthenticated(`client certificate ${serial} has ${uris.length} URI SANs; a workload certificate has exactly one SPIFFE id`);
  const spiffeId = uris[0]!;
  const match = SPIFFE_ID.exec(spiffeId);
  if (!match) return unauthenticated(`client certificate ${serial}: ${JSON.stringify(spiffeId)} is not a workload SPIFFE id`);
  const [, trustDomain, namespace, serviceAccount] = match as unknown as [string, string, string, string];
  if (trustDomain !== context.trustDomain)
    return denied(`client certificate is for trust domain ${trustDomain}, not ${context.trustDomain}`);
  if (!context.workloads.servesIdentity({ namespace, serviceAccount }))
    return denied(`client certificate is for ${spiffeId}, which no workload meshlite serves has (any more)`);
  return {
    kind: 'ok',
    caller: { namespace, serviceAccount, spiffeId, via: 'certificate', certificateSerial: serial },
    notAfter: cert.notAfter,
  };
}
