import { mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SnapshotCache } from '../../src/cache/snapshot-cache.js';
import { ConfigWatcher } from '../../src/control-plane/config-watcher.js';
import { InlineConfigLoader } from '../../src/control-plane/config-loader.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import type { WorkloadCredentialSource } from '../../src/control-plane/workload-credentials.js';
import { loadManifests, mtlsPolicy, serviceEntry, workloadEntry, yamlOf } from '../support/fixtures/index.js';

const silent = { info() {}, warn() {}, debug() {} };
// Two sidecars on this host: sleep.foo's outbound listeners get their own address (the default one is httpbin.bar's).
const sleep = workloadEntry('foo/sleep', { address: '127.0.1.2' }, { annotations: { 'sidecar.meshlite.io/outboundAddress': '127.0.1.2' } });
const base = [serviceEntry('bar/httpbin'), workloadEntry('bar/httpbin', { address: '127.0.2.1' }), sleep];

function fakeCredentials() {
  const listeners: ((key: string) => void)[] = [];
  let serial = 0;
  const issued: string[] = [];
  const source: WorkloadCredentialSource = {
    rootCertPem: () => 'ROOT',
    async certificateFor({ namespace, serviceAccount }) {
      issued.push(`${namespace}/${serviceAccount}`);
      return {
        certChainPem: `CERT-${namespace}/${serviceAccount}-${++serial}`,
        privateKeyPem: 'KEY',
        serialNumber: String(serial),
        notAfter: new Date(),
      };
    },
    onRotated: (l) => void listeners.push(l),
  };
  return { source, issued, rotate: (key: string) => listeners.forEach((l) => l(key)) };
}

test('an invalid config keeps the last good one being served', async () => {
  const cache = new SnapshotCache();
  const cp = new ControlPlane(cache, fakeCredentials().source, silent);
  await cp.applyConfig(loadManifests(base), 'start');
  await cp.proxyConnected('httpbin.bar');
  const before = cache.get('httpbin.bar')!;
  await cp.applyConfig(
    loadManifests([
      ...base,
      'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: x, namespace: bar}\nspec: {mtsl: {}}',
    ]),
    'edit',
  );
  assert.is(cache.get('httpbin.bar'), before, 'snapshot untouched');
  const status = cp.configStatus!;
  assert.is(status.state, 'rejected');
  if (status.state === 'rejected') {
    assert.is(status.generation, 1);
    assert.match(status.issues[0]!.message, 'unknown field "mtsl"');
  }
  await cp.applyConfig(loadManifests([...base, mtlsPolicy('bar/default', 'STRICT')]), 'fixed');
  assert.is(cp.configStatus!.state, 'ok');
  assert.is.not(cache.get('httpbin.bar')!.listeners.version, before.listeners.version);
});

test('a connected proxy whose workload disappears gets an empty config (fail closed)', async () => {
  const cache = new SnapshotCache();
  const cp = new ControlPlane(cache, fakeCredentials().source, silent);
  await cp.applyConfig(loadManifests(base), 'start');
  await cp.proxyConnected('httpbin.bar');
  assert.ok(cache.get('httpbin.bar')!.listeners.resources.size > 0);
  await cp.applyConfig(loadManifests([serviceEntry('bar/httpbin'), workloadEntry('foo/sleep', { address: '127.0.1.2' })]), 'removed');
  const snap = cache.get('httpbin.bar')!;
  assert.equal([snap.clusters.resources.size, snap.listeners.resources.size, snap.secrets.resources.size], [0, 0, 0]);
});

test("secrets carry the proxy's own certificate; rotation refreshes only that identity's proxies", async () => {
  const cache = new SnapshotCache();
  const creds = fakeCredentials();
  const cp = new ControlPlane(cache, creds.source, silent);
  await cp.applyConfig(loadManifests(base), 'start');
  await cp.proxyConnected('httpbin.bar');
  await cp.proxyConnected('sleep.foo');
  const secretOf = (id: string) => JSON.stringify(cache.get(id)!.secrets.resources.get('default')!.json);
  assert.match(secretOf('httpbin.bar'), 'CERT-bar/httpbin-');
  assert.match(secretOf('sleep.foo'), 'CERT-foo/sleep-');
  const sleepBefore = cache.get('sleep.foo');
  const httpbinBefore = secretOf('httpbin.bar');
  creds.rotate('bar/httpbin');
  await cp.idle();
  assert.is.not(secretOf('httpbin.bar'), httpbinBefore);
  assert.is(cache.get('sleep.foo'), sleepBefore, 'other identities untouched');
});

test('disconnected proxies are forgotten and not rebuilt', async () => {
  const cache = new SnapshotCache();
  const creds = fakeCredentials();
  const cp = new ControlPlane(cache, creds.source, silent);
  await cp.applyConfig(loadManifests(base), 'start');
  await cp.proxyConnected('sleep.foo');
  cp.proxyDisconnected('sleep.foo');
  assert.is(cache.get('sleep.foo'), undefined);
  const issuedBefore = creds.issued.length;
  await cp.applyConfig(loadManifests([...base, mtlsPolicy('foo/default', 'STRICT')]), 'edit');
  assert.is(creds.issued.length, issuedBefore);
  assert.equal(cp.connectedProxies(), []);
});

test('the watcher debounces a burst of edits into one reload and reports bad edits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-watch-'));
  try {
    const file = join(dir, 'mesh.yaml');
    const write = (text: string) => {
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
    };
    write(yamlOf(...base));
    const loads: { ok: boolean; reason: string }[] = [];
    const watcher = new ConfigWatcher({
      paths: [dir],
      loader: new InlineConfigLoader(),
      debounceMs: 150,
      onLoad: (r, reason) => loads.push({ ok: r.ok, reason }),
    });
    await watcher.start();
    assert.equal(
      loads.map((l) => l.ok),
      [true],
    );
    for (let i = 0; i < 5; i++) write(yamlOf(...base, mtlsPolicy('bar/default', i % 2 ? 'STRICT' : 'DISABLE')));
    await waitFor(() => loads.length >= 2);
    await new Promise((r) => setTimeout(r, 400));
    assert.is(loads.length, 2, `one reload for the burst, got ${JSON.stringify(loads)}`);
    write('kind: [broken');
    await waitFor(() => loads.length >= 3);
    assert.is(loads[2]!.ok, false);
    // A directory reached through a symlink (examples use `base -> ../s1-auto-mtls`) is watched too.
    const linked = mkdtempSync(join(tmpdir(), 'meshlite-watch-linked-'));
    symlinkSync(linked, join(dir, 'base'));
    write(yamlOf(...base));
    await waitFor(() => loads.length >= 4);
    writeFileSync(join(linked, 'extra.yaml'), yamlOf(mtlsPolicy('foo/default', 'STRICT')));
    await waitFor(() => loads.length >= 5);
    assert.ok(loads[4]!.reason.includes('extra.yaml'), loads[4]!.reason);
    watcher.stop();
    rmSync(linked, { recursive: true, force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test.run();
