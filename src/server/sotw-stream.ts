// One state-of-the-world ADS stream: tracks what the proxy subscribed to, what
// was sent and what it accepted, and answers from the snapshot cache.
import { contentDigest } from '../cache/content-cache.js';
import type { EncodedResource } from '../cache/snapshot.js';
import type { ResourceType } from '../xds/type-urls.js';
import { AdsStream } from './ads-stream.js';
import { encodeSotwResponse, type SotwRequest } from './discovery-codec.js';
import type { TypeStatus } from './stream-status.js';
import { classifySotwRequest, isFullStateType, isWildcardSubscription, typesToRefreshAfter } from './xds-protocol.js';

/** Stored statuses leave `subscribed` to status(), which derives it from the state. */
const NOT_READ: string[] = [];

interface TypeState {
  wildcard: boolean;
  names: Set<string>;
  /** `names` sorted, made when first needed after they changed. */
  sortedNames?: readonly string[];
  lastNonce?: string;
  /** Fingerprint of the content last sent; unchanged content is never resent, so a NACK is not answered with the same config. */
  sentFingerprint?: string;
  /** Bumped whenever the subscription changes. */
  subscription: number;
  /** The type version and subscription last reconciled: while both hold, there is nothing to look at again. */
  reconciled?: { version: string; subscription: number };
  /**
   * The version the client said it holds on its first request of this stream
   * (it reconnected, perhaps to another replica), until compared with a snapshot.
   */
  heldVersion?: string;
  /** The client answered our last response (or never got one): we may send. */
  ready: boolean;
  force: boolean;
  status: TypeStatus;
}

export class SotwStream extends AdsStream<TypeState> {
  onRequest(req: SotwRequest): void {
    const type = this.typeOf(req.typeUrl);
    if (!type) return;
    let state = this.types.get(type);
    const first = state === undefined;
    const kind = classifySotwRequest(state?.lastNonce, req.responseNonce, req.errorDetail);
    if (kind.kind === 'stale') return;
    state ??= this.newState(type);
    if (first && req.versionInfo !== '') state.heldVersion = req.versionInfo;
    if (kind.kind === 'ack') {
      state.status.ackedVersion = req.versionInfo;
      state.status.lastAckAt = Date.now();
      state.status.nacked = undefined;
      this.observer.acked(this.proxyId, type, req.versionInfo, Date.now() - (state.status.lastSentAt ?? Date.now()));
    } else if (kind.kind === 'nack') {
      state.status.nacked = { version: state.status.sentVersion ?? '', nonce: req.responseNonce, message: kind.message };
      this.observer.nacked(this.proxyId, type, state.status.sentVersion ?? '', kind.message);
      this.log('proxy rejected config (NACK); keeping it until the config changes', {
        type,
        version: state.status.sentVersion,
        error: kind.message,
      });
    }
    const wildcard =
      isWildcardSubscription(type, req.resourceNames, first) || (state.wildcard && req.resourceNames.length === 0 && isFullStateType(type));
    // An ACK names what the stream already subscribes to: checked in place, with no new set made.
    if (!namesAre(req.resourceNames, state.names)) {
      const names = new Set(req.resourceNames.filter((n) => n !== '*').map((n) => this.internName(type, n)));
      if (!sameSet(names, state.names)) {
        state.names = names;
        state.sortedNames = undefined;
        state.subscription++;
      }
    }
    if (wildcard !== state.wildcard) state.subscription++;
    state.wildcard = wildcard;
    state.ready = true;
    this.respond(type);
  }

  private newState(type: ResourceType): TypeState {
    const state: TypeState = {
      wildcard: false,
      names: new Set(),
      ready: false,
      force: false,
      subscription: 0,
      status: { type, subscribed: NOT_READ, sentCount: 0 },
    };
    this.types.set(type, state);
    return state;
  }

  private selected(type: ResourceType, state: TypeState): EncodedResource[] {
    const all = this.snapshot![type].resources;
    if (state.wildcard) return [...all.values()];
    const out: EncodedResource[] = [];
    for (const name of sortedNames(state)) {
      const r = all.get(name);
      if (r) out.push(r);
    }
    return out;
  }

  /** Wildcard, or names exactly the type's resources (a named type's set is what the proxy's other resources reference). */
  private asksForAll(type: ResourceType, state: TypeState): boolean {
    if (state.wildcard) return true;
    const all = this.snapshot![type].resources;
    return all.size === state.names.size && [...state.names].every((n) => all.has(n));
  }

  protected respond(type: ResourceType): void {
    const state = this.types.get(type);
    if (!state?.ready || !this.snapshot) return;
    const version = this.snapshot[type].version;
    // Same content, same subscription, already sent: an ACK or another type's change costs no scan of this type's resources.
    const seen = state.reconciled;
    if (!state.force && seen?.version === version && seen.subscription === state.subscription && state.sentFingerprint !== undefined)
      return;
    const resources = this.selected(type, state);
    const fingerprint = fingerprintOf(resources, state);
    const neverSent = state.sentFingerprint === undefined;
    // Named types answer only once something they asked for exists; Envoy waits meanwhile.
    if (neverSent && resources.length === 0 && !isFullStateType(type)) {
      state.status.reconciledVersion = version;
      return;
    }
    const held = state.heldVersion;
    state.heldVersion = undefined;
    // Versions are derived from content: a proxy that reconnects (perhaps to another
    // replica) holding this version holds these resources, if it asks for all of them.
    if (neverSent && held === version && this.asksForAll(type, state)) {
      state.sentFingerprint = fingerprint;
      state.status = {
        ...state.status,
        sentVersion: version,
        ackedVersion: version,
        reconciledVersion: version,
        sentCount: resources.length,
      };
      return;
    }
    const changed = fingerprint !== state.sentFingerprint;
    state.status.reconciledVersion = version;
    state.reconciled = { version, subscription: state.subscription };
    if (!changed && !state.force && !neverSent) return;
    const nonce = this.nextNonce();
    const typeUrl = this.snapshot[type].typeUrl;
    this.write(() => encodeSotwResponse(typeUrl, version, nonce, resources));
    state.lastNonce = nonce;
    state.sentFingerprint = fingerprint;
    state.ready = false;
    state.force = false;
    state.status = { ...state.status, sentVersion: version, sentNonce: nonce, sentCount: resources.length, lastSentAt: Date.now() };
    this.observer.sent(this.proxyId, type, version, resources.length);
    if (changed) {
      for (const next of typesToRefreshAfter(type)) {
        const dependent = this.types.get(next);
        if (!dependent) continue;
        dependent.force = true;
        this.respond(next);
      }
    }
  }
}

/** Whether `requested` (with any `*`) names exactly the names of `current`. */
function namesAre(requested: readonly string[], current: ReadonlySet<string>): boolean {
  let count = 0;
  for (const name of requested) {
    if (name === '*') continue;
    if (!current.has(name)) return false;
    count++;
  }
  // A name listed twice counts twice: then the sizes differ and the set is made the long way.
  return count === current.size;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function fingerprintOf(resources: readonly EncodedResource[], state: TypeState): string {
  const parts = [state.wildcard ? '*' : sortedNames(state).join(',')];
  for (const r of resources) parts.push(`${r.name}\u0000${r.version}`);
  return contentDigest(parts.join('\n'));
}

function sortedNames(state: TypeState): readonly string[] {
  state.sortedNames ??= [...state.names].sort();
  return state.sortedNames;
}
