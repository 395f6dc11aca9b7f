// meshlite against an etcd that wants mutual TLS, as production etcd does:
// apply/get/token/replicas and serve reach it with the --store-tls-* files;
// a missing or foreign client certificate, a missing CA and a plaintext URL
// each fail fast with one line saying what to fix, and serve keeps running.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EtcdStore, StoreTlsFiles } from '../../src/store/etcd-store.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { ProcessManager } from '../support/e2e/process-manager.js';
import { type PemFiles, TestCa } from '../support/e2e/test-pki.js';
import { type EtcdCluster, openTestStore, startEtcd } from '../support/etcd.js';
import { until } from '../support/poll.js';
import { REPO_ROOT } from '../support/paths.js';
import { runMeshlite } from '../support/store-cli.js';
import { serveFromStore } from '../support/store-replica.js';

let pm: ProcessManager;
let etcd: EtcdCluster;
let ca: TestCa;
let client: PemFiles;
let stranger: PemFiles;
const stores: EtcdStore[] = [];

test.before(async () => {
  pm = new ProcessManager('store-tls');
  const address = loopbackAddress('store/store-tls.test.ts');
  const memberIp = `127.${address.split('.')[1]}.9.1`;
  ca = await TestCa.create(join(pm.dir, 'pki'), 'etcd ca');
  const member = await ca.issue('member', { commonName: 'etcd member', ips: [memberIp], usage: 'peer' });
  client = await ca.issue('client', { commonName: 'meshlite', usage: 'client' });
  const other = await TestCa.create(join(pm.dir, 'other-pki'), 'another ca');
  stranger = await other.issue('stranger', { commonName: 'meshlite', usage: 'client' });
  etcd = await startEtcd(pm, address, 1, {
    tls: { caFile: ca.caFile, serverCert: member.cert, serverKey: member.key, clientCert: client.cert, clientKey: client.key },
  });
});

test.after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await pm.stopAll();
  pm.removeDir();
});

const tlsFlags = () => ['--store-tls-ca', ca.caFile, '--store-tls-cert', client.cert, '--store-tls-key', client.key];

function meshlite(...args: string[]) {
  return runMeshlite(REPO_ROOT, args);
}

function openStore(prefix: string, tls: StoreTlsFiles): EtcdStore {
  return openTestStore(etcd, prefix, stores, tls);
}

const goodTls = (): StoreTlsFiles => ({ caFile: ca.caFile, certFile: client.cert, keyFile: client.key });

/** `meshlite serve` in this process on the store under /served, reached with `tls`. */
function serveStore(tls: StoreTlsFiles, stateDir: string) {
  return serveFromStore(openStore('/served', tls), stateDir);
}

test('the harness member wants TLS: its URL is etcds:// on https', () => {
  assert.match(etcd.storeUrl('/x'), /^etcds:\/\/127\.78\.9\.1:2379\/x$/);
  assert.match(etcd.members[0]!.clientUrl, /^https:\/\//);
});

test('apply and get with the --store-tls-* files; serve from the same store shows its revision in /ready', async () => {
  const url = etcd.storeUrl('/served');
  const applied = await meshlite('apply', '-f', 'examples/s1-auto-mtls', '--store', url, ...tlsFlags());
  assert.is(applied.code, 0, applied.stderr);
  assert.is(applied.stderr, '', 'nothing on stderr (no TLS warnings either)');
  assert.match(applied.stdout, 'networking.istio.io/WorkloadEntry/foo/sleep created');
  const revision = Number(/at store revision (\d+)/.exec(applied.stdout)?.[1]);
  assert.ok(revision > 0, applied.stdout);

  const listed = await meshlite('get', '--store', url, '-o', 'name', ...tlsFlags());
  assert.is(listed.code, 0, listed.stderr);
  assert.ok(listed.stdout.split('\n').includes('networking.istio.io/WorkloadEntry/foo/sleep'), listed.stdout);

  const stateDir = mkdtempSync(join(tmpdir(), 'meshlite-store-tls-'));
  const m = await serveStore(goodTls(), stateDir);
  try {
    let ready: any;
    await until('/ready at the applied revision', async () => {
      const res = await fetch(`http://127.0.0.1:${m.adminPort}/ready`);
      ready = await res.json();
      return (res.status === 200 && ready.store?.revision === revision) || undefined;
    });
    assert.is(ready.store.url, url);
    assert.is(ready.store.state, 'available');
    const served = (m.controlPlane.currentModel?.registry.workloads.map((w) => w.id) ?? []).sort();
    assert.ok(served.includes('sleep.foo'), served.join(','));

    // The other store commands take the same flags.
    const replicas = await meshlite('replicas', '--store', url, '-o', 'json', ...tlsFlags());
    assert.is(replicas.code, 0, replicas.stderr);
    assert.ok(Array.isArray(JSON.parse(replicas.stdout).replicas));
    const revoked = await meshlite('token', 'revoke', '--id', 'tls-test-jti', '--store', url, ...tlsFlags());
    assert.is(revoked.code, 0, revoked.stderr);
    const revocations = await meshlite('token', 'revocations', '--json', '--store', url, ...tlsFlags());
    assert.is(revocations.code, 0, revocations.stderr);
    assert.equal(
      JSON.parse(revocations.stdout).map((r: { tokenId?: string }) => r.tokenId),
      ['tls-test-jti'],
    );
  } finally {
    await m.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('token and bootstrap list the --store-tls-* flags', async () => {
  for (const command of [['token'], ['bootstrap']]) {
    const help = await meshlite(...command, '--help');
    for (const flag of ['--store-tls-ca', '--store-tls-cert', '--store-tls-key']) assert.match(help.stdout, flag, command.join(' '));
  }
});

test('no client certificate, or one from another CA: apply exits 4 with one line and writes nothing', async () => {
  const url = etcd.storeUrl('/refused');
  const check = openStore('/refused', goodTls());
  const before = (await check.range('')).revision;
  const runs = [
    await meshlite('apply', '-f', 'examples/s1-auto-mtls', '--store', url, '--store-tls-ca', ca.caFile),
    await meshlite(
      'apply',
      '-f',
      'examples/s1-auto-mtls',
      '--store',
      url,
      '--store-tls-ca',
      ca.caFile,
      '--store-tls-cert',
      stranger.cert,
      '--store-tls-key',
      stranger.key,
    ),
  ];
  for (const r of runs) {
    assert.is(r.code, 4, r.stderr);
    assert.equal(r.stderr.trim().split('\n'), [
      `meshlite: no TLS connection to the store ${url}: etcd refused the TLS client certificate: give --store-tls-cert and --store-tls-key with one signed by a CA the members trust; nothing was written`,
    ]);
    assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
  }
  assert.is((await check.range('')).revision, before, 'nothing was written');
});

test("without --store-tls-ca the member's certificate is not trusted: one line naming the flag", async () => {
  const r = await meshlite('get', '--store', etcd.storeUrl('/any'), '--store-tls-cert', client.cert, '--store-tls-key', client.key);
  assert.is(r.code, 4, r.stderr);
  assert.equal(r.stderr.trim().split('\n'), [
    `meshlite: no TLS connection to the store ${etcd.storeUrl('/any')}: the etcd member's certificate is not signed by a trusted CA: give the CA that signed it with --store-tls-ca; nothing was written`,
  ]);
});

test('etcd:// against the TLS member fails within the call deadline, pointing at etcds://', async () => {
  const plain = etcd.storeUrl('/plain').replace(/^etcds:/, 'etcd:');
  const r = await meshlite('get', '--store', plain);
  assert.is(r.code, 4, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0]!, `meshlite: the store ${plain} did not answer`);
  assert.match(lines[0]!, 'if the members serve TLS, use etcds://');
  assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
  const mixed = await meshlite('get', '--store', plain, ...tlsFlags());
  assert.is(mixed.code, 2, mixed.stderr);
  assert.match(mixed.stderr, 'the --store-tls-* files need an etcds:// URL');
});

test('flags that do not fit are refused before dialling (exit 2, one line)', async () => {
  const url = etcd.storeUrl('/flags');
  const noKey = await meshlite('get', '--store', url, '--store-tls-ca', ca.caFile, '--store-tls-cert', client.cert);
  assert.is(noKey.code, 2);
  assert.equal(noKey.stderr.trim().split('\n'), ['meshlite: --store-tls-cert and --store-tls-key go together']);
  const missing = join(pm.dir, 'missing.pem');
  const noFile = await meshlite('get', '--store', url, '--store-tls-ca', missing);
  assert.is(noFile.code, 2);
  assert.equal(noFile.stderr.trim().split('\n'), [`meshlite: --store-tls-ca ${missing}: no such file`]);
});

test('a client key others can read works, with a warning', async () => {
  const loose = await ca.issue('loose-client', { commonName: 'meshlite', usage: 'client' });
  chmodSync(loose.key, 0o644);
  const r = await meshlite(
    'get',
    '--store',
    etcd.storeUrl('/served'),
    '--store-tls-ca',
    ca.caFile,
    '--store-tls-cert',
    loose.cert,
    '--store-tls-key',
    loose.key,
  );
  assert.is(r.code, 0, r.stderr);
  assert.equal(r.stderr.trim().split('\n'), [
    `meshlite: warning: --store-tls-key ${loose.key} is readable by group or others; chmod 600 it`,
  ]);
});

test('serve without a client certificate does not crash: not ready, the store unavailable and why', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'meshlite-store-tls-'));
  const m = await serveStore({ caFile: ca.caFile }, stateDir);
  try {
    let body: any;
    await until('/ready to say why the store is unavailable', async () => {
      const res = await fetch(`http://127.0.0.1:${m.adminPort}/ready`);
      body = await res.json();
      return (res.status === 503 && /client certificate/.test(body.store?.lastError ?? '')) || undefined;
    });
    assert.is(body.store.state, 'unavailable');
    assert.is(m.controlPlane.currentModel, undefined, 'nothing is served');
    const metrics = await (await fetch(`http://127.0.0.1:${m.adminPort}/metrics`)).text();
    assert.match(metrics, /^meshlite_store_available 0$/m);
  } finally {
    await m.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test.run();
