// The agent's side of CreateCertificate: one unary call to meshlite over TLS,
// verified against the trust bundle in force when the call is made. A call
// authenticates with a proxy token (metadata) or with the current workload
// certificate (the TLS client certificate). Connections are never shared
// between credentials: each credential gets a channel with its own subchannel
// pool, and a channel whose credential or bundle is replaced is closed.
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { CA_SERVICE_DEFINITION } from '../ca-service/ca-proto.js';
import type { HeldCertificate } from './agent-types.js';
import { ReplicaRotation } from './replica-rotation.js';

export const CA_CALL_DEADLINE_MS = 10_000;
/** The DNS name in meshlite's serving certificate, whatever address it is reached at. */
export const MESHLITE_SERVER_NAME = 'meshlite';

export type CaCredential = { token: string } | { certificate: HeldCertificate };

export interface CreateCertificateRequest {
  csrPem: string;
  /** Requested lifetime; meshlite grants at most its --cert-ttl (0 or none: that). */
  validitySeconds?: number;
  credential: CaCredential;
}

export type CreateCertificateResult = { ok: true; chain: string[] } | { ok: false; code: grpc.status; message: string };

export interface CaClientOptions {
  /** host:port of meshlite's ADS port, or the replicas to try in turn (an unreachable one moves the call to the next). */
  address: string | ReplicaRotation;
  /** PEM roots meshlite's serving certificate is verified against; read at every call. */
  trustBundlePem(): string;
  /** The workload asked for, sent with a token: a WorkloadGroup token names none itself. */
  workloadId?: string;
}

interface Channel {
  /** Hash over the bundle, the credential's certificate and the replica: a different one needs another channel. */
  fingerprint: string;
  client: grpc.Client;
}

type ChannelKind = 'token' | 'certificate';
const { path, requestSerialize, responseDeserialize } = CA_SERVICE_DEFINITION.CreateCertificate;
/** Failures after which the connection is dropped, so the next call dials afresh instead of waiting out grpc-js's own backoff. */
const REDIAL_AFTER = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

export class CaClient {
  readonly #opts: CaClientOptions;
  readonly #replicas: ReplicaRotation;
  readonly #channels: Partial<Record<ChannelKind, Channel>> = {};
  #closed = false;

  constructor(opts: CaClientOptions) {
    this.#opts = opts;
    this.#replicas = typeof opts.address === 'string' ? new ReplicaRotation([opts.address]) : opts.address;
  }

  /** Tries the replicas in turn while they are unreachable; the caller backs off once every one failed. */
  async createCertificate(req: CreateCertificateRequest): Promise<CreateCertificateResult> {
    for (;;) {
      const result = await this.#createCertificateOnce(req);
      if (result.ok) this.#replicas.succeeded();
      if (result.ok || !REDIAL_AFTER.has(result.code) || !this.#replicas.failed()) return result;
    }
  }

  async #createCertificateOnce(req: CreateCertificateRequest): Promise<CreateCertificateResult> {
    if (this.#closed) return { ok: false, code: grpc.status.CANCELLED, message: 'the CA client is closed' };
    const kind: ChannelKind = 'token' in req.credential ? 'token' : 'certificate';
    const channel = this.#channel(kind, req.credential);
    if (!channel.ok) return channel;
    const metadata = new grpc.Metadata();
    if ('token' in req.credential) {
      metadata.set('authorization', `Bearer ${req.credential.token}`);
      if (this.#opts.workloadId) metadata.set('meshlite-workload', this.#opts.workloadId);
    }
    const request = {
      ok: true as const,
      request: { csr: req.csrPem, validitySeconds: BigInt(Math.max(0, Math.round(req.validitySeconds ?? 0))) },
    };
    const result = await new Promise<CreateCertificateResult>((resolve) => {
      channel.client.makeUnaryRequest(
        path,
        requestSerialize,
        responseDeserialize,
        request,
        metadata,
        { deadline: Date.now() + CA_CALL_DEADLINE_MS },
        (err, response) => {
          if (err) resolve({ ok: false, code: err.code, message: err.details || err.message });
          else if (!response) resolve({ ok: false, code: grpc.status.INTERNAL, message: 'empty response' });
          else resolve({ ok: true, chain: response.certChain });
        },
      );
    });
    if (!result.ok && REDIAL_AFTER.has(result.code)) this.#drop(kind, channel.client);
    return result;
  }

  close(): void {
    this.#closed = true;
    for (const kind of ['token', 'certificate'] as const) this.#drop(kind);
  }

  #channel(
    kind: ChannelKind,
    credential: CaCredential,
  ): { ok: true; client: grpc.Client } | { ok: false; code: grpc.status; message: string } {
    const bundle = this.#opts.trustBundlePem();
    if (!bundle.trim()) return { ok: false, code: grpc.status.FAILED_PRECONDITION, message: 'no trust bundle to verify meshlite with' };
    const held = 'certificate' in credential ? credential.certificate : undefined;
    const fingerprint = createHash('sha256')
      .update(bundle)
      .update('\0')
      .update(held?.certChainPem ?? '')
      .update('\0')
      .update(this.#replicas.current)
      .digest('hex');
    const current = this.#channels[kind];
    if (current?.fingerprint === fingerprint) return { ok: true, client: current.client };
    let credentials: grpc.ChannelCredentials;
    try {
      credentials = held
        ? grpc.credentials.createSsl(Buffer.from(bundle), Buffer.from(held.privateKeyPem), Buffer.from(held.certChainPem))
        : grpc.credentials.createSsl(Buffer.from(bundle));
    } catch (err) {
      // OpenSSL's reason names the failing step, never the PEM it was given.
      const what = held ? 'the trust bundle or the workload certificate' : 'the trust bundle';
      return { ok: false, code: grpc.status.FAILED_PRECONDITION, message: `${what} cannot be used for TLS: ${(err as Error).message}` };
    }
    this.#drop(kind);
    const client = new grpc.Client(this.#replicas.current, credentials, {
      'grpc.ssl_target_name_override': MESHLITE_SERVER_NAME,
      'grpc.use_local_subchannel_pool': 1,
    });
    this.#channels[kind] = { fingerprint, client };
    return { ok: true, client };
  }

  /** Closes the channel of `kind` (only if it is still `client`, when given). */
  #drop(kind: ChannelKind, client?: grpc.Client): void {
    const current = this.#channels[kind];
    if (!current || (client && current.client !== client)) return;
    delete this.#channels[kind];
    current.client.close();
  }
}
