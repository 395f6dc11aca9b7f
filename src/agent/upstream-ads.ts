// One state-of-the-world ADS stream to meshlite, on a channel of its own: the
// connector is asked for the address and credentials each time, so a stream
// opened after a certificate rotation presents the new certificate.
import * as grpc from '@grpc/grpc-js';
import { ADS_SERVICE_DEFINITION } from '../server/ads-server.js';

export interface UpstreamTarget {
  address: string;
  credentials: grpc.ChannelCredentials;
  metadata?: grpc.Metadata;
  options?: grpc.ChannelOptions;
}

/** Called for every upstream (re)connection. */
export type UpstreamConnector = () => UpstreamTarget;

export interface UpstreamEnd {
  code: grpc.status;
  details: string;
}

export interface UpstreamHandlers {
  /** meshlite authenticated the stream (its response headers arrived). */
  onAccepted?(): void;
  onResponse(bytes: Buffer): void;
  /** The stream ended on its own (never called after close()). */
  onEnd(end: UpstreamEnd): void;
}

/** Responses can hold a whole mesh's config; grpc-js would refuse anything above 4 MiB. */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export class UpstreamAds {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Uint8Array, Buffer>;
  private done = false;

  /** Throws when the connector does. */
  constructor(connector: UpstreamConnector, handlers: UpstreamHandlers) {
    const target = connector();
    this.client = new grpc.Client(target.address, target.credentials, {
      'grpc.max_receive_message_length': MAX_RESPONSE_BYTES,
      ...target.options,
      // A channel per stream, never shared: credentials differ from one stream to the next.
      'grpc.use_local_subchannel_pool': 1,
    });
    const method = ADS_SERVICE_DEFINITION.StreamAggregatedResources!;
    this.call = this.client.makeBidiStreamRequest(
      method.path,
      (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
      (b: Buffer) => b,
      target.metadata ?? new grpc.Metadata(),
    );
    // meshlite sends its response headers once it authenticated the stream.
    this.call.on('metadata', () => {
      if (!this.done) handlers.onAccepted?.();
    });
    this.call.on('data', (bytes: Buffer) => {
      if (!this.done) handlers.onResponse(bytes);
    });
    // The status event carries the outcome; without a listener an error event would throw.
    this.call.on('error', () => {});
    this.call.on('status', (s: grpc.StatusObject) => {
      if (this.done) return;
      this.done = true;
      this.client.close();
      handlers.onEnd({ code: s.code, details: s.details });
    });
  }

  send(bytes: Uint8Array): void {
    if (!this.done) this.call.write(bytes);
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.call.cancel();
    this.client.close();
  }
}
