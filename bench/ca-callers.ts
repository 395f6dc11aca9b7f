// The callers of bench/ca-sign.ts: gRPC clients of CreateCertificate over
// TLS, with or without a client certificate, each with a connection of its own.
import type { KeyObject } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { msSince, now } from './bench-util.js';

export const METHOD = '/istio.v1.auth.IstioCertificateService/CreateCertificate';
/** A method meshlite does not serve: grpc-js answers UNIMPLEMENTED without any meshlite code. */
export const MISSING_METHOD = '/meshlite.bench.Nothing/Nothing';
const identity = (b: Buffer) => b;

export type Call = (request: Buffer, md: grpc.Metadata) => Promise<Buffer>;

export interface ClientCertificate {
  keyPem: string;
  chainPem: string;
}

export function caller(port: number, rootPem: string, client?: ClientCertificate, method = METHOD): { call: Call; close(): void } {
  const credentials = client
    ? grpc.credentials.createSsl(Buffer.from(rootPem), Buffer.from(client.keyPem), Buffer.from(client.chainPem))
    : grpc.credentials.createSsl(Buffer.from(rootPem));
  const channel = new grpc.Client(`127.0.0.1:${port}`, credentials, {
    'grpc.ssl_target_name_override': 'meshlite',
    'grpc.use_local_subchannel_pool': 1,
  });
  const call: Call = (request, md) =>
    new Promise((resolve, reject) =>
      channel.makeUnaryRequest(method, identity, identity, request, md, (err, res) => (err ? reject(err) : resolve(res!))),
    );
  return { call, close: () => channel.close() };
}

export function loop(call: Call, requests: Buffer[], md: grpc.Metadata): () => Promise<number[]> {
  return async () => {
    const latencies: number[] = [];
    for (const request of requests) {
      const start = now();
      await call(request, md);
      latencies.push(msSince(start));
    }
    return latencies;
  };
}

export const keyPem = (key: KeyObject) => key.export({ format: 'pem', type: 'pkcs8' }).toString();

/** `callers` callers at once, each on a new connection making one call: the time until all are answered is the phase's wall time. */
export function connecting(
  port: number,
  rootPem: string,
  callers: { client?: ClientCertificate; request: Buffer; md: grpc.Metadata }[],
  method = METHOD,
): { workers: (() => Promise<number[]>)[]; responses: Buffer[] } {
  const responses: Buffer[] = [];
  const workers = callers.map(({ client, request, md }, i) => async () => {
    const start = now();
    const c = caller(port, rootPem, client, method);
    try {
      responses[i] = await c.call(request, md).catch((err: grpc.ServiceError) => {
        if (method === METHOD || err.code !== grpc.status.UNIMPLEMENTED) throw err;
        return Buffer.alloc(0);
      });
    } finally {
      c.close();
    }
    return [msSince(start)];
  });
  return { workers, responses };
}
