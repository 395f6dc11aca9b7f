// The offline commands reading the config from a store instead of -c, and
// `bootstrap --store` making a complete Envoy bootstrap from the store alone
// (config, registered replicas, shared token key, CA root), against a real
// etcd and a real replica: the same output as from files, errors naming etcd
// keys, and a store that does not answer is exit 4 within seconds.
import { randomBytes, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { TokenAuthority } from '../../src/identity/proxy-token.js';
import { EtcdStore } from '../../src/store/etcd-store.js';
import { readMesh } from '../../src/store/replica-registry.js';
import { seal } from '../../src/store/sealed-box.js';
import { STORE_KEYS } from '../../src/store/store-keys.js';
import { parseStoreUrl } from '../../src/store/store-url.js';
import { makeRoot } from '../ca/ca-fixtures.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { ProcessManager } from '../support/e2e/process-manager.js';
import { type EtcdCluster, startEtcd } from '../support/etcd.js';
import { REPO_ROOT } from '../support/paths.js';
import { runMeshlite } from '../support/store-cli.js';

const S1 = 'examples/s1-auto-mtls';
const PREFIX = '/cmds';
const storeKey = randomBytes(32);

let pm: ProcessManager;
let etcd: EtcdCluster;
let url: string;
let keyFile: string;
let replica: RunningMeshlite | undefined;
const stores: EtcdStore[] = [];

function openStore(prefix: string): EtcdStore {
  const store = new EtcdStore({ location: parseStoreUrl(etcd.storeUrl(prefix)), callTimeoutMs: 1500 });
  stores.push(store);
  return store;
}

/** The CLI run from the repository (so `-c examples/...` resolves), never throwing. */
const meshlite = (...args: string[]) => runMeshlite(REPO_ROOT, args);

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface BootstrapJson {
  static_resources: { clusters: any[] };
}

function adsCluster(boot: BootstrapJson): any {
  return boot.static_resources.clusters.find((c) => c.name === 'xds_cluster') ?? boot.static_resources.clusters[0];
}
const endpointsOf = (boot: BootstrapJson) =>
  adsCluster(boot).load_assignment.endpoints[0].lb_endpoints.map(
    (e: any) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`,
  );
const trustedCaOf = (boot: BootstrapJson): string =>
  adsCluster(boot).transport_socket.typed_config.common_tls_context.validation_context.trusted_ca.inline_string;
const tokenOf = (boot: BootstrapJson): string => {
  const text = JSON.stringify(boot);
  return /"Bearer ([^"]+)"/.exec(text)![1]!;
};

test.before(async () => {
  pm = new ProcessManager('cli-store-commands');
  etcd = await startEtcd(pm, loopbackAddress('cli/store-commands.test.ts'));
  url = etcd.storeUrl(PREFIX);
  keyFile = join(pm.dir, 'store.key');
  writeFileSync(keyFile, `${storeKey.toString('hex')}\n`, { mode: 0o600 });
  const applied = await meshlite('apply', '-f', S1, '--store', url);
  assert.is(applied.code, 0, applied.stderr);
  replica = await startMeshlite({
    store: openStore(PREFIX),
    storeKey,
    replicaId: 'cli-r1',
    configPaths: [],
    stateDir: join(pm.dir, 'state'),
    adsAddress: '127.0.0.1:0',
    adminAddress: '127.0.0.1:0',
    insecure: false,
    logger: pino({ level: 'silent' }),
  });
});

test.after(async () => {
  await replica?.stop();
  await Promise.all(stores.map((s) => s.close()));
  await pm.stopAll();
  pm.removeDir();
});

test('validate --store: ok on the applied config; a broken stored value is reported by its etcd key and line, exit 1', async () => {
  const ok = await meshlite('validate', '--store', url);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(
    ok.stdout,
    /^ok: \d+ resources \(\d+ ServiceEntry, [^)]+\) in \d+ key\(s\) of etcd:\/\/127\.77\.9\.1:2379\/cmds at revision \d+\n$/,
  );

  const broken = openStore('/broken');
  const key = 'config/networking.istio.io/DestinationRule/foo/bad';
  // Written past apply (which would refuse it): the fourth line holds the error.
  await broken.kv
    .put(key)
    .value('apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: bad, namespace: foo}\nspec: {host: 7}\n');
  const bad = await meshlite('validate', '--store', etcd.storeUrl('/broken'));
  assert.is(bad.code, 1);
  assert.is(bad.stdout, '');
  assert.match(bad.stderr, new RegExp(`^etcd:/broken/${key}:4:\\d+: `, 'm'));
  assert.match(bad.stderr, /^1 error\(s\)$/m);
  // A command needing the model refuses the same store with the same lines.
  const proxies = await meshlite('proxies', '--store', etcd.storeUrl('/broken'));
  assert.is(proxies.code, 1);
  assert.match(proxies.stderr, new RegExp(`^etcd:/broken/${key}:4:\\d+: `, 'm'));
  assert.match(proxies.stderr, /1 error\(s\) in the config of etcd:\/\/127\.77\.9\.1:2379\/broken$/m);
  // An empty prefix has no config to check.
  const empty = await meshlite('validate', '--store', etcd.storeUrl('/nothing'));
  assert.is(empty.code, 1);
  assert.match(empty.stderr, 'holds no config yet: write it with meshlite apply');
});

test('analyze --store: the findings of the stored config, placed at the etcd key and line of the field', async () => {
  const clean = await meshlite('analyze', '--store', url);
  assert.is(clean.code, 0, clean.stderr);
  assert.is(clean.stdout, 'no findings\n');
  const s3 = etcd.storeUrl('/analyze');
  const applied = await meshlite('apply', '-f', 'examples/s3-dr-disable', '--store', s3);
  assert.is(applied.code, 0, applied.stderr);
  const r = await meshlite('analyze', '--store', s3);
  assert.is(r.code, 1, r.stderr);
  assert.match(
    r.stdout,
    /^etcd:\/analyze\/config\/networking\.istio\.io\/DestinationRule\/bar\/httpbin:\d+:\d+: Error ML0101 DestinationRule bar\/httpbin: spec\.trafficPolicy\.tls\.mode: /m,
  );
});

test('proxies, generate, describe and diff --store mean exactly what they mean from the files applied', async () => {
  for (const args of [['proxies'], ['generate', '--proxy', 'sleep.foo'], ['describe'], ['generate', '--all', '-o', 'yaml']]) {
    const [fromFiles, fromStore] = await Promise.all([meshlite(...args, '-c', S1), meshlite(...args, '--store', url)]);
    assert.is(fromFiles.code, 0, fromFiles.stderr);
    assert.is(fromStore.code, 0, fromStore.stderr);
    assert.ok(fromStore.stdout.length > 100, `${args[0]} printed something`);
    assert.is(fromStore.stdout, fromFiles.stdout, `${args.join(' ')}: byte for byte`);
  }
  // diff's offline meaning from the store: a dump made from the files matches it, one from another proxy does not.
  const dumps = await Promise.all(['sleep.foo', 'httpbin.bar'].map((p) => meshlite('generate', '-c', S1, '--proxy', p)));
  const [same, other] = ['same.json', 'other.json'].map((f, i) => {
    writeFileSync(join(pm.dir, f), dumps[i]!.stdout);
    return join(pm.dir, f);
  });
  const matching = await meshlite('diff', '--store', url, '--proxy', 'sleep.foo', '--file', same!);
  assert.is(matching.code, 0, matching.stdout + matching.stderr);
  const differing = await meshlite('diff', '--store', url, '--proxy', 'sleep.foo', '--file', other!);
  assert.is(differing.code, 1, differing.stdout + differing.stderr);
  const both = await meshlite('diff', '--store', url, '-c', S1, '--proxy', 'sleep.foo', '--file', same!);
  assert.is(both.code, 2);
  assert.is(both.stderr, 'meshlite diff: give exactly one of -c/--config, --store or --meshlite-admin\n');
});

test('one source of config: -c with --store, or neither, is one line and exit 2', async () => {
  const both = await meshlite('generate', '-c', S1, '--store', url, '--proxy', 'sleep.foo');
  assert.is(both.code, 2);
  assert.is(
    both.stderr,
    'meshlite generate: give -c <path> or --store <url>, not both (with --store the config is the one the store holds)\n',
  );
  const neither = await meshlite('bootstrap', '--proxy', 'sleep.foo');
  assert.is(neither.code, 2);
  assert.is(neither.stderr, 'meshlite bootstrap: give the config with -c <path> (repeatable) or --store <url>\n');
  const token = await meshlite('token', '-c', S1, '--store', url, '--proxy', 'sleep.foo');
  assert.is(token.code, 2);
  assert.match(token.stderr, /^meshlite token: give -c <path> or --store <url>, not both/);
});

test('bootstrap --store: the replica accepts its token, it trusts the replica root, lists the registered replica, holds no key', async () => {
  const r = replica!;
  const registered = await until('the replica registered', async () => {
    const mesh = await readMesh(stores[0]!);
    return mesh.replicas.length > 0 ? mesh.replicas : undefined;
  });
  const out = await meshlite('bootstrap', '--store', url, '--store-key-file', keyFile, '--proxy', 'sleep.foo', '--token-ttl', '1h');
  assert.is(out.code, 0, out.stderr);
  assert.not.match(out.stdout + out.stderr, 'PRIVATE KEY');
  const boot = JSON.parse(out.stdout) as BootstrapJson;
  assert.equal(endpointsOf(boot), [registered[0]!.adsAddress]);
  assert.is(registered[0]!.adsAddress, `127.0.0.1:${r.adsPort}`);
  assert.is(trustedCaOf(boot), r.ca.rootCertPem);
  const check = await r.tokens!.verify(tokenOf(boot));
  assert.ok(check.ok, check.ok ? '' : check.reason);
  assert.is(check.ok && check.workloadId, 'sleep.foo');
  assert.match(out.stderr, /embedded token id \(jti\) \S+ for sleep\.foo/);

  // --control-plane still names the replicas when given.
  const listed = await meshlite(
    'bootstrap',
    '--store',
    url,
    '--store-key-file',
    keyFile,
    '--proxy',
    'sleep.foo',
    '--control-plane',
    '10.1.1.1:15010,10.1.1.2:15010',
  );
  assert.is(listed.code, 0, listed.stderr);
  assert.equal(endpointsOf(JSON.parse(listed.stdout)), ['10.1.1.1:15010', '10.1.1.2:15010']);

  // The proxy is checked against the store's config.
  const unknown = await meshlite('bootstrap', '--store', url, '--store-key-file', keyFile, '--proxy', 'nobody.foo');
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, 'no workload "nobody.foo"');

  // token --store signs with the same shared key.
  const token = await meshlite('token', '--store', url, '--store-key-file', keyFile, '--proxy', 'httpbin.bar', '--json');
  assert.is(token.code, 0, token.stderr);
  assert.ok((await r.tokens!.verify(JSON.parse(token.stdout).token)).ok);
});

test('a store key that does not open the store: the sealed box error, exit 1, nothing printed on stdout', async () => {
  const wrong = join(pm.dir, 'wrong.key');
  writeFileSync(wrong, randomBytes(32).toString('base64'), { mode: 0o600 });
  for (const command of ['bootstrap', 'token']) {
    const out = await meshlite(command, '--store', url, '--store-key-file', wrong, '--proxy', 'sleep.foo');
    assert.is(out.code, 1, out.stderr);
    assert.is(out.stdout, '');
    assert.is(
      out.stderr,
      `meshlite ${command}: --store-key-file does not open identity/token-key: not the key the replicas that created it used (or the stored value was altered or moved from another key)\n`,
    );
  }
  const missing = await meshlite('bootstrap', '--store', url, '--proxy', 'sleep.foo');
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /^meshlite bootstrap: --store needs --store-key-file/);
});

test('a plugged-in CA: the store holds only its fingerprint; --root-cert must be given and match', async () => {
  const prefix = '/plugged';
  const store = openStore(prefix);
  const [ours, other] = await Promise.all([makeRoot(), makeRoot()]);
  // What replicas started with --ca-dir leave in the store: the token key and the root's fingerprint only.
  const tokenKeyPem = await TokenAuthority.generatePrivateKeyPem();
  await store.kv.put(STORE_KEYS.tokenKey).value(seal(storeKey, STORE_KEYS.tokenKey, JSON.stringify({ privateKeyPem: tokenKeyPem })));
  await store.kv.put(STORE_KEYS.caRootFingerprint).value(new X509Certificate(ours.certPem).fingerprint256);
  const applied = await meshlite('apply', '-f', S1, '--store', etcd.storeUrl(prefix));
  assert.is(applied.code, 0, applied.stderr);
  const oursFile = join(pm.dir, 'root-cert.pem');
  const otherFile = join(pm.dir, 'other-root.pem');
  writeFileSync(oursFile, ours.certPem);
  writeFileSync(otherFile, other.certPem);
  const base = [
    'bootstrap',
    '--store',
    etcd.storeUrl(prefix),
    '--store-key-file',
    keyFile,
    '--proxy',
    'sleep.foo',
    '--control-plane',
    '127.0.0.1:15010',
  ];

  const none = await meshlite(...base);
  assert.is(none.code, 1);
  assert.match(
    none.stderr,
    /^meshlite bootstrap: the replicas of \S+ use a plugged-in CA .* pass --root-cert <root-cert\.pem> or --ca-dir <dir>\n$/,
  );
  const mismatch = await meshlite(...base, '--root-cert', otherFile);
  assert.is(mismatch.code, 1);
  assert.match(mismatch.stderr, `--root-cert ${otherFile} has root ${new X509Certificate(other.certPem).fingerprint256}, but the replicas`);
  const good = await meshlite(...base, '--root-cert', oursFile);
  assert.is(good.code, 0, good.stderr);
  const boot = JSON.parse(good.stdout) as BootstrapJson;
  assert.is(trustedCaOf(boot), ours.certPem);
  const tokens = await TokenAuthority.fromPrivateKeyPem(tokenKeyPem);
  assert.ok((await tokens.verify(tokenOf(boot))).ok);
});

test('a store that does not answer: one line and exit 4 within seconds', async () => {
  await replica?.stop();
  replica = undefined;
  await etcd.stopAll();
  for (const args of [
    ['validate', '--store', url],
    ['generate', '--store', url, '--proxy', 'sleep.foo'],
    ['bootstrap', '--store', url, '--store-key-file', keyFile, '--proxy', 'sleep.foo'],
    ['token', '--store', url, '--store-key-file', keyFile, '--proxy', 'sleep.foo'],
  ]) {
    const out = await meshlite(...args);
    assert.is(out.code, 4, `${args[0]}: ${out.stderr}`);
    assert.ok(out.ms < 10_000, `${args[0]} took ${out.ms} ms`);
    assert.is(out.stdout, '');
    assert.match(out.stderr, new RegExp(`^meshlite ${args[0]}: the store etcd://127\\.77\\.9\\.1:2379/cmds did not answer \\(.*\\)\\n$`));
  }
});

test.run();
