// One incremental (delta) ADS stream: the client says what it subscribes to and
// which versions it already holds; we send only what differs and name what was
// removed. Subscription changes count even on a stale nonce.
import type { EncodedResource } from '../cache/snapshot.js';
import type { ResourceType } from '../xds/type-urls.js';
import { AdsStream } from './ads-stream.js';
import { type DeltaRequest, encodeDeltaResponse } from './discovery-codec.js';
import type { TypeStatus } from './stream-status.js';
import { isFullStateType } from './xds-protocol.js';

/** Stored statuses leave `subscribed` to status(), which derives it from the state. */
const NOT_READ: string[] = [];

interface DeltaTypeState {
  wildcard: boolean;
  names: Set<string>;
  /** What the client holds, by name: version. */
  clientVersions: Map<string, string>;
  lastNonce?: string;
  /** Bumped whenever the subscription or clientVersions change other than by what we sent. */
  epoch: number;
  /** The type version and epoch last reconciled: while both hold, the client has everything in scope. */
  reconciled?: { version: string; epoch: number };
  status: TypeStatus;
}

export class DeltaStream extends AdsStream<DeltaTypeState> {
  onRequest(req: DeltaRequest): void {
    const type = this.typeOf(req.typeUrl);
    if (!type) return;
    let state = this.types.get(type);
    if (!state) {
      state = {
        wildcard: false,
        names: new Set(),
        clientVersions: new Map(Object.entries(req.initialResourceVersions)),
        epoch: 0,
        status: { type, subscribed: NOT_READ, sentCount: 0 },
      };
      this.types.set(type, state);
      // Legacy wildcard: the first request of a full-state type that names nothing.
      if (isFullStateType(type) && req.subscribe.length === 0) state.wildcard = true;
    }
    if (req.subscribe.length > 0 || req.unsubscribe.length > 0) state.epoch++;
    for (const name of req.subscribe) {
      if (name === '*' && isFullStateType(type)) state.wildcard = true;
      else if (name !== '*') state.names.add(this.internName(type, name));
    }
    for (const name of req.unsubscribe) {
      if (name === '*') state.wildcard = false;
      state.names.delete(name);
      state.clientVersions.delete(name);
    }
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

  private inScope(state: DeltaTypeState, name: string): boolean {
    return state.wildcard || state.names.has(name);
  }

  protected respond(type: ResourceType): void {
    const state = this.types.get(type);
    if (!state || !this.snapshot) return;
    const version = this.snapshot[type].version;
    // Nothing in scope or in the snapshot changed since the last reconcile: an ACK costs no scan of the type.
    if (state.reconciled?.version === version && state.reconciled.epoch === state.epoch) return;
    const current = this.snapshot[type].resources;
    const send: EncodedResource[] = [];
    for (const [name, r] of [...current.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      if (this.inScope(state, name) && state.clientVersions.get(name) !== r.version) send.push(r);
    }
    const removed = [...state.clientVersions.keys()].filter((name) => !current.has(name) && this.inScope(state, name)).sort();
    state.status.reconciledVersion = version;
    state.reconciled = { version, epoch: state.epoch };
    if (send.length === 0 && removed.length === 0) return;
    const nonce = this.nextNonce();
    const typeUrl = this.snapshot[type].typeUrl;
    this.write(() => encodeDeltaResponse(typeUrl, version, nonce, send, removed));
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
    if (changedClusters.length > 0) endpoints.epoch++;
    this.respond('endpoints');
  }
}
