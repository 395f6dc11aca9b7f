// Messages between the push benchmark (bench/push.ts) and its client worker
// processes (bench/push-client.ts), and the clock they share.
import type { MtlsMode } from './push-config.js';

/**
 * Wall-clock milliseconds with sub-millisecond resolution: timeOrigin is the
 * process start on the host clock, so values compare across processes.
 */
export function clock(): number {
  return performance.timeOrigin + performance.now();
}

export const XDS_TYPES = ['clusters', 'endpoints', 'listeners', 'routes', 'secrets'] as const;
export type XdsType = (typeof XDS_TYPES)[number];
export type TypeCounts = Record<XdsType, number>;

export interface WorkerInit {
  cmd: 'init';
  worker: number;
  adsAddress: string;
  rootPem: string;
  clients: { id: string; token: string }[];
  streamsPerChannel: number;
  /** Cross-check the hand-rolled parsing of the first client against the full proto decoder. */
  selfCheck: boolean;
}

export type ToWorker =
  | WorkerInit
  | { cmd: 'connect' }
  /** Answer once every client has ACKed an LDS response whose listeners are in `mode`. */
  | { cmd: 'await-mode'; seq: number; mode: MtlsMode }
  | { cmd: 'stats'; seq: number }
  /** Soak: close and reopen `perSecond` random open streams every second, like Envoys restarting (0 stops). */
  | { cmd: 'churn'; perSecond: number }
  | { cmd: 'stop' };

export interface ClientSync {
  id: string;
  /** When the stream was opened, got its first response, and had ACKed a full config of every type. */
  openedAt: number;
  firstResponseAt: number;
  syncedAt: number;
}

export interface WorkerStats {
  /** Responses received (each ACKed or answered) per type, cumulative. */
  responses: TypeCounts;
  responseBytes: number;
  /** Latest ACK of any type by any client. */
  lastAckAt: number;
  openStreams: number;
  /** Streams that failed (and were reopened). */
  errors: number;
  /** Streams this worker closed and reopened on purpose (churn). */
  reconnects: number;
  cpu: NodeJS.CpuUsage;
  rssBytes: number;
  heapUsedBytes: number;
}

export type FromWorker =
  | { evt: 'ready'; worker: number; channels: number }
  | { evt: 'synced'; worker: number; clients: ClientSync[] }
  /** Per client, when it ACKed the first LDS response in the awaited mode (and when that response arrived). */
  | { evt: 'mode'; worker: number; seq: number; ackAt: number[]; stats: WorkerStats }
  | { evt: 'stats'; worker: number; seq: number; stats: WorkerStats }
  /** A stream failed (the client reconnects after a second, like Envoy). */
  | { evt: 'error'; worker: number; client: string; message: string }
  | { evt: 'check'; worker: number; ok: boolean; message: string };
