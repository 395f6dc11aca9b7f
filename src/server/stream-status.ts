// What one stream knows about one xDS type, for /debug/syncz and metrics.
import type { ResourceType } from '../xds/type-urls.js';

export interface TypeStatus {
  type: ResourceType;
  subscribed: string[] | '*';
  sentVersion?: string;
  sentNonce?: string;
  sentCount: number;
  ackedVersion?: string;
  nacked?: { version: string; nonce: string; message: string };
  lastSentAt?: number;
  lastAckAt?: number;
  /** The snapshot version the stream last reconciled against (sent or found nothing to send). */
  reconciledVersion?: string;
}

export interface StreamObserver {
  sent(proxyId: string, type: ResourceType, version: string, resources: number): void;
  acked(proxyId: string, type: ResourceType, version: string, latencyMs: number): void;
  nacked(proxyId: string, type: ResourceType, version: string, message: string): void;
}

export const NO_OBSERVER: StreamObserver = { sent() {}, acked() {}, nacked() {} };
