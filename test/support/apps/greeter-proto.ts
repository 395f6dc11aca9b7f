// The Greeter service (protos/greeter.proto) as a @grpc/grpc-js service
// definition, encoded with protobufjs: no proto-loader, no generated code.
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { REPO_ROOT } from '../paths.js';

export interface HelloRequest {
  name: string;
}

export interface HelloReply {
  message: string;
  server: string;
  /** The caller's SPIFFE id as the server saw it (`greeter-server --xds` fills it in). */
  caller?: string;
}

export const GREETER_SERVICE = 'meshlite.examples.greeter.v1.Greeter';

const root = protobuf.loadSync(join(REPO_ROOT, 'protos/greeter.proto'));
const requestType = root.lookupType('meshlite.examples.greeter.v1.HelloRequest');
const replyType = root.lookupType('meshlite.examples.greeter.v1.HelloReply');

function codec<T extends object>(type: protobuf.Type) {
  return {
    serialize: (value: T) => Buffer.from(type.encode(type.fromObject(value)).finish()),
    deserialize: (bytes: Buffer) => type.toObject(type.decode(bytes), { defaults: true }) as T,
  };
}

const req = codec<HelloRequest>(requestType);
const res = codec<HelloReply>(replyType);

export const GREETER_DEFINITION = {
  SayHello: {
    path: `/${GREETER_SERVICE}/SayHello`,
    requestStream: false,
    responseStream: false,
    requestSerialize: req.serialize,
    requestDeserialize: req.deserialize,
    responseSerialize: res.serialize,
    responseDeserialize: res.deserialize,
  },
} satisfies grpc.ServiceDefinition;
