// The ADS port itself. meshlite owns the listening socket (and, with TLS, the
// handshake) and hands each accepted connection to grpc-js through its
// connection injector. grpc-js gives no access to the TLS server it would
// create, so this is where failed handshakes become visible (and can be logged
// with a hint), where a busy port is a plain error code, and where a
// connection that never finishes its handshake gets a deadline.
//
// With `clientCaPem` the handshake asks for (never requires) a client
// certificate and verifies it against those roots. ADS ignores the outcome;
// services on the same port (certificate renewal) read it through grpc-js's
// auth context, and why a certificate was not accepted through
// clientCertificate(peer).
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import tls from 'node:tls';
import type * as grpc from '@grpc/grpc-js';
import { ListenError, splitHostPort } from './listen-address.js';
import { classifyTlsFailure, PerKeyRateLimit, type TlsFailure } from './tls-failures.js';

export { ListenError, splitHostPort };

export interface AdsTls {
  certChainPem: string;
  privateKeyPem: string;
  /** Roots that client certificates are verified against; none are asked for when undefined. */
  clientCaPem?: string;
}

/** What a TLS client presented, keyed by grpc-js's peer string (`<address>:<port>`). */
export interface ClientCertificateStatus {
  presented: boolean;
  /** Why OpenSSL did not accept it (e.g. `CERT_HAS_EXPIRED: certificate has expired`); undefined when it did. */
  rejection?: string;
}

export interface ListenerLogger {
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface ListenerOptions {
  /** TLS material; plaintext when undefined (insecure mode). */
  tls?: AdsTls;
  handshakeTimeoutMs: number;
  logger: ListenerLogger;
  onTlsFailure?(failure: TlsFailure): void;
}

export interface AdsListener {
  port: number;
  /** Stop accepting connections (open ones stay). */
  close(): void;
  /** Drop every connection still open, handshaking or not. */
  destroyConnections(): void;
  /** The client certificate of an open TLS connection; undefined for unknown peers and plaintext. */
  clientCertificate(peer: string): ClientCertificateStatus | undefined;
  /** New TLS material (certificate, key, client CAs) for connections accepted from now on; open ones keep theirs. */
  setTls(tls: AdsTls): void;
}

/** Listens on every address `host` resolves to (one port for all), injecting connections into grpc-js. */
export async function listenAds(address: string, injector: grpc.ConnectionInjector, options: ListenerOptions): Promise<AdsListener> {
  const { host, port } = splitHostPort(address);
  let ips: string[];
  try {
    ips = host === '' ? ['0.0.0.0'] : [...new Set((await lookup(host, { all: true })).map((a) => a.address))];
  } catch (err) {
    throw new ListenError(address, (err as NodeJS.ErrnoException).code ?? 'ENOTFOUND', `cannot resolve ${host}: ${(err as Error).message}`);
  }
  const servers: net.Server[] = [];
  const tlsServers: tls.Server[] = [];
  const sockets = new Set<net.Socket>();
  const secured = new Map<string, tls.TLSSocket>();
  const close = () => {
    for (const s of servers) s.close();
  };
  const destroyConnections = () => {
    for (const socket of sockets) socket.destroy();
  };
  let bound = port;
  try {
    for (const ip of ips) {
      const server = options.tls ? tlsServer(injector, options, secured) : net.createServer((socket) => injector.injectConnection(socket));
      if (server instanceof tls.Server) tlsServers.push(server);
      server.on('connection', (raw: net.Socket) => {
        sockets.add(raw);
        raw.once('close', () => sockets.delete(raw));
      });
      servers.push(server);
      bound = await listenOn(server, ip, bound, address);
    }
  } catch (err) {
    close();
    throw err;
  }
  const clientCertificate = (peer: string): ClientCertificateStatus | undefined => {
    const socket = secured.get(peer);
    if (!socket) return undefined;
    // A verified certificate was presented; asking Node for it would parse it again (a quarter of a millisecond).
    if (socket.authorized) return { presented: true };
    const presented = socket.getPeerX509Certificate() !== undefined;
    return presented ? { presented, rejection: rejectionOf(socket.authorizationError) } : { presented };
  };
  const setTls = (material: AdsTls) => {
    if (!options.tls) throw new Error('the ADS listener is plaintext: it has no TLS material to replace');
    for (const server of tlsServers) server.setSecureContext(secureContextOptions(material));
  };
  return { port: bound, close, destroyConnections, clientCertificate, setTls };
}

function rejectionOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${code}: ${error.message}` : error.message;
  }
  return String(error ?? 'not verified');
}

function listenOn(server: net.Server, ip: string, port: number, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new ListenError(address, err.code ?? 'EUNKNOWN', err.message)));
    server.listen({ host: ip, port }, () => resolve((server.address() as net.AddressInfo).port));
  });
}

function secureContextOptions(material: AdsTls): tls.SecureContextOptions {
  return { cert: material.certChainPem, key: material.privateKeyPem, ...(material.clientCaPem ? { ca: material.clientCaPem } : {}) };
}

function tlsServer(injector: grpc.ConnectionInjector, options: ListenerOptions, secured: Map<string, tls.TLSSocket>): tls.Server {
  const { clientCaPem } = options.tls!;
  const server = tls.createServer({
    ...secureContextOptions(options.tls!),
    // grpc-js's own TLS servers offer the same; HTTP/2 is the only protocol here.
    ALPNProtocols: ['h2'],
    handshakeTimeout: options.handshakeTimeoutMs,
    ...(clientCaPem ? { requestCert: true, rejectUnauthorized: false } : {}),
  });
  const limit = new PerKeyRateLimit();
  const peers = new WeakMap<net.Socket, { ip?: string; port?: number }>();
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    if (clientCaPem) {
      const peer = `${socket.remoteAddress}:${socket.remotePort}`;
      secured.set(peer, socket);
      socket.once('close', () => secured.get(peer) === socket && secured.delete(peer));
    }
    // Once secured, grpc-js owns the connection (and its errors).
    injector.injectConnection(socket);
  });
  server.on('connection', (raw: net.Socket) => {
    // Read now: once a failed handshake destroyed the socket its address is gone.
    peers.set(raw, { ip: raw.remoteAddress, port: raw.remotePort });
  });
  server.on('tlsClientError', (err: Error & { code?: string; reason?: string }, socket: tls.TLSSocket) => {
    const failure = classifyTlsFailure(err);
    options.onTlsFailure?.(failure);
    const { ip, port } = peerOf(socket, peers);
    const peer = ip === undefined ? 'an unknown peer' : `${ip}:${port}`;
    if (failure.kind === 'closed_early') {
      options.logger.debug({ peer, reason: failure.reason }, 'TLS connection closed before its handshake finished');
      return;
    }
    const suppressed = limit.admit(ip ?? 'unknown');
    if (suppressed === undefined) return;
    const msg = `TLS handshake with ${peer} failed: ${failure.reason}${failure.hint ? `; ${failure.hint}` : ''}`;
    options.logger.warn(
      { peer, reason: failure.reason, code: err.code, ...(suppressed > 0 ? { suppressedSinceLast: suppressed } : {}) },
      msg,
    );
  });
  return server;
}

/**
 * The peer of a TLS socket whose handshake failed. Its own address is often
 * gone by then (the socket is being destroyed); the raw TCP socket it wraps
 * was recorded at accept time. Node keeps that raw socket in the private
 * `_parent` field: if a Node version drops it, the log only says "unknown peer".
 */
function peerOf(socket: tls.TLSSocket, recorded: WeakMap<net.Socket, { ip?: string; port?: number }>): { ip?: string; port?: number } {
  if (socket.remoteAddress !== undefined) return { ip: socket.remoteAddress, port: socket.remotePort };
  const parent = (socket as unknown as { _parent?: unknown })._parent;
  return parent instanceof net.Socket ? (recorded.get(parent) ?? {}) : {};
}
