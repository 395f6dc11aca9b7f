// The ADS relay between a real xDS client on its Unix socket (standing in for
// Envoy) and a real meshlite in-process over TLS with a proxy token: what is
// relayed, what the agent answers itself, what meshlite sees, and how the
// relay rides out meshlite restarting or refusing it.
import { rmSync, statSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type AdsRelay, startAdsRelay, type UpstreamConnector } from '../../src/agent/ads-relay.js';
import { AGENT_NODE_METADATA } from '../../src/agent/agent-types.js';
import { decodeResource, type SotwResponse } from '../server/xds-client.js';
import { Inbox, meshliteStream, relayStream, until } from './relay-client.js';
import {
  type AdszEntry,
  FakeLocalSecrets,
  fileRootSecret,
  memoryLogger,
  PROXY,
  serialOf,
  socketDir,
  TestMeshlite,
  workloadCertificate,
} from './relay-fixture.js';

const NODE = { id: PROXY, cluster: 'configured-cluster', metadata: { ROLE: 'agent' } };
const ENVOY_NODE = { id: PROXY, cluster: 'envoy-cluster' };

interface Rig {
  t: TestMeshlite;
  relay: AdsRelay;
  socket: string;
  secrets: FakeLocalSecrets;
  bundles: string[];
  log: ReturnType<typeof memoryLogger>;
}

type Connector = UpstreamConnector & { calls: number };

async function withRig(body: (r: Rig & { connector: Connector }) => Promise<void>, connector?: (t: TestMeshlite) => Promise<Connector>) {
  const t = await TestMeshlite.start((n) => `10.0.0.${n}`);
  const sock = socketDir();
  const bundles: string[] = [];
  const log = memoryLogger();
  const secrets = new FakeLocalSecrets();
  let relay: AdsRelay | undefined;
  try {
    const c = connector ? await connector(t) : await t.connector();
    relay = await startAdsRelay({
      socketPath: sock.path,
      upstream: c,
      secrets,
      onTrustBundle: (pem) => bundles.push(pem),
      node: NODE,
      logger: log,
      retry: { initialMs: 50, maxMs: 400 },
    });
    await body({ t, relay, socket: sock.path, secrets, bundles, log, connector: c });
    await relay.close();
    assert.is(secrets.listenerCount, 0, 'close() stops listening to the secrets');
  } finally {
    await relay?.close();
    await t.remove();
    rmSync(sock.dir, { recursive: true, force: true });
  }
}

/** meshlite's streams that came from a relay (node marked as an agent's). */
const relayStreams = async (t: TestMeshlite): Promise<AdszEntry[]> =>
  (await t.adsz()).filter((c) => c.node.metadata[AGENT_NODE_METADATA] === 'true');

const typeStatus = (entry: AdszEntry | undefined, type: string) => entry?.types.find((s) => s.type === type);

function secretsOf(res: SotwResponse): Record<string, Record<string, any>> {
  return Object.fromEntries(res.resources.map((r) => [r.name, decodeResource('secrets', r.value)]));
}

const hex = (res: SotwResponse) => res.resources.map((r) => Buffer.from(r.value).toString('hex'));

test('without Envoy: one ROOTCA-only stream as the configured node, marked as an agent; ROOTCA reaches onTrustBundle', () =>
  withRig(async ({ t, relay, socket, bundles }) => {
    assert.is(statSync(socket).mode & 0o777, 0o600);
    await until('the trust bundle arrived', () => bundles.length > 0);
    assert.is(bundles[0], t.m.ca.rootCertPem);
    const status = relay.status();
    assert.equal(
      { ...status, trustBundleVersion: undefined },
      { upstreamConnected: true, envoyConnected: false, trustBundleVersion: undefined },
    );
    await until(
      'the relay ACKed ROOTCA',
      async () => typeStatus((await relayStreams(t))[0], 'secrets')?.ackedVersion === status.trustBundleVersion,
    );
    const streams = await relayStreams(t);
    assert.is(streams.length, 1);
    assert.equal(streams[0]!.node.metadata, { ROLE: 'agent', [AGENT_NODE_METADATA]: 'true' });
    assert.is(streams[0]!.node.cluster, 'configured-cluster');
    assert.equal(
      streams[0]!.types.map((s) => [s.type, s.subscribed]),
      [['secrets', ['ROOTCA']]],
    );
  }));

test("Envoy gets meshlite's config as meshlite sends it and its own secrets from the agent, on a fresh upstream stream with its node", () =>
  withRig(async ({ t, relay, socket, secrets, bundles }) => {
    await until('the ROOTCA-only stream is up', () => relay.status().upstreamConnected);
    const [idle] = await relayStreams(t);
    const held = await workloadCertificate(t.m);
    secrets.set(held, held.rootPem);
    const direct = await meshliteStream(t, PROXY);
    const envoy = relayStream(socket);
    const box = new Inbox(envoy.sotw);
    const caSecret = fileRootSecret(t.caFile);
    try {
      envoy.sotw.request('clusters', { node: ENVOY_NODE });
      direct.sotw.request('clusters', { node: { id: PROXY } });
      const cds = await box.take('clusters');
      const directCds = await new Inbox(direct.sotw).take('clusters');
      assert.equal(cds.names, directCds.names);
      assert.is(cds.versionInfo, directCds.versionInfo);
      assert.equal(hex(cds), hex(directCds), 'resources byte for byte as meshlite sends them');
      envoy.sotw.ack(cds);
      envoy.sotw.request('listeners');
      const lds = await box.take('listeners');
      assert.ok(lds.names.length > 0);
      envoy.sotw.ack(lds);

      // default and ROOTCA are the agent's; the CA file's secret is meshlite's.
      const names = ['default', 'ROOTCA', caSecret];
      envoy.sotw.request('secrets', { names });
      const a = await box.take('secrets');
      const b = await box.take('secrets');
      const [local, relayed] = a.names.includes('default') ? [a, b] : [b, a];
      assert.equal(local.names, ['ROOTCA', 'default']);
      assert.equal(relayed.names, [caSecret], 'only what Envoy asked for and meshlite serves');
      assert.match(local.nonce, /^agent-/);
      const mine = secretsOf(local);
      assert.is(serialOf(mine.default!.tls_certificate.certificate_chain.inline_string), held.serialNumber.toLowerCase());
      assert.is(mine.default!.tls_certificate.private_key.inline_string, held.privateKeyPem);
      assert.is(mine.ROOTCA!.validation_context.trusted_ca.inline_string, held.rootPem);
      envoy.sotw.ack(local, names);
      envoy.sotw.ack(relayed, names);

      let upstream: AdszEntry | undefined;
      await until("meshlite has the split subscription and Envoy's ACK, on the only stream of the relay", async () => {
        const streams = await relayStreams(t);
        upstream = streams[0];
        const s = typeStatus(upstream, 'secrets');
        return (
          streams.length === 1 &&
          JSON.stringify(s?.subscribed) === JSON.stringify(['ROOTCA', caSecret]) &&
          s?.ackedVersion === relayed.versionInfo
        );
      });
      assert.ok(upstream!.stream > idle!.stream, 'a fresh stream');
      assert.is(upstream!.node.cluster, 'envoy-cluster', "Envoy's own node");
      assert.equal(upstream!.node.metadata, { [AGENT_NODE_METADATA]: 'true' });
      assert.is(typeStatus(upstream, 'clusters')?.ackedVersion, cds.versionInfo, "Envoy's ACKs reach meshlite");
      assert.is(typeStatus(upstream, 'listeners')?.ackedVersion, lds.versionInfo);
      assert.ok(bundles.length >= 2, 'the new stream delivered ROOTCA to the trust bundle too');

      // New local material is pushed at once.
      const renewed = await workloadCertificate(t.m);
      secrets.set(renewed, renewed.rootPem);
      const pushed = await box.take('secrets');
      assert.equal(pushed.names, ['ROOTCA', 'default']);
      const chain = secretsOf(pushed).default!.tls_certificate.certificate_chain.inline_string;
      assert.is(serialOf(chain), renewed.serialNumber.toLowerCase());

      // A second Envoy is refused; the first goes on.
      const other = relayStream(socket);
      other.sotw.request('clusters', { node: ENVOY_NODE });
      const refused = await other.sotw.raw.endWithin();
      other.close();
      assert.is(grpc.status[refused.code], 'FAILED_PRECONDITION', refused.details);
      secrets.set(held, held.rootPem);
      assert.equal((await box.take('secrets')).names, ['ROOTCA', 'default'], 'the first Envoy is still served');
      assert.ok(relay.status().envoyConnected);
    } finally {
      envoy.close();
      direct.close();
    }
    await until('Envoy is gone', () => !relay.status().envoyConnected);
    await until('the ROOTCA-only stream is back', async () => {
      const streams = await relayStreams(t);
      return streams.length === 1 && streams[0]!.node.cluster === 'configured-cluster';
    });
  }));

test("meshlite restarted mid-stream: Envoy's stream stays open; the new upstream stream knows Envoy's versions and resends nothing", () =>
  withRig(async ({ t, relay, socket, secrets, log }) => {
    const held = await workloadCertificate(t.m);
    secrets.set(held, held.rootPem);
    const envoy = relayStream(socket);
    const box = new Inbox(envoy.sotw);
    const caSecret = fileRootSecret(t.caFile);
    try {
      envoy.sotw.request('clusters', { node: ENVOY_NODE });
      const cds = await box.take('clusters');
      envoy.sotw.ack(cds);
      envoy.sotw.request('listeners');
      const lds = await box.take('listeners');
      envoy.sotw.ack(lds);
      envoy.sotw.request('secrets', { names: ['default', caSecret] });
      const first = [await box.take('secrets'), await box.take('secrets')];
      const relayed = first.find((r) => r.names.includes(caSecret))!;
      envoy.sotw.ack(relayed, ['default', caSecret]);

      await t.stop();
      await until('the relay noticed', () => !relay.status().upstreamConnected);
      // While meshlite is away the agent still answers its own secrets.
      const renewed = await workloadCertificate(t.m);
      secrets.set(renewed, renewed.rootPem);
      assert.equal((await box.take('secrets')).names, ['default']);
      // meshlite ended the stream (OK) as it stopped; the reconnects find nobody.
      await until('a reconnect failed', () => /^UNAVAILABLE/.test(relay.status().lastUpstreamError ?? ''));

      await t.restart();
      // The relay repeats Envoy's requests with the versions Envoy holds; meshlite, serving those, sends nothing again.
      await until(
        'the relay is on the new meshlite, which knows what Envoy holds',
        async () => {
          const upstream = (await relayStreams(t))[0];
          return (
            relay.status().upstreamConnected &&
            typeStatus(upstream, 'clusters')?.ackedVersion === cds.versionInfo &&
            typeStatus(upstream, 'listeners')?.ackedVersion === lds.versionInfo &&
            typeStatus(upstream, 'secrets')?.ackedVersion === relayed.versionInfo
          );
        },
        10_000,
      );
      assert.is(envoy.sotw.raw.pending, 0, 'Envoy was sent nothing again');
      const upstream = (await relayStreams(t))[0]!;
      assert.equal(typeStatus(upstream, 'secrets')?.subscribed, ['ROOTCA', caSecret]);
      assert.is(upstream.node.cluster, 'envoy-cluster');
      assert.ok(log.lines.some((l) => l.level === 'warn' && l.msg.includes('reconnecting')));
    } finally {
      envoy.close();
    }
  }));

test('refused by meshlite: logged as an error with its message, retried with backoff until the connector offers a valid token', () => {
  let valid = false;
  return withRig(
    async ({ relay, bundles, log, connector }) => {
      await until('refused twice', () => log.lines.filter((l) => l.level === 'error').length >= 2);
      assert.ok(connector.calls >= 2, 'each attempt asks the connector');
      assert.match(relay.status().lastUpstreamError ?? '', /^UNAUTHENTICATED: invalid token/);
      const errors = log.lines.filter((l) => l.level === 'error');
      assert.ok(errors.length >= 2);
      assert.match(String(errors[0]!.fields.error), /invalid token/);
      assert.is(bundles.length, 0);
      valid = true;
      await until('connected with the valid token', () => bundles.length > 0);
      assert.ok(relay.status().upstreamConnected);
    },
    async (t) => {
      const good = await t.connector();
      const c = Object.assign(
        () => {
          c.calls++;
          const target = good();
          if (!valid) target.metadata!.set('authorization', 'Bearer not-a-token');
          return target;
        },
        { calls: 0 },
      );
      return c;
    },
  );
});

test("reconnectUpstream: a new upstream stream from the connector, Envoy's requests repeated on it", () =>
  withRig(async ({ t, relay, socket, connector }) => {
    const envoy = relayStream(socket);
    const box = new Inbox(envoy.sotw);
    try {
      envoy.sotw.request('clusters', { node: ENVOY_NODE });
      const cds = await box.take('clusters');
      envoy.sotw.ack(cds);
      await until('on the Envoy stream', async () => (await relayStreams(t))[0]?.node.cluster === 'envoy-cluster');
      const before = (await relayStreams(t))[0]!.stream;
      const calls = connector.calls;
      relay.reconnectUpstream('certificate rotated');
      await until('a new upstream stream holding what Envoy holds', async () => {
        const now = (await relayStreams(t))[0];
        return now !== undefined && now.stream > before && typeStatus(now, 'clusters')?.ackedVersion === cds.versionInfo;
      });
      assert.is(connector.calls, calls + 1);
      const after = await relayStreams(t);
      assert.is(after.length, 1);
      assert.is(after[0]!.node.cluster, 'envoy-cluster');
      assert.is(envoy.sotw.raw.pending, 0, 'Envoy was sent nothing again: it holds that version');
    } finally {
      envoy.close();
    }
  }));

test('a malformed request from Envoy ends only its stream; the next Envoy is served', () =>
  withRig(async ({ socket, relay }) => {
    const bad = relayStream(socket);
    bad.sotw.raw.send(Buffer.from([0x0a, 0xff, 0xff, 0xff]));
    const end = await bad.sotw.raw.endWithin();
    bad.close();
    assert.is(grpc.status[end.code], 'INVALID_ARGUMENT');
    await until('the bad stream is gone', () => !relay.status().envoyConnected);
    const good = relayStream(socket);
    try {
      good.sotw.request('clusters', { node: ENVOY_NODE });
      assert.ok((await new Inbox(good.sotw).take('clusters')).names.length > 0);
    } finally {
      good.close();
    }
  }));

test.run();
