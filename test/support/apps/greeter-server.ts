// A Greeter gRPC server for tests: `node greeter-server.js <address> <port> <name>`.
// Replies name the server, so a caller can tell which endpoint answered.
// Prints `greeter <name> listening on <address>:<port>` once bound.
import * as grpc from '@grpc/grpc-js';
import { GREETER_DEFINITION, type HelloReply, type HelloRequest } from './greeter-proto.js';

const [address = '127.0.0.1', port = '50051', name = `greeter@${address}`] = process.argv.slice(2);
let served = 0;

const server = new grpc.Server();
server.addService(GREETER_DEFINITION, {
  SayHello(call: grpc.ServerUnaryCall<HelloRequest, HelloReply>, callback: grpc.sendUnaryData<HelloReply>) {
    served += 1;
    callback(null, { message: `Hello ${call.request.name}`, server: name });
  },
});
server.bindAsync(`${address}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    process.stderr.write(`greeter ${name}: cannot listen on ${address}:${port}: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`greeter ${name} listening on ${address}:${bound}\n`);
});
process.on('SIGTERM', () =>
  server.tryShutdown(() => {
    process.stderr.write(`greeter ${name}: served ${served} call(s)\n`);
    process.exit(0);
  }),
);
