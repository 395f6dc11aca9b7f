// The SDS server the agent's Envoy reads its workload key, certificate and
// trust bundle from: gRPC on a Unix socket that only this user may open (the
// key goes over it). Envoy's bootstrap points its `default` and `ROOTCA`
// secrets at a pipe cluster to this socket; every change of the agent's
// secrets is pushed on the open streams, so Envoy rotates without a restart.
import * as grpc from '@grpc/grpc-js';
import type { LocalSecrets } from './agent-types.js';
import { bindUnixSocket, closeUnixServer } from './unix-socket.js';
import { DeltaSdsStream, type SdsLogger, type SdsStream, SotwSdsStream } from './sds-streams.js';

const SERVICE = 'envoy.service.secret.v3.SecretDiscoveryService';
const SHUTDOWN_GRACE_MS = 2000;
/** Requests only name a few secrets; anything far larger is not from Envoy. */
const MAX_REQUEST_BYTES = 1024 * 1024;

const passthrough = {
  requestSerialize: (b: Uint8Array) => Buffer.from(b),
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  responseDeserialize: (b: Buffer) => b,
};

export const SDS_SERVICE_DEFINITION: grpc.ServiceDefinition = {
  StreamSecrets: { path: `/${SERVICE}/StreamSecrets`, requestStream: true, responseStream: true, ...passthrough },
  DeltaSecrets: { path: `/${SERVICE}/DeltaSecrets`, requestStream: true, responseStream: true, ...passthrough },
};

export interface SdsServerOptions {
  socketPath: string;
  secrets: LocalSecrets;
  logger: SdsLogger;
}

export interface SdsServer {
  close(): Promise<void>;
}

type Call = grpc.ServerDuplexStream<Buffer, Uint8Array>;
type StreamClass = new (id: number, secrets: LocalSecrets, logger: SdsLogger, write: (bytes: Uint8Array) => void) => SdsStream;

export async function startSdsServer(opts: SdsServerOptions): Promise<SdsServer> {
  const { socketPath, secrets, logger } = opts;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_REQUEST_BYTES });
  const open = new Map<SdsStream, Call>();
  let streamIds = 0;

  const push = (stream: SdsStream, call: Call) => {
    try {
      stream.push();
    } catch (err) {
      logger.warn({ stream: stream.id, error: (err as Error).message }, 'SDS push failed; closing the stream');
      call.emit('error', { code: grpc.status.INTERNAL, details: 'the agent could not encode its secrets' });
    }
  };
  const handler = (Stream: StreamClass, protocol: string) => (call: Call) => {
    const stream = new Stream(++streamIds, secrets, logger, (bytes) => call.write(bytes));
    open.set(stream, call);
    logger.info({ stream: stream.id, protocol }, 'Envoy opened an SDS stream');
    call.on('data', (bytes: Buffer) => {
      try {
        stream.onRequest(bytes);
      } catch (err) {
        logger.warn({ stream: stream.id, error: (err as Error).message }, 'malformed SDS request; closing the stream');
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'malformed DiscoveryRequest' });
      }
    });
    const done = () => {
      if (open.delete(stream)) logger.info({ stream: stream.id }, 'Envoy closed an SDS stream');
    };
    call.on('end', () => {
      done();
      call.end();
    });
    call.on('error', done);
    call.on('close', done);
    call.on('cancelled', done);
  };
  server.addService(SDS_SERVICE_DEFINITION, {
    StreamSecrets: handler(SotwSdsStream, 'sotw'),
    DeltaSecrets: handler(DeltaSdsStream, 'delta'),
  });
  const unsubscribe = secrets.onChange(() => {
    for (const [stream, call] of open) push(stream, call);
  });

  try {
    await bindUnixSocket(server, socketPath);
  } catch (err) {
    unsubscribe();
    server.forceShutdown();
    throw new Error(`SDS server cannot listen on ${socketPath}: ${(err as Error).message}`);
  }
  logger.info({ socket: socketPath }, 'SDS server listening on its Unix socket');

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        unsubscribe();
        for (const call of open.values()) call.end();
        open.clear();
        await closeUnixServer(server, socketPath, SHUTDOWN_GRACE_MS);
      })();
      return closing;
    },
  };
}
