// The agent's ADS relay: a state-of-the-world ADS server on a Unix socket for
// exactly one local Envoy, and one ADS stream to meshlite at all times.
//
// Without Envoy the upstream stream subscribes only ROOTCA, for the agent's
// trust bundle. When Envoy's stream starts, a fresh upstream stream does
// (meshlite keeps state per stream, and a restarted Envoy needs everything
// again); when it ends, the ROOTCA-only stream comes back. Every type but
// Secret passes through unchanged; Secret is split (secret-split.ts). When
// the upstream stream fails Envoy's stays open and keeps its config, and a
// new upstream stream, after a backoff, repeats Envoy's last requests.
//
// A second Envoy stream while one is open is refused (FAILED_PRECONDITION):
// the agent runs one Envoy, and a dead Envoy's stream ends the moment its
// process goes (the kernel closes a Unix socket at once), so a restarted
// Envoy is never locked out; replacing the older stream instead would let two
// live Envoys evict each other forever, each time with a fresh upstream stream.
import * as grpc from '@grpc/grpc-js';
import { ADS_SERVICE_DEFINITION } from '../server/ads-server.js';
import type { SotwRequest } from '../server/discovery-codec.js';
import type { Logger } from '../util/logger.js';
import type { LocalSecrets } from './agent-types.js';
import { type EnvoyCall, EnvoySession } from './envoy-session.js';
import {
  type ConfiguredNode,
  decodeResponse,
  encodeResubscription,
  encodeSecretRequest,
  nodeWithAgentMarker,
  type RelayResponse,
  SECRET_TYPE_URL,
} from './relay-codec.js';
import type { RelayedTypes } from './relayed-types.js';
import { type BackoffSettings, DEFAULT_BACKOFF, RetryState } from './retry-backoff.js';
import { bindUnixSocket, closeUnixServer } from './unix-socket.js';
import { relayEnvoySecrets, relayUpstreamSecrets, type SecretRelayContext } from './secret-relay.js';
import { SecretSplit, type UpstreamSecretRequest } from './secret-split.js';
import { type UpstreamConnector, UpstreamAds, type UpstreamEnd } from './upstream-ads.js';

export type { UpstreamConnector } from './upstream-ads.js';

export interface AdsRelayOptions {
  /** Envoy connects to `unix://<socketPath>`; the socket is made mode 0600. */
  socketPath: string;
  upstream: UpstreamConnector;
  secrets: LocalSecrets;
  /** Every valid ROOTCA meshlite sends (its validation_context's trusted_ca), PEM. */
  onTrustBundle(pem: string): void;
  /** The node meshlite sees while no Envoy is connected. */
  node: ConfiguredNode;
  logger: Logger;
  retry?: BackoffSettings;
  /** Several replicas: a failed stream moves to the next at once; the backoff applies once every one failed. */
  failover?: { failed(): boolean; succeeded(): void };
}

export interface AdsRelayStatus {
  /** The current upstream stream got a response from meshlite (it is authenticated and serving). */
  upstreamConnected: boolean;
  envoyConnected: boolean;
  lastUpstreamError?: string;
  /** meshlite's Secret version that carried the last trust bundle accepted. */
  trustBundleVersion?: string;
}

export interface AdsRelay {
  close(): Promise<void>;
  /** Ends the current upstream stream and opens a new one now (e.g. after the workload certificate rotated). */
  reconnectUpstream(reason: string): void;
  status(): AdsRelayStatus;
}

export async function startAdsRelay(opts: AdsRelayOptions): Promise<AdsRelay> {
  const relay = new Relay(opts);
  await relay.listen();
  return relay;
}

/** The upstream stream and whose state it serves (the Envoy session's, or the relay's own without Envoy). */
interface Link extends SecretRelayContext {
  stream: UpstreamAds;
  types?: RelayedTypes;
}

class Relay implements AdsRelay {
  private readonly server = new grpc.Server();
  private readonly retry: RetryState;
  private envoy: EnvoySession | undefined;
  /** The Secret state of the ROOTCA-only stream, while no Envoy is connected. */
  private idleSplit = new SecretSplit();
  private link: Link | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private upstreamConnected = false;
  private trustBundleVersion: string | undefined;
  private closed = false;
  private readonly unwatchSecrets: () => void;

  constructor(private readonly opts: AdsRelayOptions) {
    this.retry = new RetryState(opts.retry ?? DEFAULT_BACKOFF);
    this.server.addService(
      { StreamAggregatedResources: ADS_SERVICE_DEFINITION.StreamAggregatedResources! },
      { StreamAggregatedResources: (call: EnvoyCall) => this.onEnvoyStream(call) },
    );
    this.unwatchSecrets = opts.secrets.onChange(() => this.pushLocalSecrets());
  }

  async listen(): Promise<void> {
    try {
      await bindUnixSocket(this.server, this.opts.socketPath);
    } catch (err) {
      this.unwatchSecrets();
      this.server.forceShutdown();
      throw err;
    }
    this.connect();
  }

  status(): AdsRelayStatus {
    return {
      upstreamConnected: this.upstreamConnected,
      envoyConnected: this.envoy !== undefined,
      ...(this.retry.lastError !== undefined ? { lastUpstreamError: this.retry.lastError } : {}),
      ...(this.trustBundleVersion !== undefined ? { trustBundleVersion: this.trustBundleVersion } : {}),
    };
  }

  reconnectUpstream(reason: string): void {
    if (this.closed) return;
    this.opts.logger.info({ reason }, 'reconnecting to meshlite');
    this.retry.reset();
    this.connect();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.unwatchSecrets();
    this.dropUpstream();
    this.envoy?.fail(grpc.status.UNAVAILABLE, 'the agent is shutting down');
    this.envoy = undefined;
    await closeUnixServer(this.server, this.opts.socketPath);
  }

  // ---- upstream ----

  /** Replaces the upstream stream with a new one for whoever is connected now. */
  private connect(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.dropUpstream();
    if (this.closed) return;
    const session = this.envoy?.node ? this.envoy : undefined;
    const split = session?.split ?? this.idleSplit;
    let link: Link | undefined;
    try {
      const stream = new UpstreamAds(this.opts.upstream, {
        onAccepted: () => link === this.link && this.upstreamAccepted(link!),
        onResponse: (bytes) => link === this.link && this.onUpstreamResponse(link!, bytes),
        onEnd: (end) => link === this.link && this.onUpstreamEnd(end),
      });
      const sendUpstream = (r: UpstreamSecretRequest) => stream.send(encodeSecretRequest(r));
      link = { stream, split, session, types: session?.types, logger: this.opts.logger, sendUpstream };
    } catch (err) {
      this.upstreamFailed(`cannot open a stream to meshlite: ${(err as Error).message}`, false);
      return;
    }
    this.link = link;
    const node = session?.node ?? nodeWithAgentMarker(this.opts.node);
    link.stream.send(encodeSecretRequest(split.upstreamOpened(), node));
    for (const req of link.types?.upstreamOpened() ?? []) link.stream.send(encodeResubscription(req));
  }

  private dropUpstream(): void {
    const link = this.link;
    if (!link) return;
    this.link = undefined;
    this.upstreamConnected = false;
    link.split.upstreamClosed();
    link.types?.upstreamClosed();
    link.stream.close();
  }

  private onUpstreamEnd(end: UpstreamEnd): void {
    this.dropUpstream();
    const auth = end.code === grpc.status.UNAUTHENTICATED || end.code === grpc.status.PERMISSION_DENIED;
    this.upstreamFailed(`${grpc.status[end.code]}: ${end.details}`, auth);
  }

  private upstreamFailed(message: string, authFailure: boolean): void {
    if (this.opts.failover?.failed()) {
      this.retry.lastError = message;
      this.opts.logger.warn({ error: message }, 'the stream to meshlite ended; trying the next replica');
      this.retryTimer = setTimeout(() => this.connect(), 0);
      this.retryTimer.unref();
      return;
    }
    const { delayMs, attempt } = this.retry.failed(message);
    const { logger } = this.opts;
    const fields = { error: message, retryInMs: delayMs, attempt };
    if (authFailure)
      (logger.error ?? logger.warn).call(logger, fields, 'meshlite refused the agent; retrying (a renewed certificate may be accepted)');
    else logger.warn(fields, 'the stream to meshlite ended; reconnecting');
    this.retryTimer = setTimeout(() => this.connect(), delayMs);
    this.retryTimer.unref();
  }

  /** The stream is up: meshlite accepted it (headers) or answered on it. */
  private upstreamAccepted(link: Link): void {
    if (this.upstreamConnected) return;
    this.upstreamConnected = true;
    this.retry.reset();
    this.opts.failover?.succeeded();
    this.opts.logger.info({ envoyConnected: link.session !== undefined }, 'connected to meshlite');
  }

  private onUpstreamResponse(link: Link, bytes: Buffer): void {
    let res: RelayResponse;
    try {
      res = decodeResponse(bytes);
    } catch (err) {
      this.dropUpstream();
      this.upstreamFailed(`malformed discovery response from meshlite: ${(err as Error).message}`, false);
      return;
    }
    this.upstreamAccepted(link);
    if (res.typeUrl === SECRET_TYPE_URL) {
      const pem = relayUpstreamSecrets(link, res);
      if (pem !== undefined) this.acceptTrustBundle(pem, res.versionInfo);
    } else if (link.session && link.types) {
      link.types.onUpstreamResponse(res.typeUrl, res.nonce);
      link.session.write(bytes);
    } else this.opts.logger.debug({ typeUrl: res.typeUrl }, 'ignoring a response no Envoy asked for');
  }

  private acceptTrustBundle(pem: string, version: string): void {
    this.trustBundleVersion = version;
    try {
      this.opts.onTrustBundle(pem);
    } catch (err) {
      this.opts.logger.warn({ error: (err as Error).message }, 'the trust bundle listener failed');
    }
  }

  // ---- Envoy ----

  private onEnvoyStream(call: EnvoyCall): void {
    if (this.closed) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'the agent is shutting down' });
      return;
    }
    if (this.envoy) {
      this.opts.logger.warn({}, 'refused a second Envoy stream: one Envoy is already connected to this agent');
      call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: 'another Envoy is already connected to this agent' });
      return;
    }
    const session = new EnvoySession(call);
    this.envoy = session;
    this.opts.logger.info({}, 'Envoy opened its ADS stream to the agent');
    call.on('data', (bytes: Buffer) => this.onEnvoyRequest(session, bytes));
    call.on('end', () => {
      this.envoyGone(session);
      call.end();
    });
    call.on('error', () => this.envoyGone(session));
    call.on('cancelled', () => this.envoyGone(session));
  }

  private envoyGone(session: EnvoySession): void {
    session.markEnded();
    if (this.envoy !== session) return;
    this.envoy = undefined;
    this.opts.logger.info({}, 'Envoy closed its ADS stream to the agent');
    if (!session.node) return; // its upstream stream never started: the ROOTCA-only one still runs
    this.idleSplit = new SecretSplit();
    this.retry.reset();
    this.connect();
  }

  private onEnvoyRequest(session: EnvoySession, bytes: Buffer): void {
    if (!session.open || this.envoy !== session) return;
    let accepted: { req: SotwRequest; first: boolean };
    try {
      accepted = session.accept(bytes, this.opts.node);
    } catch (err) {
      this.opts.logger.warn({ error: (err as Error).message }, 'malformed discovery request from Envoy; ending its stream');
      session.fail(grpc.status.INVALID_ARGUMENT, `malformed discovery request: ${(err as Error).message}`);
      return this.envoyGone(session);
    }
    const { req, first } = accepted;
    if (first) {
      // A fresh upstream stream for this Envoy, with its node.
      this.retry.reset();
      this.connect();
    }
    if (req.typeUrl === SECRET_TYPE_URL) return this.onEnvoySecrets(session, req);
    const action = session.types.onEnvoyRequest(req);
    const link = this.link;
    if (!link || link.session !== session || action === 'hold') return;
    link.stream.send(action === 'forward' ? bytes : encodeResubscription(req));
  }

  private onEnvoySecrets(session: EnvoySession, req: SotwRequest): void {
    const link = this.link?.session === session ? this.link : undefined;
    const offline = { split: session.split, session, logger: this.opts.logger, sendUpstream: () => {} };
    relayEnvoySecrets(link ?? offline, req, () => this.pushLocal(session));
  }

  private pushLocalSecrets(): void {
    if (this.envoy?.node) this.pushLocal(this.envoy);
  }

  private pushLocal(session: EnvoySession): void {
    try {
      session.pushLocal(this.opts.secrets);
    } catch (err) {
      this.opts.logger.warn({ error: (err as Error).message }, "cannot answer Envoy's local secrets");
    }
  }
}
