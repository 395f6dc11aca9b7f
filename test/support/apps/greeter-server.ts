// A Greeter gRPC server for tests: `node greeter-server.js [--xds] <address> <port> <name>`.
// Replies name the server, so a caller can tell which endpoint answered.
// Prints `greeter <name> listening on <address>:<port>` once bound.
//
// With --xds it is a proxyless xDS server: an XdsServer (its config, mTLS and
// RBAC from the control plane named by GRPC_XDS_BOOTSTRAP) with xDS server
// credentials that fall back to plaintext when the control plane sends no TLS.
// It binds only once its Listener arrived, prints each change of its serving
// state (`greeter <name> serving: <code> <details>`), and replies with the
// caller's identity: the URI SAN of its client certificate.
import * as grpc from '@grpc/grpc-js';
import { GREETER_DEFINITION, type HelloReply, type HelloRequest } from './greeter-proto.js';

const args = process.argv.slice(2);
const useXds = args.includes('--xds');
const [address = '127.0.0.1', port = '50051', name = `greeter@${address}`] = args.filter((a) => !a.startsWith('--'));
let served = 0;

/** `spiffe://...` from the peer certificate's subjectAltName (`URI:spiffe://..., DNS:...`), or ''. */
function callerOf(call: grpc.ServerUnaryCall<HelloRequest, HelloReply>): string {
  const san = call.getAuthContext().sslPeerCertificate?.subjectaltname ?? '';
  const uri = san
    .split(',')
    .map((s) => s.trim())
    .find((s) => s.startsWith('URI:'));
  return uri ? uri.slice('URI:'.length) : '';
}

async function makeServer(): Promise<{ server: grpc.Server; credentials: grpc.ServerCredentials }> {
  if (!useXds) return { server: new grpc.Server(), credentials: grpc.ServerCredentials.createInsecure() };
  const xds = await import('@grpc/grpc-js-xds');
  // Registers the HTTP filters (router, RBAC) too: without it every server Listener is refused.
  xds.register();
  return { server: new xds.XdsServer(), credentials: new xds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()) };
}

const { server, credentials } = await makeServer();
server.addService(GREETER_DEFINITION, {
  SayHello(call: grpc.ServerUnaryCall<HelloRequest, HelloReply>, callback: grpc.sendUnaryData<HelloReply>) {
    served += 1;
    callback(null, { message: `Hello ${call.request.name}`, server: name, caller: callerOf(call) });
  },
});
const listening = `${address}:${port}`;
server.bindAsync(listening, credentials, (err, bound) => {
  if (err) {
    process.stderr.write(`greeter ${name}: cannot listen on ${listening}: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`greeter ${name} listening on ${address}:${bound}\n`);
});
if (useXds) {
  (server as import('@grpc/grpc-js-xds').XdsServer).addServingStateListener(listening, (s) =>
    process.stdout.write(`greeter ${name} serving: ${grpc.status[s.code] ?? s.code} ${s.details}\n`),
  );
}
process.on('SIGTERM', () =>
  server.tryShutdown(() => {
    process.stderr.write(`greeter ${name}: served ${served} call(s)\n`);
    process.exit(0);
  }),
);
