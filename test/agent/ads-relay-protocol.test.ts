// The relay's protocol decisions as pure functions: how Secret is split
// between the agent's own answers and meshlite's (nonces, versions, who ACKs
// what), how the other types pass through across upstream reconnects, the
// node meshlite sees, and the reconnect backoff.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { discoveryMessageTypes, type SotwRequest } from '../../src/server/discovery-codec.js';
import { AGENT_NODE_METADATA } from '../../src/agent/agent-types.js';
import { decodeSecret, encodeRequest, nodeWithAgentMarker, trustBundleProblem } from '../../src/agent/relay-codec.js';
import { RelayedTypes } from '../../src/agent/relayed-types.js';
import { retryDelayMs } from '../../src/agent/retry-backoff.js';
import { SecretSplit, type UpstreamSecret } from '../../src/agent/secret-split.js';
import { clientCodec } from '../support/client-codec.js';

const CRED = 'kubernetes://cred';
const CRED_CA = 'kubernetes://cred-cacert';
let rootPem = '';

test.before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-relay-protocol-'));
  try {
    rootPem = (await CertificateAuthority.loadOrCreate({ stateDir: dir, trustDomain: 'cluster.local' })).rootCertPem;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const bytes = (name: string) => new TextEncoder().encode(name);
const root = (pem = rootPem): UpstreamSecret => ({ name: 'ROOTCA', value: bytes('ROOTCA'), trustedCaPem: pem });
const remote = (name: string): UpstreamSecret => ({ name, value: bytes(name) });

/** A split on an open upstream stream whose ROOTCA-only subscription meshlite answered (version v1, nonce 1). */
function openSplit(): SecretSplit {
  const split = new SecretSplit();
  split.upstreamOpened();
  split.onUpstreamResponse({ versionInfo: 'v1', nonce: '1', resources: [root()] });
  return split;
}

test('without Envoy: ROOTCA only, every valid one goes to the trust bundle and the relay ACKs it itself', () => {
  const split = new SecretSplit();
  assert.equal(split.upstreamOpened(), { names: ['ROOTCA'], versionInfo: '', nonce: '' });
  const out = split.onUpstreamResponse({ versionInfo: 'v1', nonce: '1', resources: [root(), remote('default')] });
  assert.is(out.trustBundle, rootPem);
  assert.is(out.toEnvoy, undefined, 'nothing is relayed: no Envoy asked');
  assert.equal(out.upstream, { names: ['ROOTCA'], versionInfo: 'v1', nonce: '1' });
});

test('a ROOTCA without a usable PEM is NACKed with the reason, keeping the version accepted before', () => {
  const split = openSplit();
  for (const [pem, why] of [
    [undefined, /no inline trusted_ca/],
    ['not a pem', /no PEM CERTIFICATE block/],
    ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /does not parse/],
  ] as const) {
    const out = split.onUpstreamResponse({ versionInfo: 'v2', nonce: '2', resources: [{ ...root(), trustedCaPem: pem }] });
    assert.is(out.trustBundle, undefined);
    assert.match(out.rejected ?? '', why);
    assert.is(out.upstream?.versionInfo, 'v1');
    assert.is(out.upstream?.nonce, '2');
    assert.is(out.upstream?.errorDetail?.code, 3);
    assert.match(out.upstream?.errorDetail?.message ?? '', why);
  }
  assert.is(trustBundleProblem(rootPem), undefined);
});

test("Envoy's names split: local ones answered here, the rest subscribed upstream beside ROOTCA", () => {
  const split = openSplit();
  const out = split.onEnvoyRequest({ names: ['default', CRED, 'ROOTCA'], nonce: '' });
  assert.is(out.answered, 'initial');
  assert.ok(out.respondLocally);
  assert.equal(split.localWanted(), ['ROOTCA', 'default']);
  assert.equal(out.upstream, { names: ['ROOTCA', CRED], versionInfo: 'v1', nonce: '1' }, "carries meshlite's latest nonce");
  const again = split.onEnvoyRequest({ names: ['default', CRED, 'ROOTCA'], nonce: '' });
  assert.not.ok(again.respondLocally, 'no new local name');
  assert.is(again.upstream, undefined, 'no change of the upstream subscription');
});

test('a response from meshlite reaches Envoy filtered to its remote names, under a nonce of the relay; its ACK goes upstream', () => {
  const split = openSplit();
  split.onEnvoyRequest({ names: ['default', CRED, 'ROOTCA'], nonce: '' });
  const out = split.onUpstreamResponse({
    versionInfo: 'v2',
    nonce: '3',
    resources: [root(), remote('default'), remote(CRED), remote(CRED_CA)],
  });
  assert.is(out.trustBundle, rootPem);
  assert.is(out.upstream, undefined, 'Envoy answers this one');
  assert.equal(
    out.toEnvoy?.resources.map((r) => r.name),
    [CRED],
  );
  assert.is(out.toEnvoy?.versionInfo, 'v2');
  const nonce = out.toEnvoy!.nonce;
  assert.is.not(nonce, '3');
  const ack = split.onEnvoyRequest({ names: ['default', CRED, 'ROOTCA'], nonce });
  assert.is(ack.answered, 'relayed-ack');
  assert.equal(ack.upstream, { names: ['ROOTCA', CRED], versionInfo: 'v2', nonce: '3' });
});

test("Envoy's NACK of a relayed response goes upstream with its error and the version accepted before", () => {
  const split = openSplit();
  split.onEnvoyRequest({ names: [CRED], nonce: '' });
  const out = split.onUpstreamResponse({ versionInfo: 'v2', nonce: '3', resources: [root(), remote(CRED)] });
  const nack = split.onEnvoyRequest({ names: [CRED], nonce: out.toEnvoy!.nonce, errorDetail: { code: 13, message: 'bad key' } });
  assert.is(nack.answered, 'relayed-nack');
  assert.equal(nack.upstream, { names: ['ROOTCA', CRED], versionInfo: 'v1', nonce: '3', errorDetail: { code: 13, message: 'bad key' } });
});

test('when nothing meshlite sent is for Envoy, the relay ACKs upstream itself', () => {
  const split = openSplit();
  split.onEnvoyRequest({ names: ['default', CRED], nonce: '' });
  const out = split.onUpstreamResponse({ versionInfo: 'v2', nonce: '3', resources: [root()] });
  assert.is(out.toEnvoy, undefined);
  assert.equal(out.upstream, { names: ['ROOTCA', CRED], versionInfo: 'v2', nonce: '3' });
});

test('ACK and NACK of a local response stay local; a subscription change on a local nonce goes upstream with the upstream nonce', () => {
  const split = openSplit();
  split.onEnvoyRequest({ names: ['default'], nonce: '' });
  const local = split.nextLocalResponse();
  const ack = split.onEnvoyRequest({ names: ['default'], nonce: local.nonce });
  assert.is(ack.answered, 'local-ack');
  assert.is(ack.upstream, undefined);
  const nack = split.onEnvoyRequest({ names: ['default'], nonce: local.nonce, errorDetail: { code: 13, message: 'x' } });
  assert.is(nack.answered, 'local-nack');
  assert.is(nack.upstream, undefined);
  assert.not.ok(nack.respondLocally, 'a rejected local answer is not sent again unasked');
  const change = split.onEnvoyRequest({ names: ['default', CRED], nonce: local.nonce });
  assert.is(change.answered, 'local-ack');
  assert.equal(change.upstream, { names: ['ROOTCA', CRED], versionInfo: 'v1', nonce: '1' });
  const older = split.nextLocalResponse();
  split.nextLocalResponse();
  assert.is(split.onEnvoyRequest({ names: ['default', CRED], nonce: older.nonce }).answered, 'stale');
});

test("while a relayed response awaits Envoy's answer, a subscription change waits for that answer, which carries it", () => {
  const split = openSplit();
  split.onEnvoyRequest({ names: ['default', CRED], nonce: '' });
  const relayed = split.onUpstreamResponse({ versionInfo: 'v2', nonce: '3', resources: [root(), remote(CRED)] }).toEnvoy!;
  const local = split.nextLocalResponse();
  const change = split.onEnvoyRequest({ names: ['default', CRED, CRED_CA], nonce: local.nonce });
  assert.is(change.upstream, undefined);
  const ack = split.onEnvoyRequest({ names: ['default', CRED, CRED_CA], nonce: relayed.nonce });
  assert.equal(ack.upstream, { names: ['ROOTCA', CRED, CRED_CA], versionInfo: 'v2', nonce: '3' });
});

test('a new upstream stream starts from the names and the version Envoy accepted, even an ACK that arrived while no stream was open', () => {
  const split = openSplit();
  split.onEnvoyRequest({ names: ['default', CRED], nonce: '' });
  const relayed = split.onUpstreamResponse({ versionInfo: 'v2', nonce: '3', resources: [root(), remote(CRED)] }).toEnvoy!;
  split.upstreamClosed();
  const ack = split.onEnvoyRequest({ names: ['default', CRED], nonce: relayed.nonce });
  assert.is(ack.answered, 'relayed-ack');
  assert.is(ack.upstream, undefined, 'no stream to send it on');
  assert.is(split.onEnvoyRequest({ names: ['default', CRED, CRED_CA], nonce: relayed.nonce }).upstream, undefined);
  assert.equal(split.upstreamOpened(), { names: ['ROOTCA', CRED, CRED_CA], versionInfo: 'v2', nonce: '' });
  // meshlite numbers the new stream's responses from 1 again: an old nonce of the relay is no answer to them.
  const fresh = split.onUpstreamResponse({ versionInfo: 'v3', nonce: '1', resources: [root(), remote(CRED)] }).toEnvoy!;
  assert.is(split.onEnvoyRequest({ names: ['default', CRED, CRED_CA], nonce: relayed.nonce }).answered, 'stale');
  assert.equal(split.onEnvoyRequest({ names: ['default', CRED, CRED_CA], nonce: fresh.nonce }).upstream, {
    names: ['ROOTCA', CRED, CRED_CA],
    versionInfo: 'v3',
    nonce: '1',
  });
});

test('ROOTCA never reaches Envoy from meshlite, even when Envoy asks for it', () => {
  const split = openSplit();
  split.onEnvoyRequest({ names: ['ROOTCA', CRED], nonce: '' });
  const out = split.onUpstreamResponse({ versionInfo: 'v2', nonce: '3', resources: [root(), remote(CRED)] });
  assert.equal(
    out.toEnvoy?.resources.map((r) => r.name),
    [CRED],
  );
});

const request = (typeUrl: string, responseNonce: string, names: string[] = ['a'], versionInfo = ''): SotwRequest => ({
  typeUrl,
  responseNonce,
  resourceNames: names,
  versionInfo,
});

test('other types: forwarded as they are on the stream that sent the answered response, re-subscribed when that stream is gone', () => {
  const types = new RelayedTypes();
  const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
  const EDS = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
  assert.equal(types.upstreamOpened(), []);
  assert.is(types.onEnvoyRequest(request(CDS, '')), 'forward');
  types.onUpstreamResponse(CDS, '4');
  assert.is(types.onEnvoyRequest(request(CDS, '4', [], 'c1')), 'forward');
  assert.is(types.onEnvoyRequest(request(EDS, '')), 'forward');
  types.upstreamClosed();
  assert.is(types.onEnvoyRequest(request(EDS, '', ['a', 'b'])), 'hold', 'no stream: remembered for the next');
  const resent = types.upstreamOpened();
  assert.equal(
    resent.map((r) => [r.typeUrl, r.versionInfo, r.resourceNames]),
    [
      [CDS, 'c1', []],
      [EDS, '', ['a', 'b']],
    ],
  );
  assert.is(types.onEnvoyRequest(request(CDS, '4')), 'subscribe', 'answers the old stream, which this one never sent');
  types.onUpstreamResponse(CDS, '1');
  assert.is(types.onEnvoyRequest(request(CDS, '4')), 'hold', 'Envoy will answer the new response with its names');
  assert.is(types.onEnvoyRequest(request(CDS, '1')), 'forward');
});

test("the node meshlite sees: Envoy's own with the agent marker added, or the configured one", () => {
  const envoyRequest = clientCodec.encodeSotwRequest({ typeUrl: 't', node: { id: 'sleep.foo', cluster: 'sleep' } });
  const withMeta = discoveryMessageTypes()
    .request!.encode(
      discoveryMessageTypes().request!.fromObject({
        type_url: 't',
        node: { id: 'sleep.foo', user_agent_name: 'envoy', metadata: { fields: { ISTIO_VERSION: { stringValue: '1.2' } } } },
      }),
    )
    .finish();
  const read = (node: Record<string, unknown>) =>
    discoveryMessageTypes().request!.toObject(
      discoveryMessageTypes().request!.decode(encodeRequest({ typeUrl: 't', versionInfo: '', resourceNames: [], responseNonce: '', node })),
      {
        defaults: false,
      },
    ).node;
  const configured = { id: 'cfg', cluster: 'c', metadata: { n: 1, list: ['x', null], nested: { b: true } } };
  assert.equal(read(nodeWithAgentMarker(configured, envoyRequest)).metadata, {
    fields: { [AGENT_NODE_METADATA]: { stringValue: 'true' } },
  });
  assert.is(read(nodeWithAgentMarker(configured, envoyRequest)).id, 'sleep.foo');
  const merged = read(nodeWithAgentMarker(configured, withMeta));
  assert.is(merged.user_agent_name, 'envoy');
  assert.equal(Object.keys(merged.metadata.fields).sort(), ['ISTIO_VERSION', AGENT_NODE_METADATA]);
  const own = read(nodeWithAgentMarker(configured));
  assert.is(own.id, 'cfg');
  assert.equal(own.metadata.fields.list.listValue.values[1], { nullValue: 0 });
  assert.equal(own.metadata.fields.nested.structValue.fields.b, { boolValue: true });
  assert.equal(own.metadata.fields[AGENT_NODE_METADATA], { stringValue: 'true' });
  assert.throws(() => decodeSecret(new Uint8Array([0xff, 0xff, 0xff])));
});

test('backoff doubles per attempt up to the maximum, jittered within the upper half', () => {
  const s = { initialMs: 100, maxMs: 1000 };
  assert.equal(
    [1, 2, 3, 4, 5, 40].map((a) => retryDelayMs(a, s, () => 1)),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.equal(
    [1, 2, 5].map((a) => retryDelayMs(a, s, () => 0)),
    [50, 100, 500],
  );
});

test.run();
