// A proxy's snapshot: every resource it should hold, per xDS type, already
// validated and encoded through the real Envoy protos, with content-hash
// versions so identical config always carries identical versions.
import { createHash } from 'node:crypto';
import { ContentCache, contentDigest } from './content-cache.js';
import { type AnyEncodings, type AnyParts, jsonToBinary, type Json } from '../proto/proto-json.js';
import { classListenerOf } from '../xds/class-listener.js';
import { asJson, type JsonObject } from '../xds/common.js';
import type { Secret } from '../xds/envoy-types/index.js';
import type { ProxyResources } from '../xds/proxy-resources.js';
import { type EnvoyResource, RESOURCE_TYPES, type ResourceOf, type ResourceType, TYPE_URL_OF } from '../xds/type-urls.js';

export interface EncodedResource {
  name: string;
  /** Content hash of the encoded bytes. */
  version: string;
  value: Uint8Array;
  /** The resource as JSON: the latest object with this content (see SnapshotEncoder.encodeResource). */
  json: JsonObject;
}

export interface TypeSnapshot {
  typeUrl: string;
  /** Hash over every (name, version) pair: changes exactly when the set changes. */
  version: string;
  resources: ReadonlyMap<string, EncodedResource>;
}

export type ProxySnapshot = { readonly [T in ResourceType]: TypeSnapshot };

const TYPE_NAME_OF: Readonly<Record<ResourceType, string>> = Object.fromEntries(
  RESOURCE_TYPES.map((t) => [t, TYPE_URL_OF[t].slice('type.googleapis.com/'.length)]),
) as Record<ResourceType, string>;

export const RESOURCE_TYPE_OF_URL: ReadonlyMap<string, ResourceType> = new Map(RESOURCE_TYPES.map((t) => [TYPE_URL_OF[t], t]));

function hash(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

/**
 * Encodes resources into snapshots and owns the caches that make that cheap.
 * Resources are immutable once built and proxies share them (a namespace's
 * outbound clusters are one array for all its proxies), so an encoding is
 * kept per resource object and a type snapshot per shared array, weakly.
 * Behind those, encodings and type snapshots are found by their content, so
 * they survive a reload that rebuilds equal resources: each distinct resource
 * is encoded once and its bytes are shared by every proxy and model that has
 * it. The control plane keeps one encoder for its lifetime and marks/sweeps
 * its content caches around each full refresh (startRound/endRound).
 */
export class SnapshotEncoder {
  private readonly encoded = new WeakMap<EnvoyResource, EncodedResource>();
  private readonly typeSnapshots = new WeakMap<readonly EnvoyResource[], TypeSnapshot>();
  private readonly encodedByContent = new ContentCache<EncodedResource>();
  private readonly typesByContent = new ContentCache<TypeSnapshot>();
  /** Typed configs (TLS contexts, HCMs, RBAC) shared by resources that differ elsewhere, such as each proxy's inbound listener. */
  private readonly anysByContent = new ContentCache<AnyParts>();
  /** Keyed by the JSON text itself: typed configs are few and short, and a digest per lookup would cost more than the map's own string hash. */
  private readonly anyEncodings: AnyEncodings = this.anysByContent;
  /** Each encoding's full content key: a type's set is keyed by these, not by the shorter versions. */
  private readonly contentKeys = new WeakMap<EncodedResource, string>();
  /** Per class listener: the encoding of every field but name and address, and the digest of their text. */
  private readonly listenerBodies = new WeakMap<object, { bytes: Uint8Array; digest: string }>();
  /**
   * Short lists (a proxy's own clusters and listeners, its routes, its
   * secrets) are new arrays on every rebuild but mostly hold encodings seen
   * before, in the same order: their type snapshot is found by walking those
   * encodings, with no hashing. Weak all the way: an encoding that goes takes
   * its branches with it.
   */
  private readonly shortLists = new Map<ResourceType, ListNode>();
  /** A shared type snapshot plus a proxy's own: one layered snapshot per pair. */
  private readonly layered = new WeakMap<TypeSnapshot, WeakMap<TypeSnapshot, TypeSnapshot>>();

  /** From now on, content lookups count as use (call before refreshing every proxy). */
  startRound(): void {
    this.encodedByContent.mark();
    this.typesByContent.mark();
    this.anysByContent.mark();
  }

  /** Drops the encodings and type snapshots not used since startRound(). */
  endRound(): void {
    this.encodedByContent.sweep();
    this.typesByContent.sweep();
    this.anysByContent.sweep();
  }

  /** Distinct encodings and type snapshots held, and how many lookups found one (tests, benchmarks). */
  contentStats(): { resources: number; types: number; anys: number; hits: number; misses: number } {
    const r = this.encodedByContent;
    return { resources: r.size, types: this.typesByContent.size, anys: this.anysByContent.size, hits: r.hits, misses: r.misses };
  }

  encodeResource(type: ResourceType, resource: EnvoyResource): EncodedResource {
    const cached = this.encoded.get(resource);
    if (cached) return cached;
    const json = asJson(resource);
    const classListener = type === 'listeners' ? classListenerOf(resource) : undefined;
    const body = classListener && this.listenerBody(classListener);
    const head = body && { name: json.name, address: json.address };
    // The canonical text is what the encoding is a function of; stringifying and hashing it costs a fraction of the encode.
    const text = body ? `${body.digest}\u0000${JSON.stringify(head)}` : JSON.stringify(json);
    const key = `${type}${body ? '\u0000class' : ''}\u0000${contentDigest(text)}`;
    let encodedResource = this.encodedByContent.get(key);
    if (encodedResource) {
      // Equal content: the older object can go with its model.
      encodedResource.json = json;
    } else {
      const name = String(type === 'endpoints' ? json.cluster_name : json.name);
      const value = body
        ? concatenated(jsonToBinary(TYPE_NAME_OF.listeners, head as Json, this.anyEncodings), body.bytes)
        : jsonToBinary(TYPE_NAME_OF[type], json as Json, this.anyEncodings);
      encodedResource = { name, version: hash(value), value, json };
      this.encodedByContent.set(key, encodedResource);
      this.contentKeys.set(encodedResource, key);
    }
    this.encoded.set(resource, encodedResource);
    return encodedResource;
  }

  /** A class listener's fields but name and address (Listener fields 1 and 2), encoded once per class listener object. */
  private listenerBody(classListener: object): { bytes: Uint8Array; digest: string } {
    let body = this.listenerBodies.get(classListener);
    if (!body) {
      const { name: _name, address: _address, ...rest } = asJson(classListener);
      body = { bytes: jsonToBinary(TYPE_NAME_OF.listeners, rest as Json, this.anyEncodings), digest: contentDigest(JSON.stringify(rest)) };
      this.listenerBodies.set(classListener, body);
    }
    return body;
  }

  /** Arrays shared by many proxies (a namespace's endpoints and routes) are versioned once. */
  typeSnapshot<T extends ResourceType>(type: T, jsons: readonly ResourceOf[T][]): TypeSnapshot {
    const cached = this.typeSnapshots.get(jsons);
    if (cached && cached.typeUrl === TYPE_URL_OF[type]) return cached;
    const snapshot = this.listTypeSnapshot(type, jsons);
    this.typeSnapshots.set(jsons, snapshot);
    return snapshot;
  }

  /** A shared type snapshot plus a proxy's own few resources, without copying the shared map. */
  layeredTypeSnapshot<T extends ResourceType>(type: T, shared: readonly ResourceOf[T][], own: readonly ResourceOf[T][]): TypeSnapshot {
    const base = this.typeSnapshot(type, shared);
    if (own.length === 0) return base;
    const extra = this.listTypeSnapshot(type, own);
    let byExtra = this.layered.get(base);
    if (!byExtra) this.layered.set(base, (byExtra = new WeakMap()));
    const known = byExtra.get(extra);
    if (known) return known;
    for (const name of extra.resources.keys()) {
      if (base.resources.has(name)) throw new Error(`${type} "${name}" is both shared and proxy-specific`);
    }
    const snapshot = {
      typeUrl: base.typeUrl,
      version: hash(`${base.version}+${extra.version}`),
      resources: new LayeredMap(base.resources, extra.resources),
    };
    byExtra.set(extra, snapshot);
    return snapshot;
  }

  /** A list's type snapshot: a short list's found by its encodings (see shortLists), any other's computed. */
  private listTypeSnapshot(type: ResourceType, jsons: readonly EnvoyResource[]): TypeSnapshot {
    if (jsons.length > SHORT_LIST) return this.computeTypeSnapshot(type, jsons);
    let node: ListNode | undefined = this.shortLists.get(type);
    if (!node) this.shortLists.set(type, (node = { next: new WeakMap() }));
    for (const json of jsons) {
      const encoded = this.encodeResource(type, json);
      let next: ListNode | undefined = node.next.get(encoded);
      if (!next) node.next.set(encoded, (next = { next: new WeakMap() }));
      node = next;
    }
    node.snapshot ??= this.computeTypeSnapshot(type, jsons);
    return node.snapshot;
  }

  /**
   * Encodes (and caches) every resource a snapshot of `resources` needs, pausing
   * whenever `pause` says so: the first proxy of a namespace brings thousands of
   * shared resources that are new, and encoding them in one go would stall the
   * event loop for hundreds of milliseconds. build() then finds them cached.
   */
  async encodeInSlices(resources: ProxyResources, secrets: readonly Secret[], pause: () => Promise<void> | undefined): Promise<void> {
    for (const [type, jsons] of resourceLists(resources, secrets)) {
      if (this.typeSnapshots.has(jsons)) continue;
      for (const json of jsons) {
        if (this.encoded.has(json)) continue;
        this.encodeResource(type, json);
        const wait = pause();
        if (wait) await wait;
      }
    }
  }

  build(resources: ProxyResources, secrets: readonly Secret[]): ProxySnapshot {
    const layers = resources.layers;
    return {
      clusters: layers
        ? this.layeredTypeSnapshot('clusters', layers.clusters.shared, layers.clusters.own)
        : this.typeSnapshot('clusters', resources.clusters),
      endpoints: this.typeSnapshot('endpoints', resources.endpoints),
      listeners: layers
        ? this.layeredTypeSnapshot('listeners', layers.listeners.shared, layers.listeners.own)
        : this.typeSnapshot('listeners', resources.listeners),
      routes: this.typeSnapshot('routes', resources.routes),
      secrets: this.typeSnapshot('secrets', secrets),
    };
  }

  private computeTypeSnapshot(type: ResourceType, jsons: readonly EnvoyResource[]): TypeSnapshot {
    const resources = new Map<string, EncodedResource>();
    for (const json of jsons) {
      const r = this.encodeResource(type, json);
      resources.set(r.name, r);
    }
    const names = [...resources.keys()].sort();
    const version = hash(names.map((n) => `${n}\u0000${resources.get(n)!.version}`).join('\n'));
    // The same set as before (a reload that left the type alone): the same snapshot object, so streams compare it at a glance.
    const key = `${type}\u0000${contentDigest(names.map((n) => this.contentKeys.get(resources.get(n)!)).join('\n'))}`;
    const known = this.typesByContent.get(key);
    if (known) return known;
    const snapshot = { typeUrl: TYPE_URL_OF[type], version, resources };
    this.typesByContent.set(key, snapshot);
    return snapshot;
  }
}

/** Lists up to this long are looked up by their encodings (SnapshotEncoder.shortLists). */
const SHORT_LIST = 16;

interface ListNode {
  snapshot?: TypeSnapshot;
  next: WeakMap<EncodedResource, ListNode>;
}

/** Two encodings of one message type written one after the other: one message with the fields of both. */
function concatenated(head: Uint8Array, body: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafeSlow(head.byteLength + body.byteLength);
  out.set(head, 0);
  out.set(body, head.byteLength);
  return out;
}

/** A snapshot with caches of its own (tests, benchmarks, one-off dumps). */
export function buildSnapshot(resources: ProxyResources, secrets: readonly Secret[]): ProxySnapshot {
  return new SnapshotEncoder().build(resources, secrets);
}

type ResourceList = [ResourceType, readonly EnvoyResource[]];

/** Every list a snapshot is made of, the shared layers apart from the proxy's own. */
function resourceLists(resources: ProxyResources, secrets: readonly Secret[]): ResourceList[] {
  const layers = resources.layers;
  const layered: ResourceList[] = layers
    ? [
        ['clusters', layers.clusters.shared],
        ['clusters', layers.clusters.own],
        ['listeners', layers.listeners.shared],
        ['listeners', layers.listeners.own],
      ]
    : [
        ['clusters', resources.clusters],
        ['listeners', resources.listeners],
      ];
  return [...layered, ['endpoints', resources.endpoints], ['routes', resources.routes], ['secrets', secrets]];
}

/** Read-only union of two disjoint maps. */
class LayeredMap<V> implements ReadonlyMap<string, V> {
  constructor(
    private readonly base: ReadonlyMap<string, V>,
    private readonly top: ReadonlyMap<string, V>,
  ) {}
  get size(): number {
    return this.base.size + this.top.size;
  }
  get(key: string): V | undefined {
    return this.top.get(key) ?? this.base.get(key);
  }
  has(key: string): boolean {
    return this.top.has(key) || this.base.has(key);
  }
  *entries(): MapIterator<[string, V]> {
    yield* this.base.entries();
    yield* this.top.entries();
  }
  *keys(): MapIterator<string> {
    yield* this.base.keys();
    yield* this.top.keys();
  }
  *values(): MapIterator<V> {
    yield* this.base.values();
    yield* this.top.values();
  }
  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }
  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
}

/** Types whose version differs between two snapshots. */
export function changedTypes(before: ProxySnapshot | undefined, after: ProxySnapshot): ResourceType[] {
  return RESOURCE_TYPES.filter((t) => before?.[t].version !== after[t].version);
}
