// How meshlite recognises and serves a proxyless node, without processes:
// the stream authenticator (annotation + user agent), the control plane's
// choice of translation, and the CLI's `bootstrap --grpc` and `generate`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SnapshotCache } from '../../src/cache/snapshot-cache.js';
import { loadConfig } from '../../src/config/load-config.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import { TokenStreamAuthenticator } from '../../src/control-plane/stream-authenticator.js';
import type { WorkloadCredentialSource } from '../../src/control-plane/workload-credentials.js';
import type { NodeInfo } from '../../src/server/discovery-codec.js';
import { CLI } from './children.js';
import { EXAMPLES_DIR, REPO_ROOT } from '../support/paths.js';

const silent = { info() {}, warn() {}, debug() {} };
let issued = 0;
const credentials: WorkloadCredentialSource = {
  rootCertPem: () => 'ROOT',
  async certificateFor() {
    issued += 1;
    throw new Error('a proxyless client must not need a workload certificate');
  },
  onRotated() {},
};

const GRPC_UA = 'gRPC Node Pure JS/1.14.1';

// The example's workloads are all proxyless; this adds one that is neither a sidecar nor proxyless.
const extraDir = mkdtempSync(join(tmpdir(), 'meshlite-proxyless-serving-'));
const LEGACY = join(extraDir, 'legacy.yaml');
writeFileSync(
  LEGACY,
  'apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: legacy, namespace: bar}\nspec: {address: 127.0.60.5, serviceAccount: legacy}\n',
);
test.after(() => rmSync(extraDir, { recursive: true, force: true }));
const node = (id: string, userAgent: string): NodeInfo => ({ id, cluster: id, metadata: {}, userAgent });

async function controlPlane(): Promise<{ cp: ControlPlane; cache: SnapshotCache }> {
  const cache = new SnapshotCache();
  const cp = new ControlPlane(cache, credentials, silent);
  const loaded = loadConfig([join(EXAMPLES_DIR, 'proxyless-grpc'), LEGACY]);
  await cp.applyConfig(loaded, 'test');
  return { cp, cache };
}

test('the authenticator accepts the annotated workload from a gRPC library, and from a node with no user agent', async () => {
  const { cp } = await controlPlane();
  const auth = new TokenStreamAuthenticator(cp, undefined);
  assert.equal(await auth.authenticate(new grpc.Metadata(), node('greeter-client.foo', GRPC_UA)), {
    ok: true,
    proxyId: 'greeter-client.foo',
  });
  assert.equal(await auth.authenticate(new grpc.Metadata(), node('greeter-client.foo', '')), { ok: true, proxyId: 'greeter-client.foo' });
});

test('the authenticator refuses mix-ups with a message saying what to change', async () => {
  const { cp } = await controlPlane();
  const auth = new TokenStreamAuthenticator(cp, undefined);
  const envoy = await auth.authenticate(new grpc.Metadata(), node('greeter-client.foo', 'envoy'));
  assert.ok(
    !envoy.ok &&
      envoy.code === grpc.status.PERMISSION_DENIED &&
      envoy.message.includes('an Envoy (user agent "envoy") cannot use its config'),
    JSON.stringify(envoy),
  );
  // legacy is neither a sidecar nor proxyless: a gRPC client claiming it is told about the annotation.
  const server = await auth.authenticate(new grpc.Metadata(), node('legacy.bar', GRPC_UA));
  assert.ok(!server.ok && server.message.includes('add the annotation proxyless.meshlite.io/grpc: "true"'), JSON.stringify(server));
  const other = await auth.authenticate(new grpc.Metadata(), node('legacy.bar', ''));
  assert.ok(!other.ok && other.message.includes('runs no sidecar') && other.message.includes('is not proxyless'), JSON.stringify(other));
});

test('the control plane builds a proxyless snapshot for the annotated workload: api listeners, no secrets, no certificate', async () => {
  const { cp, cache } = await controlPlane();
  await cp.proxyConnected('greeter-client.foo');
  await cp.idle();
  const snap = cache.get('greeter-client.foo');
  assert.ok(snap, 'snapshot built');
  assert.ok(snap.listeners.resources.has('greeter.bar:50051'));
  const listener = snap.listeners.resources.get('greeter.bar:50051')!.json;
  assert.ok(listener.api_listener, 'an api_listener, not a bound Envoy listener');
  assert.equal([...snap.clusters.resources.keys()], ['outbound|50051||greeter.bar.svc.cluster.local']);
  assert.equal([...snap.endpoints.resources.keys()], ['outbound|50051||greeter.bar.svc.cluster.local']);
  assert.is(snap.secrets.resources.size, 0);
  assert.is(issued, 0);
  assert.equal(cp.proxyWarnings('greeter-client.foo'), []);
});

function meshlite(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('CLI: bootstrap --grpc writes the GRPC_XDS_BOOTSTRAP json; refuses a workload that is not proxyless', () => {
  const ok = meshlite(
    'bootstrap',
    '-c',
    'examples/proxyless-grpc',
    '--grpc',
    '--insecure',
    '--proxy',
    'greeter-client.foo',
    '--ads-address',
    '127.0.0.1:15010',
  );
  assert.is(ok.code, 0, ok.stderr);
  const boot = JSON.parse(ok.stdout);
  assert.equal(boot.xds_servers, [
    { server_uri: '127.0.0.1:15010', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3', 'ignore_resource_deletion'] },
  ]);
  assert.equal(boot.node.id, 'greeter-client.foo');
  assert.equal(boot.node.locality, { region: 'local', zone: 'zone-a' });
  const bad = meshlite('bootstrap', '-c', 'examples/proxyless-grpc', '-c', LEGACY, '--grpc', '--proxy', 'legacy.bar');
  assert.is(bad.code, 1);
  assert.match(bad.stderr, 'workload "legacy.bar" is not proxyless');
  assert.match(bad.stderr, 'proxyless workloads: greeter-1.bar, greeter-client.foo');
});

test('CLI: generate prints a proxyless workload in config_dump shape', () => {
  const r = meshlite('generate', '-c', 'examples/proxyless-grpc', '--proxy', 'greeter-client.foo', '--type', 'listeners');
  assert.is(r.code, 0, r.stderr);
  const names = (JSON.parse(r.stdout).dynamic_listeners as { name: string }[]).map((l) => l.name);
  assert.ok(names.includes('greeter.bar.svc.cluster.local:50051'), names.join(' '));
});

test.run();
