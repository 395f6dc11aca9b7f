// An external authorization service for tests, in both of Envoy's ext_authz
// protocols:
//
//   node ext-authz-server.js <address> <httpPort> [grpcPort] [tcpAllowPorts]
//
// - HTTP (envoyExtAuthzHttp): every request is a check. It is allowed (200,
//   with `x-ext-authz-check-result: allowed` and `x-ext-authz-upstream: ok`)
//   when it carries `x-ext-authz: allow`, denied otherwise (403, with
//   `x-ext-authz-check-result: denied` and the body `denied by ext_authz`).
// - gRPC (envoyExtAuthzGrpc, envoy.service.auth.v3.Authorization/Check): an
//   HTTP request is allowed on the same header; a TCP connection (no HTTP
//   attributes) is allowed when its destination port is in the comma-separated
//   `tcpAllowPorts`.
//
// Every check is recorded; `GET /__checks` on the HTTP port lists them (JSON).
// Prints `ext-authz listening on http <address>:<port>[ grpc <port>]` once bound.
import { createServer } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { envoyRoot } from '../../../src/proto/envoy-root.js';
import { outlastProxyIdleTimeout } from './keep-alive.js';

export interface RecordedCheck {
  protocol: 'http' | 'grpc';
  /** The checked request's path (HTTP: as received, path_prefix included), or undefined for a TCP connection. */
  path?: string;
  method?: string;
  /** The `x-ext-authz` header the check carried. */
  decision?: string;
  /** TCP checks: the connection's destination port. */
  destinationPort?: number;
  allowed: boolean;
}

const [address = '127.0.0.1', httpPort = '0', grpcPort, tcpAllow = ''] = process.argv.slice(2);
const tcpAllowPorts = new Set(tcpAllow.split(',').filter(Boolean).map(Number));
const checks: RecordedCheck[] = [];

const http = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/__checks') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(checks));
  }
  const decision = req.headers['x-ext-authz'] as string | undefined;
  const allowed = decision === 'allow';
  checks.push({ protocol: 'http', path: req.url, method: req.method, decision, allowed });
  req.resume();
  if (allowed) {
    res.writeHead(200, { 'x-ext-authz-check-result': 'allowed', 'x-ext-authz-upstream': 'ok' });
    return res.end();
  }
  res.writeHead(403, { 'x-ext-authz-check-result': 'denied', 'content-type': 'text/plain' });
  res.end('denied by ext_authz');
});
outlastProxyIdleTimeout(http);

// ---- gRPC -------------------------------------------------------------------

type Obj = Record<string, any>;
const root = envoyRoot();
const CheckRequest = root.lookupType('envoy.service.auth.v3.CheckRequest');
const CheckResponse = root.lookupType('envoy.service.auth.v3.CheckResponse');
const GRPC_OK = 0;
const GRPC_PERMISSION_DENIED = 7;

function check(request: Obj): Obj {
  const attrs = (request.attributes ?? {}) as Obj;
  const httpRequest = attrs.request?.http as Obj | undefined;
  let record: RecordedCheck;
  if (httpRequest) {
    const decision = httpRequest.headers?.['x-ext-authz'] as string | undefined;
    record = { protocol: 'grpc', path: httpRequest.path, method: httpRequest.method, decision, allowed: decision === 'allow' };
  } else {
    const destinationPort = Number(attrs.destination?.address?.socket_address?.port_value ?? 0);
    record = { protocol: 'grpc', destinationPort, allowed: tcpAllowPorts.has(destinationPort) };
  }
  checks.push(record);
  if (record.allowed) return { status: { code: GRPC_OK } };
  return {
    status: { code: GRPC_PERMISSION_DENIED },
    denied_response: { status: { code: 'Forbidden' }, body: 'denied by ext_authz (grpc)' },
  };
}

const AUTHORIZATION = {
  Check: {
    path: '/envoy.service.auth.v3.Authorization/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: Obj) => Buffer.from(CheckRequest.encode(CheckRequest.fromObject(value)).finish()),
    requestDeserialize: (bytes: Buffer) => CheckRequest.toObject(CheckRequest.decode(bytes), { enums: String, longs: Number }) as Obj,
    responseSerialize: (value: Obj) => Buffer.from(CheckResponse.encode(CheckResponse.fromObject(value)).finish()),
    responseDeserialize: (bytes: Buffer) => CheckResponse.toObject(CheckResponse.decode(bytes)) as Obj,
  },
};

let grpcServer: grpc.Server | undefined;
async function listenGrpc(port: string): Promise<number> {
  grpcServer = new grpc.Server();
  grpcServer.addService(AUTHORIZATION, {
    Check(call: grpc.ServerUnaryCall<Obj, Obj>, callback: grpc.sendUnaryData<Obj>) {
      callback(null, check(call.request));
    },
  });
  return new Promise((resolve, reject) =>
    grpcServer!.bindAsync(`${address}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
}

http.listen(Number(httpPort), address, async () => {
  const boundHttp = (http.address() as { port: number }).port;
  let line = `ext-authz listening on http ${address}:${boundHttp}`;
  if (grpcPort !== undefined) {
    try {
      line += ` grpc ${await listenGrpc(grpcPort)}`;
    } catch (err) {
      process.stderr.write(`ext-authz: cannot listen for gRPC on ${address}:${grpcPort}: ${(err as Error).message}\n`);
      process.exit(1);
    }
  }
  process.stdout.write(`${line}\n`);
});
process.on('SIGTERM', () => {
  grpcServer?.forceShutdown();
  http.close(() => process.exit(0));
  http.closeAllConnections();
});
