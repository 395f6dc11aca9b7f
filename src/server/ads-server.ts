// The ADS gRPC service: authenticates each stream, then wires it to the
// snapshot cache. It never builds resources.
import * as grpc from '@grpc/grpc-js';
import type { SnapshotCache } from '../cache/snapshot-cache.js';
import { DeltaStream } from './delta-stream.js';
import { decodeDeltaRequest, decodeSotwRequest, type NodeInfo } from './discovery-codec.js';
import { SotwStream } from './sotw-stream.js';
import { NO_OBSERVER, type StreamObserver, type TypeStatus } from './stream-status.js';

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

export type AuthResult = { ok: true; proxyId: string } | { ok: false; code: grpc.status; message: string };

export interface StreamAuthenticator {
  authenticate(metadata: grpc.Metadata, node: NodeInfo, peer: string): Promise<AuthResult>;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface ConnectionInfo {
  streamId: number;
  proxyId: string;
  protocol: 'sotw' | 'delta';
  node: NodeInfo;
  peer: string;
  connectedAt: number;
  status(): TypeStatus[];
}

export interface AdsServerOptions {
  cache: SnapshotCache;
  authenticator: StreamAuthenticator;
  logger: Logger;
  observer?: StreamObserver;
  /** Called when a proxy's first stream opens (to build its snapshot) and its last one closes. */
  onProxyConnected?(proxyId: string, node: NodeInfo): void;
  onProxyDisconnected?(proxyId: string): void;
}

type Call = grpc.ServerDuplexStream<Buffer, Uint8Array>;

export class AdsServer {
  private readonly server = new grpc.Server({ 'grpc.keepalive_time_ms': 30_000, 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  private readonly connections = new Map<number, ConnectionInfo>();
  /** Open streams by proxy, oldest first: the hot path (ACKs) must not scan or sort every connection. */
  private readonly byProxy = new Map<string, ConnectionInfo[]>();
  private readonly calls = new Set<Call>();
  private nextStreamId = 0;
  private accepting = true;

  constructor(private readonly opts: AdsServerOptions) {
    this.server.addService(ADS_SERVICE_DEFINITION, {
      StreamAggregatedResources: (call: Call) => this.handle(call, 'sotw'),
      DeltaAggregatedResources: (call: Call) => this.handle(call, 'delta'),
    });
  }

  async listen(address: string, credentials: grpc.ServerCredentials): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
    });
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

  /** Stop accepting streams, end the open ones, and close. Envoys keep their config meanwhile. */
  async shutdown(graceMs = 2000): Promise<void> {
    this.accepting = false;
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
    let pending: Buffer[] | undefined = [];
    let unwatch: (() => void) | undefined;
    let closed = false;

    const fail = (code: grpc.status, message: string) => {
      if (closed) return;
      closed = true;
      logger.warn({ peer, streamId, code: grpc.status[code], reason: message }, 'ADS stream refused');
      call.emit('error', { code, details: message });
    };

    const start = async (first: Buffer) => {
      let node: NodeInfo | undefined;
      try {
        node = protocol === 'sotw' ? decodeSotwRequest(first).node : decodeDeltaRequest(first).node;
      } catch (err) {
        return fail(grpc.status.INVALID_ARGUMENT, `malformed discovery request: ${(err as Error).message}`);
      }
      if (!node?.id) return fail(grpc.status.INVALID_ARGUMENT, 'the first discovery request must carry node.id');
      const auth = await this.opts.authenticator.authenticate(call.metadata, node, peer);
      if (!auth.ok) return fail(auth.code, auth.message);
      if (closed) return;
      const write = (bytes: Uint8Array) => {
        if (!closed) call.write(bytes);
      };
      const log = (msg: string, extra: Record<string, unknown> = {}) => logger.info({ proxy: auth.proxyId, streamId, ...extra }, msg);
      const observer = this.opts.observer ?? NO_OBSERVER;
      stream = protocol === 'sotw' ? new SotwStream(auth.proxyId, write, observer, log) : new DeltaStream(auth.proxyId, write, observer, log);
      const firstOfProxy = !this.byProxy.has(auth.proxyId);
      const s = stream;
      const info: ConnectionInfo = { streamId, proxyId: auth.proxyId, protocol, node, peer, connectedAt: Date.now(), status: () => s.status() };
      this.connections.set(streamId, info);
      this.byProxy.set(auth.proxyId, [...(this.byProxy.get(auth.proxyId) ?? []), info]);
      logger.info({ proxy: auth.proxyId, streamId, protocol, peer, userAgent: node.userAgent }, 'proxy connected');
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
        fail(grpc.status.INVALID_ARGUMENT, `malformed discovery request: ${(err as Error).message}`);
      }
    };

    call.on('data', (bytes: Buffer) => {
      if (pending) {
        pending.push(bytes);
        if (pending.length === 1) void start(bytes).catch((err) => fail(grpc.status.INTERNAL, String(err)));
        return;
      }
      deliver(bytes);
    });
    const cleanup = () => {
      closed = true;
      this.calls.delete(call);
      unwatch?.();
      const info = this.connections.get(streamId);
      this.connections.delete(streamId);
      if (info) {
        logger.info({ proxy: info.proxyId, streamId }, 'proxy disconnected');
        const rest = (this.byProxy.get(info.proxyId) ?? []).filter((c) => c !== info);
        if (rest.length > 0) this.byProxy.set(info.proxyId, rest);
        else {
          this.byProxy.delete(info.proxyId);
          this.opts.onProxyDisconnected?.(info.proxyId);
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
