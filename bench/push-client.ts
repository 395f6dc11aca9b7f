// A worker process of the push benchmark: many simulated Envoys, each one ADS
// stream (SotW) over TLS with its own bearer token, behaving like Envoy does:
// wildcard CDS + LDS, EDS for the EDS clusters of every CDS response, RDS
// `http_proxy` and SDS `default` + `ROOTCA` after the first LDS response, and
// an ACK (same version, nonce) for every response. Forked by bench/push.ts.
import * as grpc from '@grpc/grpc-js';
import { binaryToJson } from '../src/proto/proto-json.js';
import { ADS_SERVICE_DEFINITION } from '../src/server/ads-server.js';
import { clientCodec } from '../test/support/client-codec.js';
import { TYPE_URL_OF } from '../src/xds/type-urls.js';
import type { MtlsMode } from './push-config.js';
import {
  clock,
  type FromWorker,
  type ToWorker,
  type TypeCounts,
  type WorkerInit,
  type WorkerStats,
  XDS_TYPES,
  type XdsType,
} from './push-protocol.js';

const TYPE_OF_URL = new Map<string, XdsType>(XDS_TYPES.map((t) => [TYPE_URL_OF[t], t]));
/** Only PERMISSIVE (and DISABLE) inbound listeners have a plaintext filter chain, `inbound|<port>|plaintext`. */
const PLAINTEXT_CHAIN = Buffer.from('|plaintext');
const ROUTES = ['http_proxy'];
const SECRETS = ['ROOTCA', 'default'];

type Resource = { typeUrl: string; value: Uint8Array };
type Duplex = grpc.ClientDuplexStream<Uint8Array, Buffer>;

function send(msg: FromWorker): void {
  process.send!(msg);
}

// ---- just enough protobuf wire format to read a Cluster's name and discovery type ----

function varint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (;;) {
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, pos];
    scale *= 128;
  }
}

/** Top-level fields only: name (1, string) and type (2, enum DiscoveryType; EDS = 3). */
function clusterHead(buf: Uint8Array): { name: string; eds: boolean } {
  let pos = 0;
  let name = '';
  let eds = false;
  while (pos < buf.length) {
    const [key, afterKey] = varint(buf, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    pos = afterKey;
    if (wire === 0) {
      const [v, next] = varint(buf, pos);
      if (field === 2) eds = v === 3;
      pos = next;
    } else if (wire === 2) {
      const [len, start] = varint(buf, pos);
      if (field === 1) name = Buffer.from(buf.buffer, buf.byteOffset + start, len).toString('utf8');
      pos = start + len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`unexpected wire type ${wire} in a Cluster`);
  }
  return { name, eds };
}

function edsClusterNames(resources: readonly Resource[]): string[] {
  const names: string[] = [];
  for (const r of resources) {
    const head = clusterHead(r.value);
    if (head.eds) names.push(head.name);
  }
  return names.sort();
}

function listenerMode(resources: readonly Resource[]): MtlsMode {
  for (const r of resources)
    if (Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength).includes(PLAINTEXT_CHAIN)) return 'PERMISSIVE';
  return 'STRICT';
}

/** The same answers from the full proto decoder, for the self check. */
function checkParsing(type: XdsType, resources: readonly Resource[]): string | undefined {
  if (type === 'clusters') {
    const full = resources
      .map((r) => binaryToJson('envoy.config.cluster.v3.Cluster', r.value) as { name: string; type?: string })
      .filter((c) => c.type === 'EDS')
      .map((c) => c.name)
      .sort();
    const quick = edsClusterNames(resources);
    return full.join() === quick.join() ? undefined : `EDS cluster names differ: decoder ${full.length}, scanner ${quick.length}`;
  }
  if (type === 'listeners') {
    const chains = resources.flatMap((r) =>
      ((binaryToJson('envoy.config.listener.v3.Listener', r.value) as { filter_chains?: { name?: string }[] }).filter_chains ?? []).map(
        (c) => c.name ?? '',
      ),
    );
    const full: MtlsMode = chains.some((n) => n.startsWith('inbound|') && n.endsWith('|plaintext')) ? 'PERMISSIVE' : 'STRICT';
    return full === listenerMode(resources) ? undefined : `listener mode differs: decoder ${full}, scanner ${listenerMode(resources)}`;
  }
  return undefined;
}

// ---- one simulated Envoy ----

interface TypeState {
  version: string;
  nonce: string;
  names: string[];
  /** Resources in the last response, and whether it was ACKed. */
  count: number;
  acked: boolean;
}

type AdsClient = grpc.Client & { StreamAggregatedResources(md: grpc.Metadata): Duplex };

/** Envoy retries a failed ADS stream after a jittered backoff (base 500 ms); so do we, keeping the config. */
const RECONNECT_MS = 1000;

class SimEnvoy {
  private readonly types = new Map<XdsType, TypeState>();
  private call: Duplex | undefined;
  private channel: AdsClient | undefined;
  private nodeSent = false;
  private edsNames: string[] | undefined;
  private subscribedDependents = false;
  mode: MtlsMode | undefined;
  modeAckAt = 0;
  openedAt = 0;
  firstResponseAt = 0;
  syncedAt = 0;
  /** Cancelled by us: no reconnect. */
  stopped = false;

  constructor(
    readonly id: string,
    private readonly token: string,
    private readonly worker: Worker,
    private readonly checking: boolean,
  ) {}

  get open(): boolean {
    return this.call !== undefined;
  }

  connect(client: AdsClient): void {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${this.token}`);
    const call = client.StreamAggregatedResources(md);
    this.call = call;
    this.channel = client;
    this.types.clear();
    this.nodeSent = false;
    this.edsNames = undefined;
    this.subscribedDependents = false;
    if (this.openedAt === 0) this.openedAt = clock();
    call.on('data', (bytes: Buffer) => {
      if (this.call === call) this.onResponse(bytes);
    });
    call.on('error', (err: grpc.ServiceError) =>
      this.onClosed(call, client, `${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`),
    );
    call.on('end', () => this.onClosed(call, client, 'stream ended by meshlite'));
    this.request('clusters', []);
    this.request('listeners', []);
  }

  cancel(): void {
    this.stopped = true;
    this.call?.cancel();
  }

  /**
   * Cancels the stream from this side and opens a new one at once (soak
   * churn), whatever state it is in: one cancelled in the moment it opened
   * must not stay open on meshlite's side, and the new one must keep getting
   * config.
   */
  restart(): boolean {
    const old = this.call;
    if (this.stopped || !old || !this.channel) return false;
    this.call = undefined;
    old.cancel();
    this.connect(this.channel);
    return true;
  }

  private onClosed(call: Duplex, client: AdsClient, message: string): void {
    if (this.stopped || this.call !== call) return;
    this.call = undefined;
    this.worker.streamFailed(this, message);
    setTimeout(() => {
      if (!this.stopped) this.connect(client);
    }, RECONNECT_MS);
  }

  private state(type: XdsType): TypeState {
    let s = this.types.get(type);
    if (!s) this.types.set(type, (s = { version: '', nonce: '', names: [], count: 0, acked: false }));
    return s;
  }

  /** A subscription change or an ACK: the names wanted, with the last version and nonce seen. */
  private request(type: XdsType, names: string[]): void {
    const s = this.state(type);
    s.names = names;
    const node = this.nodeSent ? undefined : { id: this.id, cluster: 'push-bench' };
    this.nodeSent = true;
    this.call!.write(
      clientCodec.encodeSotwRequest({
        versionInfo: s.version,
        responseNonce: s.nonce,
        resourceNames: names,
        typeUrl: TYPE_URL_OF[type],
        node,
      }),
    );
  }

  private onResponse(bytes: Buffer): void {
    const received = clock();
    if (this.firstResponseAt === 0) this.firstResponseAt = received;
    const resp = clientCodec.decodeSotwResponse(bytes);
    const type = TYPE_OF_URL.get(resp.typeUrl);
    if (!type) return this.worker.streamFailed(this, `response of unknown type ${resp.typeUrl}`);
    this.worker.counted(type, bytes.length);
    if (this.checking && (type === 'clusters' || type === 'listeners')) this.worker.check(checkParsing(type, resp.resources), type);
    const s = this.state(type);
    s.version = resp.versionInfo;
    s.nonce = resp.nonce;
    s.count = resp.resources.length;
    s.acked = true;
    this.request(type, s.names); // the ACK
    if (type === 'clusters') {
      const eds = edsClusterNames(resp.resources);
      if (this.edsNames === undefined || eds.join('\n') !== this.edsNames.join('\n')) {
        this.edsNames = eds;
        this.state('endpoints').acked = false;
        this.request('endpoints', eds);
      }
    } else if (type === 'listeners') {
      const mode = listenerMode(resp.resources);
      if (mode !== this.mode) {
        const previous = this.mode;
        this.mode = mode;
        this.modeAckAt = clock();
        this.worker.modeChanged(previous, mode);
      }
      if (!this.subscribedDependents) {
        this.subscribedDependents = true;
        this.request('routes', ROUTES);
        this.request('secrets', SECRETS);
      }
    }
    this.worker.acked(clock());
    if (this.syncedAt === 0 && this.fullySynced()) {
      this.syncedAt = clock();
      this.worker.synced();
    }
  }

  /** A full config of every type ACKed: everything subscribed was delivered. */
  private fullySynced(): boolean {
    const ok = (type: XdsType, count?: number) => {
      const s = this.types.get(type);
      return s?.acked === true && s.version !== '' && (count === undefined || s.count === count);
    };
    return (
      ok('clusters') &&
      ok('listeners') &&
      ok('endpoints', this.edsNames?.length ?? -1) &&
      ok('routes', ROUTES.length) &&
      ok('secrets', SECRETS.length)
    );
  }
}

// ---- the worker: its clients, grouped onto channels ----

class Worker {
  private clients: SimEnvoy[] = [];
  private channels: grpc.Client[] = [];
  private syncedCount = 0;
  private readonly modes = new Map<MtlsMode | undefined, number>();
  private awaiting: { seq: number; mode: MtlsMode } | undefined;
  private readonly responses: TypeCounts = { clusters: 0, endpoints: 0, listeners: 0, routes: 0, secrets: 0 };
  private responseBytes = 0;
  private lastAckAt = 0;
  private errors = 0;
  private checked = new Set<XdsType>();
  private stopping = false;
  private reconnects = 0;
  private churnTimer: NodeJS.Timeout | undefined;

  constructor(private readonly init: WorkerInit) {
    const Ads = grpc.makeGenericClientConstructor(ADS_SERVICE_DEFINITION, 'AggregatedDiscoveryService');
    const credentials = grpc.credentials.createSsl(Buffer.from(init.rootPem));
    const options: grpc.ChannelOptions = {
      'grpc.ssl_target_name_override': 'meshlite',
      'grpc.default_authority': 'meshlite',
      // A channel per group of streams, each with its own connection.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
      // Envoy's HTTP/2 windows are large (256 MiB by default); grpc-js's are 64 KiB.
      'grpc-node.flow_control_window': 64 * 1024 * 1024,
    };
    const per = Math.max(1, init.streamsPerChannel);
    init.clients.forEach((c, i) => {
      if (i % per === 0) this.channels.push(new Ads(init.adsAddress, credentials, options));
      this.clients.push(new SimEnvoy(c.id, c.token, this, init.selfCheck && i === 0));
    });
    this.modes.set(undefined, this.clients.length);
  }

  get id(): number {
    return this.init.worker;
  }

  get channelCount(): number {
    return this.channels.length;
  }

  connect(): void {
    const per = Math.max(1, this.init.streamsPerChannel);
    this.clients.forEach((c, i) => c.connect(this.channels[Math.floor(i / per)] as AdsClient));
  }

  /** Every 100 ms a tenth of `perSecond` random clients restart their streams (fractions carry over). */
  churn(perSecond: number): void {
    clearInterval(this.churnTimer);
    this.churnTimer = undefined;
    if (perSecond <= 0) return;
    let owed = 0;
    this.churnTimer = setInterval(() => {
      owed += perSecond / 10;
      for (; owed >= 1; owed--) {
        const c = this.clients[Math.floor(Math.random() * this.clients.length)]!;
        if (c.restart()) this.reconnects++;
      }
    }, 100);
  }

  counted(type: XdsType, bytes: number): void {
    this.responses[type]++;
    this.responseBytes += bytes;
  }

  acked(at: number): void {
    this.lastAckAt = at;
  }

  synced(): void {
    if (++this.syncedCount !== this.clients.length) return;
    const clients = this.clients.map((c) => ({ id: c.id, openedAt: c.openedAt, firstResponseAt: c.firstResponseAt, syncedAt: c.syncedAt }));
    send({ evt: 'synced', worker: this.init.worker, clients });
  }

  modeChanged(from: MtlsMode | undefined, to: MtlsMode): void {
    this.modes.set(from, (this.modes.get(from) ?? 0) - 1);
    this.modes.set(to, (this.modes.get(to) ?? 0) + 1);
    this.answerAwait();
  }

  awaitMode(seq: number, mode: MtlsMode): void {
    this.awaiting = { seq, mode };
    this.answerAwait();
  }

  private answerAwait(): void {
    const a = this.awaiting;
    if (!a || (this.modes.get(a.mode) ?? 0) !== this.clients.length) return;
    this.awaiting = undefined;
    send({ evt: 'mode', worker: this.init.worker, seq: a.seq, ackAt: this.clients.map((c) => c.modeAckAt), stats: this.stats() });
  }

  check(problem: string | undefined, type: XdsType): void {
    if (problem === undefined && this.checked.has(type)) return;
    this.checked.add(type);
    send({
      evt: 'check',
      worker: this.init.worker,
      ok: problem === undefined,
      message: problem ?? `${type}: scanner agrees with the proto decoder`,
    });
  }

  streamFailed(client: SimEnvoy, message: string): void {
    if (this.stopping) return;
    this.errors++;
    send({ evt: 'error', worker: this.init.worker, client: client.id, message });
  }

  stats(): WorkerStats {
    const mem = process.memoryUsage();
    const open = this.clients.filter((c) => c.open).length;
    return {
      responses: { ...this.responses },
      responseBytes: this.responseBytes,
      lastAckAt: this.lastAckAt,
      openStreams: open,
      errors: this.errors,
      reconnects: this.reconnects,
      cpu: process.cpuUsage(),
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
    };
  }

  stop(): void {
    this.stopping = true;
    this.churn(0);
    for (const c of this.clients) c.cancel();
    for (const ch of this.channels) ch.close();
  }
}

let worker: Worker | undefined;
process.on('disconnect', () => process.exit(0));
process.on('message', (msg: ToWorker) => {
  switch (msg.cmd) {
    case 'init':
      worker = new Worker(msg);
      send({ evt: 'ready', worker: msg.worker, channels: worker.channelCount });
      break;
    case 'connect':
      worker!.connect();
      break;
    case 'await-mode':
      worker!.awaitMode(msg.seq, msg.mode);
      break;
    case 'churn':
      worker!.churn(msg.perSecond);
      break;
    case 'stats':
      send({ evt: 'stats', worker: worker!.id, seq: msg.seq, stats: worker!.stats() });
      break;
    case 'stop':
      worker?.stop();
      setTimeout(() => process.exit(0), 200).unref();
      break;
  }
});
