// The one Envoy connected to the relay: its ADS call, what it subscribed to,
// and the answers the agent makes itself (its own secrets, from LocalSecrets).
import type * as grpc from '@grpc/grpc-js';
import { decodeSotwRequest, encodeSotwResponse, type SotwRequest, type WireResource } from '../server/discovery-codec.js';
import { type LocalSecrets, localSecret } from './agent-types.js';
import { type ConfiguredNode, encodeSecret, nodeWithAgentMarker, SECRET_TYPE_URL } from './relay-codec.js';
import { RelayedTypes } from './relayed-types.js';
import { SecretSplit } from './secret-split.js';

export type EnvoyCall = grpc.ServerDuplexStream<Buffer, Uint8Array>;

export class EnvoySession {
  readonly split = new SecretSplit();
  readonly types = new RelayedTypes();
  /** Envoy's node with the agent's marker, once its first request arrived. */
  node: Record<string, unknown> | undefined;
  private ended = false;

  constructor(private readonly call: EnvoyCall) {}

  get open(): boolean {
    return !this.ended;
  }

  write(bytes: Uint8Array): void {
    if (!this.ended) this.call.write(bytes);
  }

  /** Ends the call with a status (the call is over either way). */
  fail(code: grpc.status, details: string): void {
    if (this.ended) return;
    this.ended = true;
    this.call.emit('error', { code, details });
  }

  /**
   * Decodes one of Envoy's requests; the first one also gives Envoy's node
   * (with the agent's marker; `fallback` when it carries none). Throws on bytes
   * that are not a DiscoveryRequest.
   */
  accept(bytes: Uint8Array, fallback: ConfiguredNode): { req: SotwRequest; first: boolean } {
    const req = decodeSotwRequest(bytes);
    if (this.node) return { req, first: false };
    this.node = nodeWithAgentMarker(fallback, bytes);
    return { req, first: true };
  }

  /** The call ended from Envoy's side. */
  markEnded(): void {
    this.ended = true;
  }

  /**
   * Answers Envoy's local secret names with what `secrets` holds now; names
   * whose material is not known yet are left out (Envoy waits for them).
   * Returns how many secrets were sent.
   */
  pushLocal(secrets: LocalSecrets): number {
    if (this.ended) return 0;
    const resources: WireResource[] = [];
    for (const name of this.split.localWanted()) {
      const secret = localSecret(name, secrets);
      if (secret) resources.push({ name, version: '', value: encodeSecret(secret) });
    }
    if (resources.length === 0) return 0;
    const { versionInfo, nonce } = this.split.nextLocalResponse();
    this.write(encodeSotwResponse(SECRET_TYPE_URL, versionInfo, nonce, resources));
    return resources.length;
  }
}
