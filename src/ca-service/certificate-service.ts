// istio.v1.auth.IstioCertificateService/CreateCertificate: signs the public
// key of a workload's CSR for the identity the caller authenticated as.
//
// It lives in a folder of its own, beside the ADS server rather than in it:
// it shares the ADS port (AdsServer.addService) but needs the CA, the token
// authority and the served workloads, which src/server may not see. The
// composition root mounts it and hands it the workloads of the config in
// force. Every refusal is one warning line and a metric; no log line carries
// a CSR, a certificate or a key.
import * as grpc from '@grpc/grpc-js';
import type { CertificateAuthority, IssueFailureCode } from '../ca/certificate-authority.js';
import type { TokenAuthority } from '../identity/proxy-token.js';
import type { RevocationList } from '../identity/token-revocations.js';
import type { Logger } from '../util/logger.js';
import type { CertificateResponse, CreateCertificateCall } from './ca-proto.js';
import type { CaServiceMetrics, RefusalReason } from './ca-service-metrics.js';
import { authenticateCaller, type Caller, type ServedWorkloads } from './caller-auth.js';
import { DEFAULT_RATE_LIMIT, KeyedRateLimiter, type RateLimit } from './rate-limit.js';

export interface CertificateServiceOptions {
  ca: CertificateAuthority;
  /** The proxy token authority; undefined in insecure mode, where no call can be authenticated. */
  tokens?: TokenAuthority;
  revocations(): RevocationList | undefined;
  /** The workloads of the config in force; undefined until a valid config is loaded. */
  workloads(): ServedWorkloads | undefined;
  /** The WorkloadGroup a live auto-registered workload came from (its group's token may ask for its certificate). */
  registeredFrom?(workloadId: string): string | undefined;
  /** Why the TLS client certificate of `peer` was not accepted, if it presented one. */
  certificateRejection(peer: string): string | undefined;
  /** Why a client certificate (by serial) was revoked with its proxy, or undefined. */
  certificateRevoked?(serial: string): string | undefined;
  /** Longest lifetime granted (`--cert-ttl`); also what a request without one gets. */
  maxTtlSeconds: number;
  rateLimit?: RateLimit;
  logger: Logger;
  metrics?: CaServiceMetrics;
  now?: () => Date;
}

type Outcome =
  | { ok: true; caller: Caller; chain: string[]; serialNumber: string; notAfter: Date; ttlSeconds: number }
  | { ok: false; code: grpc.status; reason: RefusalReason; message: string; caller?: Caller };

const refuse = (code: grpc.status, reason: RefusalReason, message: string, caller?: Caller): Outcome => ({
  ok: false,
  code,
  reason,
  message,
  caller,
});

const ISSUE_FAILURES: Record<IssueFailureCode, [grpc.status, RefusalReason]> = {
  'invalid-csr': [grpc.status.INVALID_ARGUMENT, 'invalid_csr'],
  'invalid-request': [grpc.status.INVALID_ARGUMENT, 'invalid_request'],
  'invalid-identity': [grpc.status.FAILED_PRECONDITION, 'invalid_request'],
  'signer-not-valid': [grpc.status.UNAVAILABLE, 'ca_unavailable'],
  internal: [grpc.status.INTERNAL, 'internal'],
};

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g;

export class CertificateService {
  readonly implementation: grpc.UntypedServiceImplementation;
  private readonly limiter: KeyedRateLimiter;
  private readonly now: () => Date;

  constructor(private readonly opts: CertificateServiceOptions) {
    this.limiter = new KeyedRateLimiter(opts.rateLimit ?? DEFAULT_RATE_LIMIT);
    this.now = opts.now ?? (() => new Date());
    this.implementation = {
      CreateCertificate: (call: CreateCertificateCall, callback: grpc.sendUnaryData<CertificateResponse>) =>
        void this.handle(call, callback),
    };
  }

  private async handle(call: CreateCertificateCall, callback: grpc.sendUnaryData<CertificateResponse>): Promise<void> {
    const started = performance.now();
    const peer = call.getPeer();
    const { logger, metrics } = this.opts;
    let outcome: Outcome;
    let error: string | undefined;
    try {
      outcome = await this.create(call, peer);
    } catch (err) {
      // Only the error's own words: the code that handles CSRs and keys phrases its errors without them.
      error = `${(err as Error).name}: ${(err as Error).message}`;
      outcome = refuse(grpc.status.INTERNAL, 'internal', 'internal error (see the meshlite log)');
    }
    if (!outcome.ok) {
      metrics?.refused.inc({ reason: outcome.reason });
      logger.warn(
        { peer, code: grpc.status[outcome.code], reason: outcome.reason, ...callerFields(outcome.caller), ...(error ? { error } : {}) },
        `CreateCertificate refused: ${outcome.message}`,
      );
      return callback({ code: outcome.code, details: outcome.message });
    }
    metrics?.signed.inc({ auth: outcome.caller.via });
    metrics?.signSeconds.observe((performance.now() - started) / 1000);
    logger.debug(
      {
        peer,
        ...callerFields(outcome.caller),
        serialNumber: outcome.serialNumber,
        notAfter: outcome.notAfter.toISOString(),
        ttlSeconds: outcome.ttlSeconds,
      },
      'CreateCertificate signed',
    );
    callback(null, { certChain: outcome.chain });
  }

  private async create(call: CreateCertificateCall, peer: string): Promise<Outcome> {
    const { tokens, ca } = this.opts;
    if (!tokens)
      return refuse(
        grpc.status.UNIMPLEMENTED,
        'not_served',
        'meshlite serve --insecure signs no certificates: without TLS and proxy tokens no caller can be authenticated',
      );
    const workloads = this.opts.workloads();
    if (!workloads) return refuse(grpc.status.UNAVAILABLE, 'no_config', 'meshlite has no valid config yet');
    const now = this.now();
    const auth = await authenticateCaller(
      {
        authorization: firstString(call.metadata.get('authorization')),
        workload: firstString(call.metadata.get('meshlite-workload')),
        verifiedCertificate: call.getAuthContext()?.sslPeerCertificate?.raw,
        certificateRejection: this.opts.certificateRejection(peer),
      },
      {
        trustDomain: ca.trustDomain,
        tokens,
        revocations: this.opts.revocations,
        certificateRevoked: this.opts.certificateRevoked,
        workloads,
        registeredFrom: this.opts.registeredFrom,
        now,
      },
    );
    if (!auth.ok)
      return auth.denied
        ? refuse(grpc.status.PERMISSION_DENIED, 'permission_denied', auth.message)
        : refuse(grpc.status.UNAUTHENTICATED, 'unauthenticated', auth.message);
    const { caller } = auth;
    const waitMs = this.limiter.take(caller.spiffeId);
    if (waitMs > 0) {
      const { burst, perMillis } = this.limiter.limit;
      const message = `rate limit of ${burst} certificates per ${perMillis / 1000} s for ${caller.spiffeId} reached; retry in ${Math.ceil(waitMs / 1000)} s`;
      return refuse(grpc.status.RESOURCE_EXHAUSTED, 'rate_limited', message, caller);
    }
    const decoded = call.request;
    if (!decoded.ok) return refuse(grpc.status.INVALID_ARGUMENT, 'malformed_request', `malformed request: ${decoded.malformed}`, caller);
    const ttl = grantedTtl(decoded.request.validitySeconds, this.opts.maxTtlSeconds);
    if (typeof ttl === 'string') return refuse(grpc.status.INVALID_ARGUMENT, 'invalid_request', ttl, caller);
    const identity = { trustDomain: ca.trustDomain, namespace: caller.namespace, serviceAccount: caller.serviceAccount };
    const issued = await ca.signCsr(decoded.request.csr, identity, {
      ttlSeconds: ttl,
      holder: caller.workloadId,
      renewalOf: caller.certificateSerial,
    });
    if (!issued.ok) {
      const [code, reason] = ISSUE_FAILURES[issued.code];
      return refuse(code, reason, issued.error, caller);
    }
    const { certChainPem, serialNumber, notAfter } = issued.certificate;
    return { ok: true, caller, chain: certChainPem.match(PEM_CERTIFICATE) ?? [], serialNumber, notAfter, ttlSeconds: ttl };
  }
}

/** The lifetime to grant: the request's, capped; 0 (or none) asks for the cap. A string is the refusal. */
export function grantedTtl(requested: bigint, maxSeconds: number): number | string {
  if (requested < 0n) return `validity_duration must not be negative (got ${requested} s)`;
  if (requested === 0n || requested > BigInt(maxSeconds)) return maxSeconds;
  return Number(requested);
}

function firstString(values: grpc.MetadataValue[]): string | undefined {
  const first = values[0];
  return typeof first === 'string' ? first : undefined;
}

function callerFields(caller: Caller | undefined): Record<string, string> {
  if (!caller) return {};
  return {
    spiffeId: caller.spiffeId,
    auth: caller.via,
    ...(caller.workloadId ? { proxy: caller.workloadId } : {}),
    ...(caller.tokenId ? { tokenId: caller.tokenId } : {}),
    ...(caller.certificateSerial ? { clientCertificateSerial: caller.certificateSerial } : {}),
  };
}
