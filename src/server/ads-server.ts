// The ADS gRPC service: authenticates each stream, then wires it to the
// snapshot cache. It never builds resources. A stream's credential is checked
// for its whole life: it is closed when the credential expires, and the
// composition closes streams whose credentials were revoked (closeStreams).
import * as grpc from '@grpc/grpc-js';
import type { SnapshotCache } from '../cache/snapshot-cache.js';
import { type AdsTls, type ClientCertificateStatus, listenAds, type AdsListener } from './ads-listener.js';
import { DeltaStream } from './delta-stream.js';
import { decodeDeltaRequest, decodeSotwRequest, discoveryMessageTypes, type NodeInfo } from './discovery-codec.js';
import { SotwStream } from './sotw-stream.js';
import { NO_OBSERVER, type StreamObserver, type TypeStatus } from './stream-status.js';
import type { TlsFailure } from './tls-failures.js';
import { budgetedWriter, WriteBudget, type WriteBudgetTiming } from './write-budget.js';
import type { Logger } from '../util/logger.js';
import {
  type CloseStream,
  credentialFields,
  type PeerCertificate,
  type StreamAuthenticator,
  type StreamCloseReason,
  type StreamCredential,
  watchCredentialExpiry,
} from './stream-credential.js';

export type { AuthResult, PeerCertificate, StreamAuthenticator, StreamCloseReason, StreamCredential } from './stream-credential.js';

const SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

const passthrough = {
  requestSerialize: (b: Uint8Array) => Buffer.from(b),
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  responseDeserialize: (b: Buffer) => b,
};

export const ADS_SERVICE_DEFINITION: grpc.ServiceDefinition = {
  StreamAggregatedResources: { path: `/${SERVICE}/StreamAggregatedResources`, requestStream: true, responseStream: true, ...passthrough },
  DeltaAggregatedResources: { path: `/${SERVICE}/DeltaAggregatedResources`, requestStream: true, responseStream: true, ...passthrough },
};

export interface ConnectionInfo {
  streamId: number;
  proxyId: string;
  protocol: 'sotw' | 'delta';
  node: NodeInfo;
  peer: string;
  connectedAt: number;
  credential?: StreamCredential;
  status(): TypeStatus[];
}

export interface AdsServerOptions {
  cache: SnapshotCache;
  authenticator: StreamAuthenticator;
  logger: Logger;
  observer?: StreamObserver;
  /** A stream whose first request has not authenticated by then is closed; also the TLS handshake deadline. Default 10 s. */
  authTimeoutMs?: number;
  /** Each connection is closed gracefully (GOAWAY) after this age, so proxies reconnect and re-authenticate. 0/undefined: never. */
  maxConnectionAgeMs?: number;
  /** How long streams may go on after that GOAWAY before the connection is dropped. Default 10 s. */
  maxConnectionAgeGraceMs?: number;
  /**
   * Response bytes all streams together may have handed to gRPC and not yet
   * flushed; further responses wait (and are encoded only then). Default 16 MiB; 0: no bound.
   */
  maxPendingWriteBytes?: number;
  /** When unflushed writes stop counting and when their stream is closed (tests). */
  writeTiming?: WriteBudgetTiming;
  /** Called when a proxy's first stream opens (to build its snapshot) and its last one closes. */
  onProxyConnected?(proxyId: string, node: NodeInfo): void;
  onProxyDisconnected?(proxyId: string): void;
  onStreamClosed?(reason: StreamCloseReason): void;
  onTlsFailure?(failure: TlsFailure): void;
}

/** Requests a stream may send before it authenticated. */
const MAX_PENDING_REQUESTS = 64;

type Call = grpc.ServerDuplexStream<Buffer, Uint8Array>;
type Close = CloseStream;

export class AdsServer {
  private readonly server: grpc.Server;
  private readonly connections = new Map<number, ConnectionInfo>();
  /** Open streams by proxy, oldest first: the hot path (ACKs) must not scan or sort every connection. */
  private readonly byProxy = new Map<string, ConnectionInfo[]>();
  private readonly closers = new Map<number, Close>();
  private readonly calls = new Set<Call>();
  private readonly listeners: AdsListener[] = [];
  private readonly authTimeoutMs: number;
  private readonly writes: WriteBudget;
  private nextStreamId = 0;
  private accepting = true;

  constructor(private readonly opts: AdsServerOptions) {
    this.authTimeoutMs = opts.authTimeoutMs ?? 10_000;
    this.writes = new WriteBudget(opts.maxPendingWriteBytes ?? 16 * 1024 * 1024, opts.writeTiming);
    const age = opts.maxConnectionAgeMs
      ? {
          'grpc.max_connection_age_ms': opts.maxConnectionAgeMs,
          'grpc.max_connection_age_grace_ms': opts.maxConnectionAgeGraceMs ?? 10_000,
        }
      : {};
    this.server = new grpc.Server({ 'grpc.keepalive_time_ms': 30_000, 'grpc.max_receive_message_length': 16 * 1024 * 1024, ...age });
    this.server.addService(ADS_SERVICE_DEFINITION, {
      StreamAggregatedResources: (call: Call) => this.handle(call, 'sotw'),
      DeltaAggregatedResources: (call: Call) => this.handle(call, 'delta'),
    });
  }

  /** Listens on `host:port` (TLS with `tls`, plaintext without); resolves to the port. Throws ListenError. */
  async listen(address: string, tls?: AdsTls): Promise<number> {
    // The Envoy protos load once, in a few hundred milliseconds: before the first proxy can connect, not while it waits.
    discoveryMessageTypes();
    const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const listener = await listenAds(address, injector, {
      tls,
      handshakeTimeoutMs: this.authTimeoutMs,
      logger: this.opts.logger,
      onTlsFailure: this.opts.onTlsFailure,
    });
    this.listeners.push(listener);
    return listener.port;
  }

  /** New TLS material for connections accepted from now on (a CA root rotation); open connections keep theirs. */
  setTls(tls: AdsTls): void {
    for (const l of this.listeners) l.setTls(tls);
  }

  /** Serves another gRPC service on the same port, TLS and connections (e.g. certificate signing). */
  addService(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    this.server.addService(definition, implementation);
  }

  /** The TLS client certificate of the connection `peer` (grpc-js's call.getPeer()) came on, if known. */
  clientCertificate(peer: string): ClientCertificateStatus | undefined {
    for (const l of this.listeners) {
      const status = l.clientCertificate(peer);
      if (status) return status;
    }
    return undefined;
  }

  listConnections(): ConnectionInfo[] {
    return [...this.connections.values()].sort((a, b) => a.proxyId.localeCompare(b.proxyId) || a.streamId - b.streamId);
  }

  connectedProxies(): Set<string> {
    return new Set(this.byProxy.keys());
  }

  /** The open streams of one proxy, oldest first. */
  connectionsOf(proxyId: string): readonly ConnectionInfo[] {
    return this.byProxy.get(proxyId) ?? [];
  }

  /** Ends every open stream `select` picks with `code`; returns how many. */
  closeStreams(select: (c: ConnectionInfo) => boolean, code: grpc.status, message: string, reason: StreamCloseReason): number {
    const picked = [...this.connections.values()].filter(select);
    for (const c of picked) this.closers.get(c.streamId)?.(code, message, reason);
    return picked.length;
  }

  /** Stop accepting streams, end the open ones, and close. Envoys keep their config meanwhile. */
  async shutdown(graceMs = 2000): Promise<void> {
    this.accepting = false;
    for (const l of this.listeners) l.close();
    for (const call of this.calls) call.end();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    for (const l of this.listeners) l.destroyConnections();
  }

  /**
   * A client that opens a new stream of a proxy on the connection of an older
   * one which never answered a response (no ACK, no NACK) has given the older
   * one up, even if its cancel never arrived here (a stream cancelled in the
   * moment it opens can stay open on this side). Older streams that answered
   * stay: one process may run several xDS clients of one node on one shared
   * connection, and closing a live one would make them evict each other.
   */
  private closeAbandoned(proxyId: string, peer: string, newStreamId: number): void {
    for (const older of this.byProxy.get(proxyId) ?? []) {
      if (older.peer !== peer || older.streamId === newStreamId) continue;
      if (older.status().some((t) => t.ackedVersion !== undefined || t.nacked !== undefined)) continue;
      this.closers.get(older.streamId)?.(
        grpc.status.CANCELLED,
        `superseded by stream ${newStreamId} of the same proxy on the same connection before it answered any response`,
        'superseded',
      );
    }
  }

  private handle(call: Call, protocol: 'sotw' | 'delta'): void {
    const { logger } = this.opts;
    const peer = call.getPeer();
    if (!this.accepting) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'meshlite is shutting down' });
      return;
    }
    this.calls.add(call);
    const streamId = ++this.nextStreamId;
    let stream: SotwStream | DeltaStream | undefined;
    let info: ConnectionInfo | undefined;
    let pending: Buffer[] | undefined = [];
    let unwatch: (() => void) | undefined;
    let cancelExpiry: (() => void) | undefined;
    let closed = false;
    const writer = budgetedWriter(
      this.writes,
      (bytes, done) => call.write(bytes, done),
      () => closed,
      () => close(grpc.status.UNAVAILABLE, 'the proxy read no response on this stream for too long', 'stalled'),
    );

    const close: Close = (code, message, reason) => {
      if (closed) return;
      closed = true;
      const fields = {
        peer,
        streamId,
        code: grpc.status[code],
        reason: message,
        ...(info ? { proxy: info.proxyId, ...credentialFields(info.credential) } : {}),
      };
      logger.warn(fields, info ? 'ADS stream closed' : 'ADS stream refused');
      this.opts.onStreamClosed?.(reason);
      call.emit('error', { code, details: message });
    };
    const authTimer = setTimeout(
      () => close(grpc.status.UNAUTHENTICATED, `no authenticated discovery request within ${this.authTimeoutMs / 1000} s`, 'auth_timeout'),
      this.authTimeoutMs,
    );
    authTimer.unref();

    const start = async (first: Buffer) => {
      let node: NodeInfo | undefined;
      try {
        node = protocol === 'sotw' ? decodeSotwRequest(first).node : decodeDeltaRequest(first).node;
      } catch (err) {
        return close(grpc.status.INVALID_ARGUMENT, `malformed discovery request: ${(err as Error).message}`, 'malformed_request');
      }
      if (!node?.id) return close(grpc.status.INVALID_ARGUMENT, 'the first discovery request must carry node.id', 'malformed_request');
      const certificate: PeerCertificate = {
        verified: call.getAuthContext()?.sslPeerCertificate?.raw,
        rejection: this.clientCertificate(peer)?.rejection,
      };
      const auth = await this.opts.authenticator.authenticate(call.metadata, node, peer, certificate);
      if (!auth.ok) return close(auth.code, auth.message, 'refused');
      if (closed) return;
      clearTimeout(authTimer);
      // Response headers say "accepted" at once: a client holding the current versions may get no response for long.
      call.sendMetadata(new grpc.Metadata());
      const write = writer.write;
      const log = (msg: string, extra: Record<string, unknown> = {}) => logger.info({ proxy: auth.proxyId, streamId, ...extra }, msg);
      const observer = this.opts.observer ?? NO_OBSERVER;
      stream =
        protocol === 'sotw' ? new SotwStream(auth.proxyId, write, observer, log) : new DeltaStream(auth.proxyId, write, observer, log);
      const firstOfProxy = !this.byProxy.has(auth.proxyId);
      const s = stream;
      const credential = auth.credential;
      info = { streamId, proxyId: auth.proxyId, protocol, node, peer, connectedAt: Date.now(), credential, status: () => s.status() };
      this.connections.set(streamId, info);
      this.closers.set(streamId, close);
      this.byProxy.set(auth.proxyId, [...(this.byProxy.get(auth.proxyId) ?? []), info]);
      // After the new stream is registered, so the proxy never counts as disconnected in between.
      this.closeAbandoned(auth.proxyId, peer, streamId);
      logger.info(
        {
          proxy: auth.proxyId,
          streamId,
          protocol,
          peer,
          userAgent: node.userAgent,
          ...credentialFields(credential),
        },
        'proxy connected',
      );
      if (credential?.expiresAt !== undefined)
        cancelExpiry = watchCredentialExpiry(logger, auth.proxyId, streamId, { ...credential, expiresAt: credential.expiresAt }, close);
      if (firstOfProxy) this.opts.onProxyConnected?.(auth.proxyId, node);
      unwatch = this.opts.cache.watch(auth.proxyId, (snap) => s.onSnapshot(snap));
      const current = this.opts.cache.get(auth.proxyId);
      if (current) s.onSnapshot(current);
      const queued = pending ?? [];
      pending = undefined;
      for (const bytes of queued) deliver(bytes);
    };

    const deliver = (bytes: Buffer) => {
      if (!stream || closed) return;
      try {
        if (stream instanceof SotwStream) stream.onRequest(decodeSotwRequest(bytes));
        else stream.onRequest(decodeDeltaRequest(bytes));
      } catch (err) {
        close(grpc.status.INVALID_ARGUMENT, `malformed discovery request: ${(err as Error).message}`, 'malformed_request');
      }
    };

    call.on('data', (bytes: Buffer) => {
      if (pending) {
        pending.push(bytes);
        if (pending.length === 1) void start(bytes).catch((err) => close(grpc.status.INTERNAL, String(err), 'refused'));
        else if (pending.length > MAX_PENDING_REQUESTS)
          close(grpc.status.RESOURCE_EXHAUSTED, `more than ${MAX_PENDING_REQUESTS} requests before the stream authenticated`, 'refused');
        return;
      }
      deliver(bytes);
    });
    let cleanedUp = false;
    // 'end', 'error' and 'cancelled' may each arrive for one call: the first one cleans up.
    const cleanup = () => {
      closed = true;
      if (cleanedUp) return;
      cleanedUp = true;
      clearTimeout(authTimer);
      cancelExpiry?.();
      writer.close();
      this.calls.delete(call);
      this.closers.delete(streamId);
      unwatch?.();
      const known = this.connections.get(streamId);
      this.connections.delete(streamId);
      if (known) {
        logger.info({ proxy: known.proxyId, streamId }, 'an ADS stream of the proxy closed');
        const rest = (this.byProxy.get(known.proxyId) ?? []).filter((c) => c !== known);
        if (rest.length > 0) this.byProxy.set(known.proxyId, rest);
        else {
          this.byProxy.delete(known.proxyId);
          this.opts.onProxyDisconnected?.(known.proxyId);
        }
      }
    };
    call.on('end', () => {
      cleanup();
      call.end();
    });
    call.on('error', cleanup);
    call.on('cancelled', cleanup);
  }
}
