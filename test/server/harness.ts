// An AdsServer on a real 127.0.0.1 socket over a SnapshotCache the test
// drives, plus snapshots translated from small meshes for one proxy.
import * as grpc from '@grpc/grpc-js';
import { buildSnapshot, type ProxySnapshot } from '../../src/cache/snapshot.js';
import { SnapshotCache } from '../../src/cache/snapshot-cache.js';
import { AdsServer, type StreamAuthenticator } from '../../src/server/ads-server.js';
import type { Logger } from '../../src/util/logger.js';
import type { StreamObserver, TypeStatus } from '../../src/server/stream-status.js';
import type { JsonObject } from '../../src/xds/common.js';
import { translate } from '../../src/translate/translator.js';
import type { ResourceType } from '../../src/xds/type-urls.js';
import { destinationRule, type Document, meshOf, mtlsPolicy, serviceEntry, workloadEntry } from '../support/fixtures/index.js';
import { DeltaClient, eventually, SotwClient } from './xds-client.js';

export const PROXY = 'httpbin.bar';
export const HTTPBIN = 'outbound|8000||httpbin.bar.svc.cluster.local';
export const ECHO = 'outbound|9000||echo.bar.svc.cluster.local';
export const INBOUND = 'inbound|80||';

export const SILENT_LOGGER: Logger = { info() {}, warn() {}, debug() {} };

export interface ObservedEvent {
  kind: 'sent' | 'acked' | 'nacked';
  proxy: string;
  type: ResourceType;
  version: string;
  message?: string;
}

/** Trusts the node id (the protocol tests are not about authentication). */
export const TRUST_NODE: StreamAuthenticator = {
  async authenticate(_md, node) {
    return { ok: true, proxyId: node.id };
  },
};

export interface Harness {
  port: number;
  cache: SnapshotCache;
  server: AdsServer;
  events: ObservedEvent[];
  client: grpc.Client;
  sotw(): SotwClient;
  delta(): DeltaClient;
  /** The single open stream's status of one type. */
  status(type: ResourceType): TypeStatus | undefined;
  close(): Promise<void>;
}

export async function startHarness(authenticator: StreamAuthenticator = TRUST_NODE): Promise<Harness> {
  const cache = new SnapshotCache();
  const events: ObservedEvent[] = [];
  const observer: StreamObserver = {
    sent: (proxy, type, version) => events.push({ kind: 'sent', proxy, type, version }),
    acked: (proxy, type, version) => events.push({ kind: 'acked', proxy, type, version }),
    nacked: (proxy, type, version, message) => events.push({ kind: 'nacked', proxy, type, version, message }),
  };
  const server = new AdsServer({ cache, authenticator, logger: SILENT_LOGGER, observer });
  const port = await server.listen('127.0.0.1:0');
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const streams: { close(): void }[] = [];
  return {
    port,
    cache,
    server,
    events,
    client,
    sotw() {
      const s = new SotwClient(client);
      streams.push(s);
      return s;
    },
    delta() {
      const s = new DeltaClient(client);
      streams.push(s);
      return s;
    },
    status(type) {
      const conns = server.listConnections();
      if (conns.length !== 1) throw new Error(`expected one open stream, found ${conns.length}`);
      return conns[0]!.status().find((s) => s.type === type);
    },
    async close() {
      for (const s of streams) s.close();
      client.close();
      await server.shutdown(500);
    },
  };
}

/** Runs `body` against a fresh harness, always closing it. */
export async function withHarness(body: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startHarness();
  try {
    await body(h);
  } finally {
    await h.close();
  }
}

// --- Snapshots of httpbin.bar, translated from real meshes -------------------

const WORKLOADS = [workloadEntry('bar/httpbin', { address: '127.0.2.1' }), workloadEntry('foo/sleep', { address: '127.0.1.2' })];
const HTTPBIN_SE = serviceEntry('bar/httpbin');
const ECHO_DOCS = [
  serviceEntry('bar/echo', { ports: [{ name: 'http', number: 9000, protocol: 'HTTP', targetPort: 90 }] }),
  workloadEntry('bar/echo', { address: '127.0.2.5' }),
];

export const MESH = {
  /** No services: the proxy has no resources at all. */
  empty: WORKLOADS,
  /** httpbin only. */
  a: [HTTPBIN_SE, ...WORKLOADS],
  /** + echo: a new cluster, endpoints and routes; httpbin's own resources unchanged. */
  d: [HTTPBIN_SE, ...WORKLOADS, ...ECHO_DOCS],
  /** + echo + plaintext bar: clusters, endpoints, listeners and routes all change. */
  b: [HTTPBIN_SE, ...WORKLOADS, ...ECHO_DOCS, mtlsPolicy('bar/default', 'DISABLE')],
  /** A DestinationRule: only the httpbin cluster changes. */
  c: [
    HTTPBIN_SE,
    ...WORKLOADS,
    destinationRule('bar/plain', { host: 'httpbin.bar.svc.cluster.local', trafficPolicy: { tls: { mode: 'DISABLE' } } }),
  ],
} as const;

export function secrets(generation: number): JsonObject[] {
  return [
    { name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: `root-${generation}` } } },
    {
      name: 'default',
      tls_certificate: { certificate_chain: { inline_string: `chain-${generation}` }, private_key: { inline_string: `key-${generation}` } },
    },
  ];
}

export function snapshotOf(docs: readonly Document[], secretGeneration?: number, proxy = PROXY): ProxySnapshot {
  const r = translate(meshOf(docs), proxy);
  if (!r.ok) throw new Error(r.error);
  return buildSnapshot(r.resources, secretGeneration === undefined ? [] : secrets(secretGeneration));
}

/** Names of one type in a snapshot, sorted. */
export function namesOf(snapshot: ProxySnapshot, type: ResourceType): string[] {
  return [...snapshot[type].resources.keys()].sort();
}

/** name -> version of one type in a snapshot. */
export function versionsOf(snapshot: ProxySnapshot, type: ResourceType): Record<string, string> {
  return Object.fromEntries([...snapshot[type].resources.entries()].map(([n, r]) => [n, r.version]));
}

export const NODE = { id: PROXY, cluster: PROXY };

/** Sends an ACK (or any answer) and waits until the server recorded one more ACK of that type. */
export async function answerAndAwaitAck(h: Harness, type: ResourceType, send: () => void): Promise<void> {
  const count = () => h.events.filter((e) => e.kind === 'acked' && e.type === type).length;
  const before = count();
  send();
  await eventually(`the ${type} ACK is recorded`, () => count() > before);
}
