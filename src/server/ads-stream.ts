// What every ADS stream kind shares: the proxy it serves, per-type state, the
// current snapshot, nonces, and answering a new snapshot in push order.
import { type ProxySnapshot, RESOURCE_TYPE_OF_URL } from '../cache/snapshot.js';
import type { ResourceType } from '../xds/type-urls.js';
import type { StreamObserver, TypeStatus } from './stream-status.js';
import { PUSH_ORDER } from './xds-protocol.js';

export type StreamLog = (msg: string, extra?: Record<string, unknown>) => void;
/** Sends one response; `encode` may run later (when the server has room for it), never after the stream closed. */
export type StreamWrite = (encode: () => Uint8Array) => void;

export abstract class AdsStream<State extends { status: TypeStatus; wildcard: boolean; names: Set<string> }> {
  protected readonly types = new Map<ResourceType, State>();
  protected snapshot: ProxySnapshot | undefined;
  private nonce = 0;

  constructor(
    readonly proxyId: string,
    protected readonly write: StreamWrite,
    protected readonly observer: StreamObserver,
    protected readonly log: StreamLog,
  ) {}

  /** A new snapshot from the cache: answer every type whose content changed, in push order. */
  onSnapshot(snapshot: ProxySnapshot): void {
    this.snapshot = snapshot;
    for (const type of PUSH_ORDER) this.respond(type);
  }

  /** What each type's stream state says; the sorted subscription is only built when someone reads it (admin views). */
  status(): TypeStatus[] {
    return PUSH_ORDER.filter((t) => this.types.has(t)).map((t) => {
      const state = this.types.get(t)!;
      return {
        ...state.status,
        get subscribed(): string[] | '*' {
          return state.wildcard ? '*' : [...state.names].sort();
        },
      };
    });
  }

  /**
   * A subscribed name as the snapshot's own string when it has the resource:
   * every stream decodes its own copy of each name it asks for, and a
   * thousand proxies asking for the same clusters would keep a thousand copies.
   */
  protected internName(type: ResourceType, name: string): string {
    return this.snapshot?.[type].resources.get(name)?.name ?? name;
  }

  protected abstract respond(type: ResourceType): void;

  protected nextNonce(): string {
    return String(++this.nonce);
  }

  /** The resource type of a request, or undefined (logged) for types meshlite does not serve. */
  protected typeOf(typeUrl: string): ResourceType | undefined {
    const type = RESOURCE_TYPE_OF_URL.get(typeUrl);
    if (!type) this.log('ignoring request for an unsupported type', { typeUrl });
    return type;
  }
}
