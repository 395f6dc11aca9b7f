// `meshlite.v1.Registration/Register`, served on the ADS port: a bidirectional
// stream an agent opens with a WorkloadGroup token. Its first message
// registers the agent's host; later ones report the probe's verdict. The
// workload stays registered while the stream (or its proxy's ADS stream) is
// open. Messages are JSON documents, one per gRPC message.
import * as grpc from '@grpc/grpc-js';
import type { WorkloadProbe } from '../config/types.js';

export const REGISTRATION_SERVICE = 'meshlite.v1.Registration';

/** First message: who joins. Later ones: `health` only. */
export interface RegistrationRequest {
  group?: string;
  address?: string;
  health?: { healthy: boolean; message?: string };
}

/** Sent once the workload is registered. */
export interface RegistrationResponse {
  workloadId: string;
  /** The group's probe, for the agent to run on its host; none means nothing to report. */
  probe?: WorkloadProbe;
}

/** Far above any real message: a peer cannot make meshlite parse megabytes. */
export const MAX_REGISTRATION_MESSAGE_BYTES = 16 * 1024;

const serialize = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

function parse<T>(bytes: Buffer): T {
  if (bytes.length > MAX_REGISTRATION_MESSAGE_BYTES) throw new Error(`message of ${bytes.length} bytes is too large`);
  const value: unknown = JSON.parse(bytes.toString('utf8'));
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('expected a JSON object');
  return value as T;
}

export const REGISTRATION_SERVICE_DEFINITION: grpc.ServiceDefinition = {
  Register: {
    path: `/${REGISTRATION_SERVICE}/Register`,
    requestStream: true,
    responseStream: true,
    requestSerialize: serialize,
    requestDeserialize: (bytes: Buffer) => parse<RegistrationRequest>(bytes),
    responseSerialize: serialize,
    responseDeserialize: (bytes: Buffer) => parse<RegistrationResponse>(bytes),
  },
};

export const RegistrationClient = grpc.makeGenericClientConstructor(REGISTRATION_SERVICE_DEFINITION, REGISTRATION_SERVICE);
