// `meshlite apply`, `get` and `delete` as a user runs them, against a real
// etcd: the whole resulting config is validated before anything is written,
// every change lands in one transaction, a concurrent write is detected.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readConfigFiles } from '../../src/config/config-files.js';
import { withDefaults } from '../../src/config/limits.js';
import { loadMeshTexts } from '../../src/control-plane/load-mesh.js';
import { planApply, planDelete } from '../../src/store/config-plan.js';
import { commitConfigChanges, readConfigSnapshot } from '../../src/store/config-transaction.js';
import { writeConfig } from '../../src/store/config-write.js';
import { EtcdStore } from '../../src/store/etcd-store.js';
import { parseStoreUrl } from '../../src/store/store-url.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { ProcessManager } from '../support/e2e/process-manager.js';
import { type EtcdCluster, startEtcd } from '../support/etcd.js';
import { REPO_ROOT } from '../support/paths.js';
import { routeYaml, runMeshlite } from '../support/store-cli.js';

const CHECKS = { validate: loadMeshTexts };
const GATEWAY = 'config/networking.istio.io/Gateway/default/httpsgw';

let pm: ProcessManager;
let etcd: EtcdCluster;
const stores: EtcdStore[] = [];

/** The CLI in the test's directory (file names in errors are relative to it). */
function meshlite(args: string[], env: Record<string, string> = {}, onStderr?: (text: string) => void) {
  return runMeshlite(pm.dir, args, env, onStderr);
}

function storeAt(prefix: string): EtcdStore {
  const store = new EtcdStore({ location: parseStoreUrl(etcd.storeUrl(prefix)) });
  stores.push(store);
  return store;
}

/** A config directory under the test's directory: the S6 example (a gateway, two routes, their services) plus `extra` files. */
function configDir(name: string, extra: Record<string, string> = {}): string {
  const dir = join(pm.dir, name);
  mkdirSync(dir, { recursive: true });
  cpSync(join(REPO_ROOT, 'examples/s6-ingress-mutual-tls'), dir, { recursive: true });
  for (const [file, text] of Object.entries(extra)) writeFileSync(join(dir, file), text);
  return name;
}

test.before(async () => {
  pm = new ProcessManager('cli-apply');
  etcd = await startEtcd(pm, loopbackAddress('cli/apply.test.ts'));
});

test.after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await pm.stopAll();
  pm.removeDir();
});

test('apply a directory, get lists it; applying it again writes nothing', async () => {
  const url = etcd.storeUrl('/basic');
  const dir = configDir('basic');
  const first = await meshlite(['apply', '-f', dir, '--store', url]);
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stdout, 'networking.istio.io/Gateway/default/httpsgw created');
  assert.match(first.stdout, /8 created at store revision \d+/);

  const store = storeAt('/basic');
  const stored = await store.get('config/networking.istio.io/WorkloadEntry/istio-system/ingressgateway');
  assert.ok(stored?.value.toString().startsWith('# S6: an ingress gateway'), 'the document is stored as written, comments kept');
  const writes = (await store.get('config-writes'))!;
  const note = JSON.parse(writes.value.toString());
  assert.is(note.summary, '8 created');
  assert.match(note.by, '@');

  const table = await meshlite(['get', '--store', url]);
  assert.is(table.code, 0, table.stderr);
  const rows = table.stdout.trim().split('\n');
  assert.equal(rows[0]!.split(/\s+/), ['NAMESPACE', 'KIND', 'NAME', 'REVISION']);
  assert.is(rows.length, 9);
  assert.ok(rows.some((r) => /^default\s+Gateway\s+httpsgw\s+\d+$/.test(r)));
  const routes = await meshlite(['get', 'virtualservices', '-n', 'default', '--store', url, '-o', 'name']);
  assert.equal(routes.stdout.trim().split('\n').sort(), [
    'networking.istio.io/VirtualService/default/goserver',
    'networking.istio.io/VirtualService/default/httpbin',
  ]);
  const missing = await meshlite(['get', 'gateway', 'nope', '--store', url]);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, 'not found');

  const before = await store.range('');
  const again = await meshlite(['apply', '-f', dir, '--store', url]);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, 'networking.istio.io/Gateway/default/httpsgw unchanged');
  assert.match(again.stdout, 'no changes');
  assert.is((await store.range('')).revision, before.revision, 'nothing was written');
  assert.is((await store.get('config-writes'))!.modRevision, writes.modRevision);

  // What `get -o yaml` prints is input for apply, and changes nothing.
  const dump = await meshlite(['get', '--store', url, '-o', 'yaml']);
  writeFileSync(join(pm.dir, 'dump.yaml'), dump.stdout);
  const reapplied = await meshlite(['apply', '-f', 'dump.yaml', '--store', url]);
  assert.is(reapplied.code, 0, reapplied.stderr);
  assert.match(reapplied.stdout, 'no changes');
});

test('an invalid apply prints every error with file:line and writes nothing', async () => {
  const url = etcd.storeUrl('/invalid');
  assert.is((await meshlite(['apply', '-f', configDir('invalid-base'), '--store', url])).code, 0);
  const store = storeAt('/invalid');
  const before = (await store.range('')).revision;
  mkdirSync(join(pm.dir, 'invalid-change'));
  // Bad alone; and one valid alone that breaks the whole config (a host the stored httpbin route already serves on that gateway).
  writeFileSync(
    join(pm.dir, 'invalid-change/bad.yaml'),
    'apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: Bad_Name, namespace: default}\nspec: {}\n',
  );
  writeFileSync(join(pm.dir, 'invalid-change/route.yaml'), routeYaml('httpbin.example.com', 'httpsgw'));
  writeFileSync(join(pm.dir, 'invalid-change/good.yaml'), routeYaml('other.example.com', 'httpsgw', 'fine'));
  const r = await meshlite(['apply', '-f', 'invalid-change', '--store', url]);
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stderr, /^invalid-change\/bad\.yaml:3:\d+: metadata\.name: .*Bad_Name/m);
  // Reported where the loader's order puts it (the stored route, by name), naming the applied file and line.
  assert.match(
    r.stderr,
    /^etcd:\/invalid\/config\/.*\/httpbin:\d+:\d+: .*httpbin\.example\.com.*already routed .*\(invalid-change\/route\.yaml:\d+\)/m,
  );
  assert.match(r.stderr, '2 error(s); nothing was written');
  assert.is((await store.range('')).revision, before, 'the store is untouched');

  const unbound = await meshlite(['apply', '-f', 'invalid-change/good.yaml', '--store', url, '--dry-run']);
  assert.is(unbound.code, 0, unbound.stderr);
  writeFileSync(join(pm.dir, 'unbound.yaml'), routeYaml('other.example.com', 'nogw'));
  const missingGateway = await meshlite(['apply', '-f', 'unbound.yaml', '--store', url]);
  assert.is(missingGateway.code, 1);
  assert.match(missingGateway.stderr, /^unbound\.yaml:7:\d+: spec\.gateways\[0\]: no Gateway "default\/nogw"/m);
  assert.is((await store.range('')).revision, before);
});

test('--dry-run prints a diff per changed key and writes nothing', async () => {
  const url = etcd.storeUrl('/dry');
  assert.is((await meshlite(['apply', '-f', configDir('dry-base'), '--store', url])).code, 0);
  const store = storeAt('/dry');
  const before = (await store.range('')).revision;
  const gateway = readFileSync(join(pm.dir, 'dry-base/gateway.yaml'), 'utf8').replace(
    'go.example.com]',
    'go.example.com, new.example.com]',
  );
  writeFileSync(join(pm.dir, 'dry-change.yaml'), gateway);
  const r = await meshlite(['apply', '-f', 'dry-change.yaml', '--store', url, '--dry-run']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, `+++ etcd:${GATEWAY}`);
  assert.match(r.stdout, '+    hosts: [go.example.com, new.example.com]');
  assert.match(r.stdout, 'networking.istio.io/Gateway/default/httpsgw configured (dry run)');
  assert.match(r.stdout, 'networking.istio.io/VirtualService/default/httpbin unchanged');
  assert.match(r.stdout, 'dry run: 1 configured; nothing was written');
  assert.is((await store.range('')).revision, before);
});

test('delete removes resources in one write; a delete that breaks the config is refused; not found is an error', async () => {
  const url = etcd.storeUrl('/delete');
  assert.is((await meshlite(['apply', '-f', configDir('delete-base'), '--store', url])).code, 0);
  const store = storeAt('/delete');
  const before = (await store.range('')).revision;

  const breaking = await meshlite(['delete', 'gateway', 'httpsgw', '-n', 'default', '--store', url]);
  assert.is(breaking.code, 1, breaking.stdout);
  assert.match(
    breaking.stderr,
    /etcd:\/delete\/config\/networking\.istio\.io\/VirtualService\/default\/httpbin:\d+:\d+: spec\.gateways\[0\]: no Gateway/,
  );
  assert.match(breaking.stderr, 'VirtualService/default/goserver');
  assert.is((await store.range('')).revision, before);

  const absent = await meshlite(['delete', 'vs', 'nope', '-n', 'default', '--store', url]);
  assert.is(absent.code, 1);
  assert.match(absent.stderr, 'vs default/nope: not found in the store');
  const ignored = await meshlite(['delete', 'vs', 'nope', '-n', 'default', '--store', url, '--ignore-not-found']);
  assert.is(ignored.code, 0, ignored.stderr);
  assert.match(ignored.stdout, 'no changes');
  assert.is((await store.range('')).revision, before);

  // The gateway and both routes bound to it, together: valid, one transaction.
  const r = await meshlite(['delete', '-f', 'delete-base/gateway.yaml', '--store', url]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, 'networking.istio.io/Gateway/default/httpsgw deleted');
  assert.match(r.stdout, /3 deleted at store revision (\d+)/);
  assert.is((await store.range('')).revision, before + 1, 'one revision: one transaction');
  const left = await meshlite(['get', '--store', url, '-o', 'name']);
  assert.not.match(left.stdout, 'VirtualService');
  assert.match(left.stdout, 'ServiceEntry/default/httpbin');
});

test('two applies from the same read: exactly one writes, the other exits 3; --retries applies it on top', async () => {
  const url = etcd.storeUrl('/race');
  assert.is((await meshlite(['apply', '-f', configDir('race-base'), '--store', url])).code, 0);
  const store = storeAt('/race');
  writeFileSync(join(pm.dir, 'race-a.yaml'), routeYaml('a.example.com', 'httpsgw'));
  writeFileSync(join(pm.dir, 'race-b.yaml'), routeYaml('b.example.com', 'httpsgw', 'bee'));

  for (const retries of ['0', '1']) {
    const gate = join(pm.dir, `gate-${retries}`);
    let held!: () => void;
    const readDone = new Promise<void>((r) => (held = r));
    const a = meshlite(
      ['apply', '-f', 'race-a.yaml', '--store', url, '--retries', retries],
      { MESHLITE_APPLY_HOLD_AFTER_READ: gate },
      (err) => {
        if (err.includes('held after reading')) held();
      },
    );
    await readDone;
    // B reads the same config A read, and writes first.
    writeFileSync(join(pm.dir, 'race-b.yaml'), routeYaml(`b${retries}.example.com`, 'httpsgw', 'bee'));
    const b = await meshlite(['apply', '-f', 'race-b.yaml', '--store', url]);
    assert.is(b.code, 0, b.stderr);
    writeFileSync(gate, '');
    const lost = await a;
    if (retries === '0') {
      assert.is(lost.code, 3, lost.stderr);
      assert.match(
        lost.stderr,
        /the store's config changed since it was read \(config-writes at revision \d+, read at \d+\): nothing was written; run again to apply on top of the new config, or use --retries/,
      );
      assert.is(await store.get('config/networking.istio.io/VirtualService/default/extra'), undefined, 'the loser wrote nothing');
    } else {
      assert.is(lost.code, 0, lost.stderr);
      assert.match(lost.stdout, /1 created at store revision \d+ after 1 conflict retry/);
      assert.match((await store.get('config/networking.istio.io/VirtualService/default/extra'))!.value.toString(), 'a.example.com');
      assert.match((await store.get('config/networking.istio.io/VirtualService/default/bee'))!.value.toString(), 'b1.example.com');
    }
  }
});

test('in process: of two writes planned from the same read only the first commits; a retry plans again and may then refuse', async () => {
  const url = etcd.storeUrl('/stale');
  assert.is((await meshlite(['apply', '-f', configDir('stale-base'), '--store', url])).code, 0);
  const store = storeAt('/stale');
  writeFileSync(join(pm.dir, 'stale-route.yaml'), routeYaml('stale.example.com', 'httpsgw'));
  const files = readConfigFiles([join(pm.dir, 'stale-route.yaml')], pm.dir, withDefaults());

  const first = await readConfigSnapshot(store);
  const second = await readConfigSnapshot(store);
  const plan = planApply(first, files.files, files.issues, CHECKS);
  assert.ok(plan.ok && plan.changes.length === 1);
  const won = await commitConfigChanges(store, first, plan.changes, { by: 't', at: 'now', summary: 'a' });
  assert.ok(won.committed);
  const lost = await commitConfigChanges(store, second, plan.changes, { by: 't', at: 'now', summary: 'b' });
  assert.equal(lost, { committed: false, conflict: { currentRevision: won.revision, readRevision: first.writes!.modRevision } });

  // A delete of the gateway with every route bound to it is valid as read; while it is between its read
  // and its write another route on that gateway lands: the retry plans on top of it and refuses.
  const gateway = (await readConfigSnapshot(store)).resources.find((r) => r.key === GATEWAY)!;
  const routes = (await readConfigSnapshot(store)).resources.filter((r) => r.key.includes('/VirtualService/'));
  assert.is(routes.length, 3);
  let interfered = false;
  const outcome = await writeConfig(store, {
    plan: (snapshot) =>
      planDelete(
        snapshot,
        [gateway, ...routes].map((r) => ({ key: r.key })),
        false,
        CHECKS,
      ),
    retries: 3,
    dryRun: false,
    by: 't',
    afterRead: async () => {
      if (interfered) return;
      interfered = true;
      const current = await readConfigSnapshot(store);
      writeFileSync(join(pm.dir, 'late.yaml'), routeYaml('late.example.com', 'httpsgw', 'late'));
      const lateFiles = readConfigFiles([join(pm.dir, 'late.yaml')], pm.dir, withDefaults());
      const latePlan = planApply(current, lateFiles.files, lateFiles.issues, CHECKS);
      assert.ok(latePlan.ok);
      assert.ok((await commitConfigChanges(store, current, latePlan.changes, { by: 't', at: 'now', summary: 'late' })).committed);
    },
  });
  assert.ok(interfered);
  assert.is(outcome.kind, 'invalid');
  if (outcome.kind !== 'invalid') return;
  const messages = outcome.plan.issues.map((i) => `${i.file}: ${i.message}`).join('\n');
  assert.match(messages, /VirtualService\/default\/late: .*no Gateway "default\/httpsgw"/);
  assert.is(outcome.plan.issues.length, 1, messages);
  assert.ok(await store.get(GATEWAY), 'the gateway is still there');
});

test('etcd down: a clear one-line error, exit 4, quickly', async () => {
  await etcd.members[0]!.stop();
  try {
    for (const args of [['apply', '-f', configDir('down')], ['get'], ['delete', 'gateway', 'httpsgw', '-n', 'default']]) {
      const r = await meshlite([...args, '--store', etcd.storeUrl('/down')]);
      assert.is(r.code, 4, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /^meshlite: the store etcd:\/\/[\d.:]+\/down did not answer \(.*\); nothing was written\n$/);
      assert.ok(r.ms < 10_000, `${args[0]} took ${r.ms} ms`);
    }
    // Files that cannot be read are refused first, with their own error.
    const unreadable = await meshlite(['apply', '-f', 'no-such-dir', '--store', etcd.storeUrl('/down')]);
    assert.is(unreadable.code, 1);
    assert.match(unreadable.stderr, /^no-such-dir: .*\n1 error\(s\); nothing was written\n$/);
  } finally {
    await etcd.members[0]!.start();
  }
});

test.run();
