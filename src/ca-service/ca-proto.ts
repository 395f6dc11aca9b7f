// The certificate-signing API's messages (protos/istio-certificate-service.proto)
// as a grpc-js service definition, encoded with protobufjs. A request that
// does not decode reaches the handler as `malformed` so that the caller gets
// INVALID_ARGUMENT with a reason, not grpc-js's generic deserialisation error.
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

export const CA_SERVICE_NAME = 'istio.v1.auth.IstioCertificateService';
// Compiled to dist/src/ca-service/, three levels below the repository root.
const PROTO_FILE = fileURLToPath(new URL('../../../protos/istio-certificate-service.proto', import.meta.url));

export interface CertificateRequest {
  csr: string;
  /** Requested lifetime in seconds, exactly as sent (int64). */
  validitySeconds: bigint;
}

export type DecodedRequest = { ok: true; request: CertificateRequest } | { ok: false; malformed: string };

export interface CertificateResponse {
  /** PEM, one certificate per entry, leaf first and root last. */
  certChain: string[];
}

/** A CSR may have 64 KiB (see src/ca/csr.ts); anything this large is refused before it is decoded. */
export const MAX_REQUEST_BYTES = 256 * 1024;

const root = protobuf.loadSync(PROTO_FILE);
const requestType = root.lookupType('istio.v1.auth.IstioCertificateRequest');
const responseType = root.lookupType('istio.v1.auth.IstioCertificateResponse');

export function decodeRequest(bytes: Uint8Array): DecodedRequest {
  if (bytes.length > MAX_REQUEST_BYTES)
    return { ok: false, malformed: `request of ${bytes.length} bytes is larger than ${MAX_REQUEST_BYTES}` };
  try {
    const message = requestType.toObject(requestType.decode(bytes), { longs: String, defaults: true });
    return { ok: true, request: { csr: String(message.csr), validitySeconds: BigInt(message.validityDuration) } };
  } catch (err) {
    return { ok: false, malformed: (err as Error).message };
  }
}

export function encodeResponse(response: CertificateResponse): Buffer {
  return Buffer.from(responseType.encode(responseType.fromObject({ certChain: response.certChain })).finish());
}

/** What a client sends (the agent's CA client); a `malformed` request encodes as an empty one. */
function encodeRequest(decoded: DecodedRequest): Buffer {
  const fields = decoded.ok ? { csr: decoded.request.csr, validityDuration: decoded.request.validitySeconds.toString() } : {};
  return Buffer.from(requestType.encode(requestType.fromObject(fields)).finish());
}

function decodeResponse(bytes: Uint8Array): CertificateResponse {
  const message = responseType.toObject(responseType.decode(bytes), { defaults: true });
  return { certChain: (message.certChain as unknown[]).map(String) };
}

export type CreateCertificateCall = grpc.ServerUnaryCall<DecodedRequest, CertificateResponse>;

export const CA_SERVICE_DEFINITION = {
  CreateCertificate: {
    path: `/${CA_SERVICE_NAME}/CreateCertificate`,
    requestStream: false,
    responseStream: false,
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
  },
} satisfies grpc.ServiceDefinition;
