// One incremental (delta) ADS stream: the client says what it subscribes to and
// which versions it already holds; we send only what differs and name what was
// removed. Subscription changes count even on a stale nonce.
import type { EncodedResource, ProxySnapshot } from '../cache/snapshot.js';
import { RESOURCE_TYPE_OF_URL } from '../cache/snapshot.js';
import type { ResourceType } from '../xds/type-urls.js';
import { type DeltaRequest, encodeDeltaResponse } from './discovery-codec.js';
import type { StreamObserver, TypeStatus } from './stream-status.js';
import { isFullStateType, PUSH_ORDER } from './xds-protocol.js';

interface DeltaTypeState {
  wildcard: boolean;
  names: Set<string>;
  /** What the client holds, by name: version. */
  clientVersions: Map<string, string>;
  lastNonce?: string;
  status: TypeStatus;
}

export class DeltaStream {
  private readonly types = new Map<ResourceType, DeltaTypeState>();
  private nonce = 0;
  private snapshot: ProxySnapshot | undefined;

  constructor(
    readonly proxyId: string,
    private readonly write: (bytes: Uint8Array) => void,
    private readonly observer: StreamObserver,
    private readonly log: (msg: string, extra?: Record<string, unknown>) => void,
  ) {}

  onSnapshot(snapshot: ProxySnapshot): void {
    this.snapshot = snapshot;
    for (const type of PUSH_ORDER) this.respond(type);
  }

  onRequest(req: DeltaRequest): void {
    const type = RESOURCE_TYPE_OF_URL.get(req.typeUrl);
    if (!type) {
      this.log('ignoring delta request for an unsupported type', { typeUrl: req.typeUrl });
      return;
    }
    let state = this.types.get(type);
    if (!state) {
      state = { wildcard: false, names: new Set(), clientVersions: new Map(Object.entries(req.initialResourceVersions)), status: { type, subscribed: [], sentCount: 0 } };
      this.types.set(type, state);
      // Legacy wildcard: the first request of a full-state type that names nothing.
      if (isFullStateType(type) && req.subscribe.length === 0) state.wildcard = true;
    }
    for (const name of req.subscribe) {
      if (name === '*' && isFullStateType(type)) state.wildcard = true;
      else if (name !== '*') state.names.add(name);
    }
    for (const name of req.unsubscribe) {
      if (name === '*') state.wildcard = false;
      state.names.delete(name);
      state.clientVersions.delete(name);
    }
    state.status.subscribed = state.wildcard ? '*' : [...state.names].sort();
    if (req.responseNonce && req.responseNonce === state.lastNonce) {
      if (req.errorDetail) {
        state.status.nacked = { version: state.status.sentVersion ?? '', nonce: req.responseNonce, message: req.errorDetail.message };
        this.observer.nacked(this.proxyId, type, state.status.sentVersion ?? '', req.errorDetail.message);
        this.log('proxy rejected config (delta NACK); keeping it until the config changes', { type, error: req.errorDetail.message });
      } else {
        state.status.ackedVersion = state.status.sentVersion;
        state.status.lastAckAt = Date.now();
        state.status.nacked = undefined;
        this.observer.acked(this.proxyId, type, state.status.sentVersion ?? '', Date.now() - (state.status.lastSentAt ?? Date.now()));
      }
    }
    this.respond(type);
  }

  status(): TypeStatus[] {
    return PUSH_ORDER.filter((t) => this.types.has(t)).map((t) => ({ ...this.types.get(t)!.status }));
  }

  private inScope(state: DeltaTypeState, name: string): boolean {
    return state.wildcard || state.names.has(name);
  }

  private respond(type: ResourceType): void {
    const state = this.types.get(type);
    if (!state || !this.snapshot) return;
    const current = this.snapshot[type].resources;
    const send: EncodedResource[] = [];
    for (const [name, r] of [...current.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      if (this.inScope(state, name) && state.clientVersions.get(name) !== r.version) send.push(r);
    }
    const removed = [...state.clientVersions.keys()].filter((name) => !current.has(name) && this.inScope(state, name)).sort();
    state.status.reconciledVersion = this.snapshot[type].version;
    if (send.length === 0 && removed.length === 0) return;
    const nonce = String(++this.nonce);
    const version = this.snapshot[type].version;
    this.write(encodeDeltaResponse(this.snapshot[type].typeUrl, version, nonce, send, removed));
    for (const r of send) state.clientVersions.set(r.name, r.version);
    for (const name of removed) state.clientVersions.delete(name);
    state.lastNonce = nonce;
    state.status = { ...state.status, sentVersion: version, sentNonce: nonce, sentCount: send.length, lastSentAt: Date.now() };
    this.observer.sent(this.proxyId, type, version, send.length);
    if (type === 'clusters') this.rewarmEndpoints(send);
  }

  /** A changed cluster warms until it sees its endpoints again, even unchanged ones. */
  private rewarmEndpoints(changedClusters: readonly EncodedResource[]): void {
    const endpoints = this.types.get('endpoints');
    if (!endpoints) return;
    for (const c of changedClusters) endpoints.clientVersions.delete(c.name);
    this.respond('endpoints');
  }
}
