// A proxyless gRPC Greeter client for tests:
//   GRPC_XDS_BOOTSTRAP=<file> node greeter-client.js [--xds-creds] <target> [intervalMs] [deadlineMs] [maxCalls]
// --xds-creds: xDS channel credentials (mTLS when the control plane's cluster
// says so, with the bootstrap's certificate provider), plaintext otherwise.
// With an `xds:///name` target, grpc-js-xds resolves it through the control
// plane. Calls SayHello every intervalMs until maxCalls (0 = no limit) were
// made, stdin closes or SIGTERM arrives, and prints one JSON line per call: {"ok":true,"server":...} or {"ok":false,"code":...,"details":...}.
import { fstatSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as xds from '@grpc/grpc-js-xds';
import { GREETER_DEFINITION, type HelloReply } from './greeter-proto.js';

xds.register();

const args = process.argv.slice(2);
const [target = 'xds:///greeter.bar:50051', intervalArg = '100', deadlineArg = '2000', maxCallsArg = '0'] = args.filter(
  (a) => !a.startsWith('--'),
);
const maxCalls = Number(maxCallsArg);
const insecure = grpc.credentials.createInsecure();
const client = new grpc.Client(target, args.includes('--xds-creds') ? new xds.XdsChannelCredentials(insecure) : insecure);
const sayHello = GREETER_DEFINITION.SayHello;
let seq = 0;
let stopped = false;

function callOnce(): Promise<void> {
  const n = ++seq;
  return new Promise((resolve) => {
    const deadline = new Date(Date.now() + Number(deadlineArg));
    client.makeUnaryRequest(
      sayHello.path,
      sayHello.requestSerialize,
      sayHello.responseDeserialize,
      { name: `call-${n}` },
      { deadline },
      (err: grpc.ServiceError | null, reply?: HelloReply) => {
        const line = err
          ? { ok: false, seq: n, code: grpc.status[err.code] ?? err.code, details: err.details }
          : { ok: true, seq: n, server: reply?.server, message: reply?.message, caller: reply?.caller };
        process.stdout.write(`${JSON.stringify(line)}\n`);
        resolve();
      },
    );
  });
}

async function loop(): Promise<void> {
  while (!stopped) {
    await callOnce();
    if (maxCalls > 0 && seq >= maxCalls) break;
    await new Promise((r) => setTimeout(r, Number(intervalArg)));
  }
  client.close();
  process.exit(0);
}

const stop = () => {
  stopped = true;
};
process.on('SIGTERM', stop);
// A parent holding a pipe to stdin stops the client by closing it; stdin from /dev/null (a detached child) ends at once and means nothing.
const stdin = fstatSync(0);
if (stdin.isFIFO() || stdin.isSocket()) {
  process.stdin.on('end', stop);
  process.stdin.resume();
}
void loop();
