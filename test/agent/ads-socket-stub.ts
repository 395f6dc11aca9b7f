// A bare ADS server on a Unix socket, standing where the agent's relay will
// be: it records every SotW request and, once told to answer, answers each
// subscription with an empty resource set (enough for Envoy to finish its
// initialisation and go LIVE).
import * as grpc from '@grpc/grpc-js';
import { ADS_SERVICE_DEFINITION } from '../../src/server/ads-server.js';
import { decodeSotwRequest, encodeSotwResponse, type SotwRequest } from '../../src/server/discovery-codec.js';

type Call = grpc.ServerDuplexStream<Uint8Array, Uint8Array>;

export class AdsSocketStub {
  readonly requests: SotwRequest[] = [];
  private answering = false;
  private nonce = 0;
  /** Per stream, the type URLs asked for and not answered yet. */
  private readonly pending = new Map<Call, Set<string>>();

  private constructor(private readonly server: grpc.Server) {}

  static async listen(socketPath: string): Promise<AdsSocketStub> {
    const server = new grpc.Server();
    const stub = new AdsSocketStub(server);
    server.addService(ADS_SERVICE_DEFINITION, {
      StreamAggregatedResources: (call: Call) => stub.handle(call),
      DeltaAggregatedResources: (call: Call) => call.destroy(new Error('SotW only')),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    return stub;
  }

  /** From now on every subscription gets an (empty) answer, including those already waiting. */
  answer(): void {
    this.answering = true;
    for (const [call, types] of this.pending) for (const typeUrl of types) this.respond(call, typeUrl);
  }

  close(): void {
    this.server.forceShutdown();
  }

  private handle(call: Call): void {
    this.pending.set(call, new Set());
    call.on('data', (bytes: Uint8Array) => {
      const request = decodeSotwRequest(bytes);
      this.requests.push(request);
      if (request.responseNonce) return; // an ACK or NACK
      if (this.answering) this.respond(call, request.typeUrl);
      else this.pending.get(call)?.add(request.typeUrl);
    });
    call.on('error', () => undefined);
    call.on('end', () => {
      this.pending.delete(call);
      call.end();
    });
  }

  private respond(call: Call, typeUrl: string): void {
    this.pending.get(call)?.delete(typeUrl);
    call.write(encodeSotwResponse(typeUrl, '1', String(++this.nonce), []));
  }
}
