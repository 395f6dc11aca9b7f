// One SDS stream from the agent's Envoy, state of the world or delta. Only the
// agent's own secrets (`default`, `ROOTCA`) are answered; a name without
// material yet, or one the agent does not serve, is simply not sent, and Envoy
// keeps waiting for it. A response goes out when what Envoy asked for changed;
// identical content is never sent twice, so a rejected (NACKed) secret is not
// pushed again until it changes.
import { createHash } from 'node:crypto';
import { type Json, jsonToBinary } from '../proto/proto-json.js';
import {
  decodeDeltaRequest,
  decodeSotwRequest,
  encodeDeltaResponse,
  encodeSotwResponse,
  type WireResource,
} from '../server/discovery-codec.js';
import { classifySotwRequest } from '../server/xds-protocol.js';
import { TYPE } from '../xds/type-urls.js';
import { type LocalSecrets, localSecret } from './agent-types.js';

export interface SdsLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

const SECRET_TYPE_NAME = TYPE.secret.slice('type.googleapis.com/'.length);
const hash = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex').slice(0, 16);

/** Secret `name` as Envoy receives it, or undefined while it has no material (or is not the agent's). */
export function encodedSecret(name: string, secrets: LocalSecrets): WireResource | undefined {
  const secret = localSecret(name, secrets);
  if (!secret) return undefined;
  const value = jsonToBinary(SECRET_TYPE_NAME, secret as unknown as Json);
  return { name, version: hash(value), value };
}

export abstract class SdsStream {
  #nonces = 0;

  constructor(
    readonly id: number,
    protected readonly secrets: LocalSecrets,
    protected readonly logger: SdsLogger,
    protected readonly write: (bytes: Uint8Array) => void,
  ) {}

  /** Handles one request; throws when it does not decode. */
  abstract onRequest(bytes: Uint8Array): void;
  /** Sends what changed since the last response, if anything did. */
  abstract push(): void;

  protected nextNonce(): string {
    this.#nonces += 1;
    return `${this.id}-${this.#nonces}`;
  }

  protected wrongType(typeUrl: string): boolean {
    if (typeUrl === TYPE.secret) return false;
    this.logger.warn({ stream: this.id, typeUrl }, 'SDS request for another resource type ignored');
    return true;
  }

  protected nack(names: readonly string[], message: string): void {
    this.logger.warn(
      { stream: this.id, names, error: message },
      'Envoy rejected the secrets (NACK); they are sent again only once they change',
    );
  }
}

export class SotwSdsStream extends SdsStream {
  #names: string[] = [];
  #lastNonce: string | undefined;
  #sentFingerprint: string | undefined;

  onRequest(bytes: Uint8Array): void {
    const req = decodeSotwRequest(bytes);
    if (this.wrongType(req.typeUrl)) return;
    const kind = classifySotwRequest(this.#lastNonce, req.responseNonce, req.errorDetail);
    if (kind.kind === 'stale') return;
    if (kind.kind === 'nack') this.nack(this.#names, kind.message);
    this.#names = [...new Set(req.resourceNames)].sort();
    this.push();
  }

  push(): void {
    const resources = this.#names.flatMap((name) => encodedSecret(name, this.secrets) ?? []);
    if (resources.length === 0 && this.#sentFingerprint === undefined) return;
    const fingerprint = hash(`${this.#names.join(',')}|${resources.map((r) => `${r.name}=${r.version}`).join(',')}`);
    if (fingerprint === this.#sentFingerprint) return;
    const nonce = this.nextNonce();
    this.write(encodeSotwResponse(TYPE.secret, fingerprint, nonce, resources));
    this.#lastNonce = nonce;
    this.#sentFingerprint = fingerprint;
  }
}

export class DeltaSdsStream extends SdsStream {
  readonly #subscribed = new Set<string>();
  /** The version of each secret Envoy holds (as we sent it, or as it said it had). */
  readonly #held = new Map<string, string>();
  #lastNonce: string | undefined;
  #first = true;

  onRequest(bytes: Uint8Array): void {
    const req = decodeDeltaRequest(bytes);
    if (this.wrongType(req.typeUrl)) return;
    if (this.#first) {
      for (const [name, version] of Object.entries(req.initialResourceVersions)) this.#held.set(name, version);
      this.#first = false;
    }
    if (req.errorDetail && req.responseNonce && req.responseNonce === this.#lastNonce)
      this.nack([...this.#subscribed].sort(), req.errorDetail.message);
    for (const name of req.subscribe) this.#subscribed.add(name);
    for (const name of req.unsubscribe) {
      this.#subscribed.delete(name);
      this.#held.delete(name);
    }
    this.push();
  }

  push(): void {
    const resources: WireResource[] = [];
    const removed: string[] = [];
    for (const name of [...this.#subscribed].sort()) {
      const resource = encodedSecret(name, this.secrets);
      if (resource && this.#held.get(name) !== resource.version) resources.push(resource);
      else if (!resource && this.#held.has(name)) removed.push(name);
    }
    if (resources.length === 0 && removed.length === 0) return;
    for (const r of resources) this.#held.set(r.name, r.version);
    for (const name of removed) this.#held.delete(name);
    const nonce = this.nextNonce();
    this.write(encodeDeltaResponse(TYPE.secret, '', nonce, resources, removed));
    this.#lastNonce = nonce;
  }
}
