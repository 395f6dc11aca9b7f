// The xDS protocol rules meshlite follows, in one place.
import type { ResourceType } from '../xds/type-urls.js';

/** Push order: clusters before their endpoints, listeners before their routes; secrets last. */
export const PUSH_ORDER: readonly ResourceType[] = ['clusters', 'endpoints', 'listeners', 'routes', 'secrets'];

/** LDS and CDS are full-state and may be requested by wildcard; the others only by name. */
export function isFullStateType(type: ResourceType): boolean {
  return type === 'clusters' || type === 'listeners';
}

/**
 * A SotW request subscribes to everything when it names `*`, or when it is the
 * first request of a wildcard-capable type and names nothing. (grpc-js-xds
 * later sends an empty list to mean "nothing", so emptiness only counts first.)
 */
export function isWildcardSubscription(type: ResourceType, names: readonly string[], firstRequestForType: boolean): boolean {
  if (!isFullStateType(type)) return false;
  return names.includes('*') || (firstRequestForType && names.length === 0);
}

export type SotwRequestKind =
  /** First request for the type on this stream (or after a reconnect). */
  | { kind: 'initial' }
  /** Answers a response we sent: accepted. */
  | { kind: 'ack' }
  /** Answers a response we sent: rejected; the client keeps its previous version. */
  | { kind: 'nack'; message: string }
  /** Answers a response that is no longer the latest: ignore. */
  | { kind: 'stale' };

export function classifySotwRequest(
  lastNonce: string | undefined,
  responseNonce: string,
  errorDetail?: { message: string },
): SotwRequestKind {
  // A nonce when this stream never answered the type comes from an earlier
  // stream (a client reconnecting, as Istio allows for): a fresh subscription.
  if (!responseNonce || lastNonce === undefined) return { kind: 'initial' };
  if (responseNonce !== lastNonce) return { kind: 'stale' };
  return errorDetail ? { kind: 'nack', message: errorDetail.message } : { kind: 'ack' };
}

/**
 * After a cluster changes Envoy warms it until it receives a new EDS response,
 * even an unchanged one; so sending clusters forces the next endpoints reply.
 */
export function typesToRefreshAfter(type: ResourceType): ResourceType[] {
  return type === 'clusters' ? ['endpoints'] : [];
}
