// A minimal xDS client for tests: a real grpc-js bidi stream on the raw-bytes
// ADS service definition, with a queue of decoded responses and the final
// gRPC status of the stream.
import * as grpc from '@grpc/grpc-js';
import { ADS_SERVICE_DEFINITION } from '../../src/server/ads-server.js';
import { clientCodec } from '../support/client-codec.js';
import { binaryToJson } from '../../src/proto/proto-json.js';
import { RESOURCE_TYPES, type ResourceType, TYPE_URL_OF } from '../../src/xds/type-urls.js';

const TYPE_OF_URL = new Map<string, ResourceType>(RESOURCE_TYPES.map((t) => [TYPE_URL_OF[t], t]));

export function typeOfUrl(url: string): ResourceType {
  const resourceType = TYPE_OF_URL.get(url);
  if (!resourceType) throw new Error(`unexpected type URL ${url}`);
  return resourceType;
}

/** Decodes one resource of a type into canonical JSON. */
export function decodeResource(type: ResourceType, value: Uint8Array): Record<string, any> {
  return binaryToJson(TYPE_URL_OF[type].slice('type.googleapis.com/'.length), value) as Record<string, any>;
}

/** The xDS resource name of an encoded resource. */
export function resourceName(type: ResourceType, value: Uint8Array): string {
  const json = decodeResource(type, value);
  return String(type === 'endpoints' ? json.cluster_name : json.name);
}

const noSerialize = (b: Uint8Array) => Buffer.from(b);
const noDeserialize = (b: Buffer) => b;

export interface StreamEnd {
  code: grpc.status;
  details: string;
}

/** One bidi stream: send raw requests, await raw responses, observe the end. */
export class RawStream {
  private readonly queue: Buffer[] = [];
  private waiter: ((b: Buffer | undefined) => void) | undefined;
  private endStatus: StreamEnd | undefined;
  readonly ended: Promise<StreamEnd>;
  private readonly call: grpc.ClientDuplexStream<Uint8Array, Buffer>;

  constructor(client: grpc.Client, method: 'StreamAggregatedResources' | 'DeltaAggregatedResources', metadata = new grpc.Metadata()) {
    this.call = client.makeBidiStreamRequest(ADS_SERVICE_DEFINITION[method]!.path, noSerialize, noDeserialize, metadata);
    this.call.on('data', (b: Buffer) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(b);
      } else this.queue.push(b);
    });
    this.call.on('error', () => {}); // the status event carries the outcome
    this.ended = new Promise((resolve) => {
      this.call.on('status', (s: grpc.StatusObject) => {
        this.endStatus = { code: s.code, details: s.details };
        resolve(this.endStatus);
        this.waiter?.(undefined);
        this.waiter = undefined;
      });
    });
  }

  /** The stream's final status; fails if it is still open after `timeoutMs`. */
  async endWithin(timeoutMs = 5000): Promise<StreamEnd> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the stream is still open after ${timeoutMs}ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.ended, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  send(bytes: Uint8Array): void {
    this.call.write(bytes);
  }

  /** The next response; fails after `timeoutMs` or when the stream ends first. */
  async nextRaw(timeoutMs = 5000): Promise<Buffer> {
    const queued = this.queue.shift();
    if (queued) return queued;
    if (this.endStatus)
      throw new Error(`stream ended (${grpc.status[this.endStatus.code]}: ${this.endStatus.details}) while a response was awaited`);
    if (this.waiter) throw new Error('only one reader at a time');
    const got = await new Promise<Buffer | undefined>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no response within ${timeoutMs}ms`));
      }, timeoutMs);
      this.waiter = (b) => {
        clearTimeout(timer);
        resolve(b);
      };
    });
    if (!got)
      throw new Error(`stream ended (${grpc.status[this.endStatus!.code]}: ${this.endStatus!.details}) while a response was awaited`);
    return got;
  }

  /** Responses already received and not yet read. */
  get pending(): number {
    return this.queue.length;
  }

  close(): void {
    this.call.cancel();
  }

  /** Half-closes: no more requests from this side (the server then ends the stream). */
  end(): void {
    this.call.end();
  }
}

export interface SotwResponse {
  type: ResourceType;
  versionInfo: string;
  nonce: string;
  names: string[];
  resources: { name: string; value: Uint8Array }[];
}

/** Decodes a SotW response as a client sees it, checking every resource is of the response's type. */
export function readSotwResponse(bytes: Uint8Array): SotwResponse {
  const r = clientCodec.decodeSotwResponse(bytes);
  const type = typeOfUrl(r.typeUrl);
  const resources = r.resources.map((x) => {
    if (x.typeUrl !== r.typeUrl) throw new Error(`resource of type ${x.typeUrl} in a ${r.typeUrl} response`);
    return { name: resourceName(type, x.value), value: x.value };
  });
  return { type, versionInfo: r.versionInfo, nonce: r.nonce, names: resources.map((x) => x.name).sort(), resources };
}

export interface SotwRequestArgs {
  node?: { id: string; cluster?: string; metadata?: Record<string, string> };
  names?: string[];
  version?: string;
  nonce?: string;
  error?: string;
}

export class SotwClient {
  readonly raw: RawStream;
  constructor(client: grpc.Client, metadata?: grpc.Metadata) {
    this.raw = new RawStream(client, 'StreamAggregatedResources', metadata);
  }

  request(type: ResourceType, a: SotwRequestArgs = {}): void {
    this.raw.send(
      clientCodec.encodeSotwRequest({
        typeUrl: TYPE_URL_OF[type],
        node: a.node,
        resourceNames: a.names ?? [],
        versionInfo: a.version ?? '',
        responseNonce: a.nonce ?? '',
        errorDetail: a.error === undefined ? undefined : { code: 3, message: a.error },
      }),
    );
  }

  async next(timeoutMs?: number): Promise<SotwResponse> {
    return readSotwResponse(await this.raw.nextRaw(timeoutMs));
  }

  /** ACK a response: its version and nonce, with the names the client wants. */
  ack(res: SotwResponse, names: string[] = []): void {
    this.request(res.type, { version: res.versionInfo, nonce: res.nonce, names });
  }

  close(): void {
    this.raw.close();
  }
}

export interface DeltaResponse {
  type: ResourceType;
  systemVersion: string;
  nonce: string;
  /** name -> version of each resource sent. */
  versions: Record<string, string>;
  removed: string[];
}

/** Decodes a delta response, checking each resource's outer name matches the resource it holds. */
export function readDeltaResponse(bytes: Uint8Array): DeltaResponse {
  const r = clientCodec.decodeDeltaResponse(bytes);
  const type = typeOfUrl(r.typeUrl);
  const versions: Record<string, string> = {};
  for (const x of r.resources) {
    const name = resourceName(type, x.value);
    if (name !== x.name) throw new Error(`delta resource named "${x.name}" holds "${name}"`);
    versions[x.name] = x.version;
  }
  return { type, systemVersion: r.systemVersion, nonce: r.nonce, versions, removed: [...r.removed].sort() };
}

export interface DeltaRequestArgs {
  node?: { id: string };
  subscribe?: string[];
  unsubscribe?: string[];
  initial?: Record<string, string>;
  nonce?: string;
  error?: string;
}

export class DeltaClient {
  readonly raw: RawStream;
  constructor(client: grpc.Client, metadata?: grpc.Metadata) {
    this.raw = new RawStream(client, 'DeltaAggregatedResources', metadata);
  }

  request(type: ResourceType, a: DeltaRequestArgs = {}): void {
    this.raw.send(
      clientCodec.encodeDeltaRequest({
        typeUrl: TYPE_URL_OF[type],
        node: a.node,
        subscribe: a.subscribe,
        unsubscribe: a.unsubscribe,
        initialResourceVersions: a.initial,
        responseNonce: a.nonce,
        errorDetail: a.error === undefined ? undefined : { code: 3, message: a.error },
      }),
    );
  }

  async next(timeoutMs?: number): Promise<DeltaResponse> {
    return readDeltaResponse(await this.raw.nextRaw(timeoutMs));
  }

  ack(res: DeltaResponse): void {
    this.request(res.type, { nonce: res.nonce });
  }

  close(): void {
    this.raw.close();
  }
}

/** Polls until `check` returns true (no fixed sleep: fails with `what` after `timeoutMs`). */
export async function eventually(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
