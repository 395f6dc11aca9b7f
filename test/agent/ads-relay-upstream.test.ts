// The relay against a scripted upstream ADS server (plaintext, loopback) that
// says exactly what a test needs: a ROOTCA without a certificate, a Secret
// that does not decode, bytes that are no DiscoveryResponse. And the exact
// requests the relay sends: Envoy's ACKs unchanged, and on a new stream
// Envoy's last request with the version it accepted and no nonce.
import { rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type AdsRelay, startAdsRelay } from '../../src/agent/ads-relay.js';
import { AGENT_NODE_METADATA } from '../../src/agent/agent-types.js';
import { encodeSecret } from '../../src/agent/relay-codec.js';
import { ADS_SERVICE_DEFINITION } from '../../src/server/ads-server.js';
import { decodeSotwRequest, encodeSotwResponse, type SotwRequest } from '../../src/server/discovery-codec.js';
import { TYPE } from '../../src/xds/type-urls.js';
import { DeltaClient } from '../server/xds-client.js';
import { relayStream, until } from './relay-client.js';
import { FakeLocalSecrets, memoryLogger, socketDir, TestMeshlite } from './relay-fixture.js';

type Call = grpc.ServerDuplexStream<Buffer, Uint8Array>;

/** A plaintext ADS server whose streams the test drives by hand. */
class ScriptedUpstream {
  readonly server = new grpc.Server();
  readonly streams: { call: Call; requests: SotwRequest[] }[] = [];
  port = 0;

  async start(): Promise<void> {
    this.server.addService(ADS_SERVICE_DEFINITION, {
      StreamAggregatedResources: (call: Call) => {
        const stream = { call, requests: [] as SotwRequest[] };
        this.streams.push(stream);
        call.on('data', (b: Buffer) => stream.requests.push(decodeSotwRequest(b)));
        call.on('error', () => {});
      },
      DeltaAggregatedResources: (call: Call) => call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'no' }),
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
  }

  last(): { call: Call; requests: SotwRequest[] } {
    return this.streams.at(-1)!;
  }

  /** Waits for request number `n` (0-based) on the latest stream. */
  async request(n: number): Promise<SotwRequest> {
    await until(`request ${n} upstream`, () => (this.last()?.requests.length ?? 0) > n);
    return this.last().requests[n]!;
  }
}

const rootCa = (pem: string) => encodeSecret({ name: 'ROOTCA', validation_context: { trusted_ca: { inline_string: pem } } });
const secretResponse = (version: string, nonce: string, values: Uint8Array[]) =>
  encodeSotwResponse(
    TYPE.secret,
    version,
    nonce,
    values.map((value) => ({ name: '', version, value })),
  );

async function withScripted(body: (u: ScriptedUpstream, relay: AdsRelay, socket: string, bundles: string[]) => Promise<void>) {
  const upstream = new ScriptedUpstream();
  await upstream.start();
  const sock = socketDir();
  const bundles: string[] = [];
  let relay: AdsRelay | undefined;
  try {
    relay = await startAdsRelay({
      socketPath: sock.path,
      upstream: () => ({ address: `127.0.0.1:${upstream.port}`, credentials: grpc.credentials.createInsecure() }),
      secrets: new FakeLocalSecrets(),
      onTrustBundle: (pem) => bundles.push(pem),
      node: { id: 'sleep.foo', cluster: 'c', metadata: {} },
      logger: memoryLogger(),
      retry: { initialMs: 20, maxMs: 100 },
    });
    await body(upstream, relay, sock.path, bundles);
  } finally {
    await relay?.close();
    upstream.server.forceShutdown();
    rmSync(sock.dir, { recursive: true, force: true });
  }
}

let goodRoot = '';
test.before(async () => {
  const t = await TestMeshlite.start((n) => `10.0.0.${n}`);
  goodRoot = t.m.ca.rootCertPem;
  await t.remove();
});

test('a ROOTCA without a certificate, or a Secret that does not decode, is NACKed with why; a good one is taken and ACKed', () =>
  withScripted(async (u, relay, _socket, bundles) => {
    const first = await u.request(0);
    assert.equal(
      [first.typeUrl, first.resourceNames, first.responseNonce, first.node?.metadata],
      [TYPE.secret, ['ROOTCA'], '', { [AGENT_NODE_METADATA]: 'true' }],
    );
    u.last().call.write(secretResponse('v1', '1', [rootCa('no certificate here')]));
    const nack = await u.request(1);
    assert.equal([nack.versionInfo, nack.responseNonce, nack.resourceNames], ['', '1', ['ROOTCA']]);
    assert.match(nack.errorDetail?.message ?? '', /no PEM CERTIFICATE block/);
    u.last().call.write(secretResponse('v2', '2', [new Uint8Array([0x0a, 0xff, 0xff])]));
    const nack2 = await u.request(2);
    assert.match(nack2.errorDetail?.message ?? '', /does not decode/);
    assert.is(nack2.responseNonce, '2');
    assert.equal(bundles, []);
    u.last().call.write(secretResponse('v3', '3', [rootCa(goodRoot)]));
    const ack = await u.request(3);
    assert.equal([ack.versionInfo, ack.responseNonce, ack.errorDetail], ['v3', '3', undefined]);
    assert.equal(bundles, [goodRoot]);
    assert.is(relay.status().trustBundleVersion, 'v3');
  }));

test("Envoy's ACK goes upstream unchanged; after nonsense from upstream a new stream repeats Envoy's request with its accepted version, no nonce", () =>
  withScripted(async (u, relay, socket) => {
    await u.request(0);
    const envoy = relayStream(socket);
    try {
      envoy.sotw.request('clusters', { node: { id: 'sleep.foo', cluster: 'envoy' } });
      await until('the Envoy stream upstream', () => u.streams.length === 2);
      const [secretReq, cdsReq] = [await u.request(0), await u.request(1)];
      assert.is(secretReq.node?.cluster, 'envoy');
      assert.is(cdsReq.typeUrl, TYPE.cluster);
      u.last().call.write(encodeSotwResponse(TYPE.cluster, 'c7', 'n1', []));
      const res = await envoy.sotw.next();
      assert.equal([res.versionInfo, res.nonce], ['c7', 'n1']);
      envoy.sotw.ack(res);
      const ack = await u.request(2);
      assert.equal([ack.typeUrl, ack.versionInfo, ack.responseNonce], [TYPE.cluster, 'c7', 'n1']);

      u.last().call.write(Buffer.from([0xff, 0xff, 0xff]));
      await until('a new upstream stream', () => u.streams.length === 3);
      assert.match(relay.status().lastUpstreamError ?? '', /malformed discovery response/);
      const [again, cdsAgain] = [await u.request(0), await u.request(1)];
      assert.equal([again.typeUrl, again.node?.cluster], [TYPE.secret, 'envoy']);
      assert.equal([cdsAgain.typeUrl, cdsAgain.versionInfo, cdsAgain.responseNonce, cdsAgain.node], [TYPE.cluster, 'c7', '', undefined]);
      assert.ok(relay.status().envoyConnected, "Envoy's stream stayed open");
      u.last().call.write(encodeSotwResponse(TYPE.cluster, 'c8', '1', []));
      assert.is((await envoy.sotw.next()).versionInfo, 'c8');
    } finally {
      envoy.close();
    }
  }));

test('delta ADS on the relay socket is UNIMPLEMENTED (the agent bootstraps Envoy with state of the world)', () =>
  withScripted(async (_u, _relay, socket) => {
    const client = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure());
    const delta = new DeltaClient(client);
    try {
      delta.request('clusters', { node: { id: 'sleep.foo' } });
      assert.is(grpc.status[(await delta.raw.endWithin()).code], 'UNIMPLEMENTED');
    } finally {
      delta.close();
      client.close();
    }
  }));

test.run();
