// Replicas sharing one identity through a real etcd: started together they
// end up with one CA and one token key (sealed in the store), a replica with
// another key or another CA refuses to start, tokens and revocations made by
// the CLI against the store hold on every replica, and a revocation closes
// streams on a replica that did not issue their credentials.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pino } from 'pino';
import { type MeshliteOptions, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { EtcdStore } from '../../src/store/etcd-store.js';
import { ledgerKey, STORE_KEYS } from '../../src/store/store-keys.js';
import { resourceKeyOf } from '../../src/store/stored-resources.js';
import { parseStoreUrl } from '../../src/store/store-url.js';
import { cacertsFor, errorOf, makeRoot, writeCaCerts } from '../ca/ca-fixtures.js';
import {
  caClient,
  type ClientTls,
  createCertificate,
  signed,
  startTestMeshlite,
  type TestMeshlite,
  WORKLOADS,
} from '../ca-service/ca-client.js';
import { SotwClient } from '../server/xds-client.js';
import { csrFor, p256 } from '../support/csr.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { ProcessManager } from '../support/e2e/process-manager.js';
import { type EtcdCluster, startEtcd } from '../support/etcd.js';
import { after, before } from '../support/hooks.js';
import { yamlOf } from '../support/fixtures/index.js';
import { REPO_ROOT } from '../support/paths.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const PREFIX = '/identity-test';
const run = promisify(execFile);

let pm: ProcessManager;
let etcd: EtcdCluster;
let raw: Etcd3;
let keyFile: string;
const storeKey = randomBytes(32);
const stores: EtcdStore[] = [];
const replicas: TestMeshlite[] = [];
const clients: grpc.Client[] = [];
const streams: SotwClient[] = [];
let r1: TestMeshlite;
let r2: TestMeshlite;

function openStore(): EtcdStore {
  const store = new EtcdStore({ location: parseStoreUrl(etcd.storeUrl(PREFIX)), callTimeoutMs: 2000 });
  stores.push(store);
  return store;
}

async function replica(options: Partial<MeshliteOptions> = {}): Promise<TestMeshlite> {
  const r = await startTestMeshlite({ store: openStore(), storeKey, ...options });
  replicas.push(r);
  return r;
}

/** Why a replica with these options does not start (its files under the process manager's directory). */
async function refusal(options: Partial<MeshliteOptions>): Promise<string> {
  const dir = mkdtempSync(join(pm.dir, 'refused-'));
  writeFileSync(join(dir, 'workloads.yaml'), yamlOf(...WORKLOADS));
  const started = startMeshlite({
    configPaths: [join(dir, 'workloads.yaml')],
    stateDir: join(dir, 'state'),
    adsAddress: '127.0.0.1:0',
    adminAddress: '127.0.0.1:0',
    insecure: false,
    logger: pino({ level: 'silent' }),
    store: openStore(),
    storeKey,
    ...options,
  });
  return errorOf(started);
}

async function meshlite(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

before(test, async () => {
  pm = new ProcessManager('store-identity');
  etcd = await startEtcd(pm, loopbackAddress('store/store-identity.test.ts'));
  raw = new Etcd3({ hosts: etcd.members.map((m) => m.clientUrl) });
  keyFile = join(pm.dir, 'store.key');
  writeFileSync(keyFile, `${storeKey.toString('base64')}\n`, { mode: 0o600 });
  // The mesh in the store too (replicas read their config from it once that is merged; the CLI does now).
  const setup = openStore();
  for (const doc of WORKLOADS) await setup.kv.put(resourceKeyOf(doc)!).value(yamlOf(doc));
  [r1, r2] = await Promise.all([replica(), replica()]);
});

after(test, async () => {
  for (const s of streams) s.close();
  for (const c of clients) c.close();
  for (const r of replicas) await r.stop();
  for (const s of stores) await s.close();
  raw?.close();
  await pm?.stopAll();
  pm?.removeDir();
});

function client(r: TestMeshlite, tls?: ClientTls): grpc.Client {
  const c = caClient(r.m, tls);
  clients.push(c);
  return c;
}

/** An ADS stream to `r` that got its first response: by bearer token, or (agent) by client certificate. */
async function openStream(r: TestMeshlite, proxy: string, auth: { token: string } | { tls: ClientTls }): Promise<SotwClient> {
  const md = new grpc.Metadata();
  if ('token' in auth) md.set('authorization', `Bearer ${auth.token}`);
  const s = new SotwClient(client(r, 'tls' in auth ? auth.tls : undefined), md);
  streams.push(s);
  s.request('clusters', { node: { id: proxy, ...('tls' in auth ? { metadata: { MESHLITE_AGENT: 'true' } } : {}) } });
  assert.is((await s.next()).type, 'clusters');
  return s;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function svid(r: TestMeshlite, token: string): Promise<ClientTls> {
  const key = p256();
  const issued = signed(await createCertificate(client(r, undefined), { csr: csrFor(key), token }));
  return { certChainPem: issued.chain.join(''), privateKeyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

test('replicas started at the same moment share one root and one token key, sealed in the store', async () => {
  const fingerprint = r1.m.ca.info.rootFingerprintSha256;
  assert.is(r2.m.ca.info.rootFingerprintSha256, fingerprint);
  const creators = [r1, r2].filter((r) => r.logLines.some((l) => l.includes('created a self-signed root and shared it')));
  assert.is(creators.length, 1, 'one replica made the root, the other used it');
  const debugCa = (await (await fetch(`http://127.0.0.1:${r2.m.adminPort}/debug/ca`)).json()) as { rootFingerprintSha256: string };
  assert.is(debugCa.rootFingerprintSha256, fingerprint);
  const identity = await raw.namespace(`${PREFIX}/`).getAll().prefix('identity/').strings();
  assert.equal(Object.keys(identity).sort(), [STORE_KEYS.caIdentity, STORE_KEYS.caRootFingerprint, STORE_KEYS.tokenKey]);
  assert.is(identity[STORE_KEYS.caRootFingerprint], fingerprint);
  for (const k of [STORE_KEYS.caIdentity, STORE_KEYS.tokenKey]) {
    assert.not.match(identity[k]!, /PRIVATE KEY|BEGIN/, `${k} is in the clear`);
    assert.is(JSON.parse(identity[k]!).alg, 'AES-256-GCM');
  }
  // A token replica 1 signed is good on replica 2.
  const issued = signed(await createCertificate(client(r2), { csr: csrFor(p256()), token: await r1.m.tokens!.issue('sleep.foo') }));
  assert.ok(issued.leaf.checkIssued(new (await import('node:crypto')).X509Certificate(r1.m.ca.rootCertPem)));
});

test('a replica with another store key refuses to start, saying so', async () => {
  const message = await refusal({ storeKey: randomBytes(32) });
  assert.match(message, '--store-key-file does not open identity/ca: not the key the replicas that created it used');
});

test('a replica whose --ca-dir holds another root refuses to start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-other-ca-'));
  try {
    const root = await makeRoot();
    writeCaCerts(dir, cacertsFor(root, [], root));
    const message = await refusal({ caDir: dir });
    assert.match(message, `the CA in --ca-dir ${dir} has root`);
    assert.match(message, `but the replicas of this store serve root ${r1.m.ca.info.rootFingerprintSha256}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('meshlite token --store signs with the shared key: replica 2 accepts the token; an unknown proxy is refused', async () => {
  const url = etcd.storeUrl(PREFIX);
  const out = await meshlite('token', '--store', url, '--store-key-file', keyFile, '--proxy', 'sleep.bar', '--ttl', '1h', '--json');
  assert.is(out.code, 0, out.stderr);
  const { token, proxy } = JSON.parse(out.stdout) as { token: string; proxy: string };
  assert.is(proxy, 'sleep.bar');
  signed(await createCertificate(client(r2), { csr: csrFor(p256()), token }));
  const unknown = await meshlite('token', '--store', url, '--store-key-file', keyFile, '--proxy', 'nobody.foo');
  assert.is.not(unknown.code, 0);
  assert.match(unknown.stderr, 'no workload "nobody.foo"');
  const noKey = await meshlite('token', '--store', url, '--proxy', 'sleep.bar');
  assert.match(noKey.stderr, '--store needs --store-key-file');
});

test('token revoke --store on a proxy closes, on replica 2, its token stream and the stream of a certificate replica 1 issued to it', async () => {
  const tokenStream = await openStream(r2, 'httpbin.foo', { token: await r1.m.tokens!.issue('httpbin.foo') });
  const cert = await svid(r1, await r1.m.tokens!.issue('httpbin.foo'));
  const certStream = await openStream(r2, 'httpbin.foo', { tls: cert });
  const bystander = await openStream(r2, 'sleep.foo', { token: await r1.m.tokens!.issue('sleep.foo') });
  const serial = new (await import('node:crypto')).X509Certificate(cert.certChainPem).serialNumber.toLowerCase();
  const stored = await until('replica 1 shares the certificate it issued', async () => {
    const res = await raw.namespace(`${PREFIX}/`).get(ledgerKey(serial)).exec();
    return res.kvs[0];
  });
  assert.is(JSON.parse(stored.value.toString()).holder, 'httpbin.foo');
  assert.is.not(stored.lease, '0', 'the entry lives under a lease (gone when the certificate expires)');

  const out = await meshlite('token', 'revoke', '--store', etcd.storeUrl(PREFIX), '--proxy', 'httpbin.foo');
  assert.is(out.code, 0, out.stderr);
  assert.match(out.stdout, 'revoked every token of httpbin.foo');
  const tokenEnd = await tokenStream.raw.endWithin(5000);
  assert.is(grpc.status[tokenEnd.code], 'UNAUTHENTICATED');
  assert.match(tokenEnd.details, /token revoked: every token of httpbin\.foo issued up to/);
  const certEnd = await certStream.raw.endWithin(5000);
  assert.is(grpc.status[certEnd.code], 'UNAUTHENTICATED');
  assert.match(certEnd.details, /certificate [0-9a-f]+ was issued to httpbin\.foo, and every token of httpbin\.foo issued up to/);
  bystander.request('listeners', {});
  assert.is((await bystander.next()).type, 'listeners', "another proxy's stream goes on");
  const listed = await meshlite('token', 'revocations', '--store', etcd.storeUrl(PREFIX), '--json');
  assert.equal(
    (JSON.parse(listed.stdout) as { proxy?: string }[]).map((r) => r.proxy),
    ['httpbin.foo'],
  );
});

test('a root rotation is refused with 409 in store mode', async () => {
  const res = await fetch(`http://127.0.0.1:${r1.m.adminPort}/ca/rotate-root`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  assert.is(res.status, 409);
  assert.equal(await res.json(), { error: 'root rotation is not available with --store yet' });
  assert.is(r1.m.rootRotation.status() && (r1.m.rootRotation.status() as { phase: string }).phase, 'idle');
});

test('etcd down: certificates are still issued; their ledger entries wait and reach the store once it is back', async () => {
  await etcd.members[0]!.stop();
  const token = await r1.m.tokens!.issue('httpbin.bar');
  const cert = await svid(r1, token);
  const serial = new (await import('node:crypto')).X509Certificate(cert.certChainPem).serialNumber.toLowerCase();
  await until('the write failed and was logged', async () =>
    r1.logLines.find((l) => l.includes('could not share an issued certificate in the store') && l.includes(serial)),
  );
  await etcd.members[0]!.start();
  const stored = await until(
    'the queued entry is written',
    async () =>
      (
        await raw
          .namespace(`${PREFIX}/`)
          .get(ledgerKey(serial))
          .exec()
          .catch(() => undefined)
      )?.kvs[0],
    20_000,
  );
  assert.is(JSON.parse(stored.value.toString()).holder, 'httpbin.bar');
});

test.run();
