// SotwStream and DeltaStream driven directly, without a socket or a clock: the
// stream writes into a spy, requests are handed in already decoded, and every
// step is followed by an exact account of what was written (often nothing).
// The streams answer synchronously, so "nothing written" is known at once.
import { DeltaStream } from '../../src/server/delta-stream.js';
import type { DeltaRequest, SotwRequest } from '../../src/server/discovery-codec.js';
import { SotwStream } from '../../src/server/sotw-stream.js';
import type { StreamObserver, TypeStatus } from '../../src/server/stream-status.js';
import { type ResourceType, TYPE_URL_OF } from '../../src/xds/type-urls.js';
import { type ObservedEvent, PROXY } from './harness.js';
import {
  type DeltaRequestArgs,
  type DeltaResponse,
  readDeltaResponse,
  readSotwResponse,
  type SotwRequestArgs,
  type SotwResponse,
} from './xds-client.js';

interface Spy<S, R> {
  stream: S;
  events: ObservedEvent[];
  logs: string[];
  /** What the stream wrote since the last call, decoded; clears it. */
  written(): R[];
  status(type: ResourceType): TypeStatus | undefined;
}

type MakeStream<S> = (write: (encode: () => Uint8Array) => void, observer: StreamObserver, log: (m: string) => void) => S;

function spy<S extends SotwStream | DeltaStream, R>(make: MakeStream<S>, read: (b: Uint8Array) => R): Spy<S, R> {
  let out: Uint8Array[] = [];
  const events: ObservedEvent[] = [];
  const logs: string[] = [];
  const observer: StreamObserver = {
    sent: (proxy, type, version) => events.push({ kind: 'sent', proxy, type, version }),
    acked: (proxy, type, version) => events.push({ kind: 'acked', proxy, type, version }),
    nacked: (proxy, type, version, message) => events.push({ kind: 'nacked', proxy, type, version, message }),
  };
  const stream = make(
    (encode) => out.push(encode()),
    observer,
    (m) => logs.push(m),
  );
  return {
    stream,
    events,
    logs,
    written() {
      const taken = out.map(read);
      out = [];
      return taken;
    },
    status: (type) => stream.status().find((s) => s.type === type),
  };
}

export interface SotwSpy extends Spy<SotwStream, SotwResponse> {
  request(type: ResourceType, args?: SotwRequestArgs): void;
  /** ACK a response with the names the client wants. */
  ack(res: SotwResponse, names?: string[]): void;
  nack(res: SotwResponse, heldVersion: string, message: string, names?: string[]): void;
  /** Exactly one response was written since the last look; returns it. */
  one(): SotwResponse;
}

export function sotwRequest(type: ResourceType, a: SotwRequestArgs = {}): SotwRequest {
  return {
    typeUrl: TYPE_URL_OF[type],
    node: a.node && { id: a.node.id, cluster: a.node.cluster ?? '', metadata: {}, userAgent: '' },
    resourceNames: a.names ?? [],
    versionInfo: a.version ?? '',
    responseNonce: a.nonce ?? '',
    errorDetail: a.error === undefined ? undefined : { code: 3, message: a.error },
  };
}

export function sotwSpy(proxyId = PROXY): SotwSpy {
  const base = spy((w, o, l) => new SotwStream(proxyId, w, o, l), readSotwResponse);
  const request = (type: ResourceType, args?: SotwRequestArgs) => base.stream.onRequest(sotwRequest(type, args));
  return {
    ...base,
    request,
    ack: (res, names = []) => request(res.type, { version: res.versionInfo, nonce: res.nonce, names }),
    nack: (res, heldVersion, message, names = []) => request(res.type, { version: heldVersion, nonce: res.nonce, names, error: message }),
    one() {
      const w = base.written();
      if (w.length !== 1) throw new Error(`expected one response, got ${w.length}: ${w.map((r) => r.type).join(', ')}`);
      return w[0]!;
    },
  };
}

export interface DeltaSpy extends Spy<DeltaStream, DeltaResponse> {
  request(type: ResourceType, args?: DeltaRequestArgs): void;
  ack(res: DeltaResponse): void;
  one(): DeltaResponse;
}

export function deltaRequest(type: ResourceType, a: DeltaRequestArgs = {}): DeltaRequest {
  return {
    typeUrl: TYPE_URL_OF[type],
    node: a.node && { id: a.node.id, cluster: '', metadata: {}, userAgent: '' },
    subscribe: a.subscribe ?? [],
    unsubscribe: a.unsubscribe ?? [],
    initialResourceVersions: a.initial ?? {},
    responseNonce: a.nonce ?? '',
    errorDetail: a.error === undefined ? undefined : { code: 3, message: a.error },
  };
}

export function deltaSpy(proxyId = PROXY): DeltaSpy {
  const base = spy((w, o, l) => new DeltaStream(proxyId, w, o, l), readDeltaResponse);
  const request = (type: ResourceType, args?: DeltaRequestArgs) => base.stream.onRequest(deltaRequest(type, args));
  return {
    ...base,
    request,
    ack: (res) => request(res.type, { nonce: res.nonce }),
    one() {
      const w = base.written();
      if (w.length !== 1) throw new Error(`expected one response, got ${w.length}: ${w.map((r) => r.type).join(', ')}`);
      return w[0]!;
    },
  };
}
