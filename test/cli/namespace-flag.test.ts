// -n/--namespace and `.meshlite-namespace` as a user meets them: config
// written without namespaces read by validate/proxies/generate/describe, and
// applied to a real etcd, where what is stored names its namespace.
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BackgroundConfigLoader } from '../../src/control-plane/config-loader.js';
import { EtcdStore } from '../../src/store/etcd-store.js';
import { parseStoreUrl } from '../../src/store/store-url.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { ProcessManager } from '../support/e2e/process-manager.js';
import { type EtcdCluster, startEtcd } from '../support/etcd.js';
import { REPO_ROOT } from '../support/paths.js';
import { runMeshlite } from '../support/store-cli.js';

let pm: ProcessManager;
let etcd: EtcdCluster;
const stores: EtcdStore[] = [];

function meshlite(...args: string[]) {
  return runMeshlite(pm.dir, args);
}

function storeAt(prefix: string): EtcdStore {
  const store = new EtcdStore({ location: parseStoreUrl(etcd.storeUrl(prefix)) });
  stores.push(store);
  return store;
}

/**
 * The bookinfo-style example without its top namespace file and with its
 * service hosts in "shop": its namespace comes from -n (the ingress directory
 * keeps its own file, istio-system).
 */
function shopDir(name: string): string {
  const dir = join(pm.dir, name);
  cpSync(join(REPO_ROOT, 'examples/bookinfo-style'), dir, { recursive: true });
  rmSync(join(dir, '.meshlite-namespace'));
  const services = join(dir, 'services.yaml');
  writeFileSync(services, readFileSync(services, 'utf8').replaceAll('.bookshop.svc', '.shop.svc'));
  return name;
}

const proxyNames = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => line.split('\t')[0]);

test.before(async () => {
  pm = new ProcessManager('cli-namespace-flag');
  etcd = await startEtcd(pm, loopbackAddress('cli/namespace-flag.test.ts'));
});

test.after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await pm.stopAll();
  pm.removeDir();
});

test('validate, proxies, generate and describe read documents without namespaces in -n (default "default")', async () => {
  const dir = shopDir('offline');
  const valid = await meshlite('validate', '-c', dir, '-n', 'shop');
  assert.is(valid.code, 0, valid.stderr);
  assert.match(
    valid.stdout,
    /^ok: 21 resources \(4 ServiceEntry, 7 WorkloadEntry, 4 DestinationRule, 5 VirtualService, 1 Gateway\) in 6 file\(s\)/,
  );

  const shop = await meshlite('proxies', '-c', dir, '-n', 'shop');
  assert.is(shop.code, 0, shop.stderr);
  assert.equal(proxyNames(shop.stdout), [
    'details-v1.shop',
    // Its directory's namespace file wins over -n.
    'ingressgateway.istio-system',
    'productpage-v1.shop',
    'ratings-v1.shop',
    'reviews-v1.shop',
    'reviews-v2.shop',
    'reviews-v3.shop',
  ]);
  assert.match(shop.stdout, 'spiffe://cluster.local/ns/shop/sa/bookshop-reviews');
  const unnamed = await meshlite('proxies', '-c', dir);
  assert.ok(proxyNames(unnamed.stdout).includes('productpage-v1.default'), unnamed.stdout);

  const clusters = await meshlite('generate', '-c', dir, '-n', 'shop', '--proxy', 'productpage-v1.shop', '--type', 'clusters');
  assert.is(clusters.code, 0, clusters.stderr);
  const names = (JSON.parse(clusters.stdout).dynamic_active_clusters as { cluster: { name: string } }[]).map((c) => c.cluster.name);
  // The DestinationRule's short host and subsets resolved in "shop", as if written there.
  for (const subset of ['v1', 'v2', 'v3'])
    assert.ok(names.includes(`outbound|9080|${subset}|reviews.shop.svc.cluster.local`), names.join('\n'));
  const elsewhere = await meshlite('generate', '-c', dir, '--proxy', 'productpage-v1.shop', '--type', 'clusters');
  assert.is(elsewhere.code, 1, 'without -n there is no proxy productpage-v1.shop');

  const described = await meshlite('describe', '-c', dir, '-n', 'shop', '--proxy', 'reviews-v3.shop');
  assert.is(described.code, 0, described.stderr);
  assert.match(described.stdout, 'reviews-v3.shop');
});

test('a bad -n is a usage error; a bad namespace file is a config error naming it', async () => {
  const badFlag = await meshlite('validate', '-c', shopDir('bad-flag'), '-n', 'Shop_Front');
  assert.is.not(badFlag.code, 0);
  assert.match(badFlag.stderr, 'expected a namespace name (a lower-case DNS label)');

  const dir = shopDir('bad-file');
  writeFileSync(join(pm.dir, dir, 'networking', '.meshlite-namespace'), 'shop front\n');
  const r = await meshlite('validate', '-c', dir, '-n', 'shop');
  assert.is(r.code, 1);
  assert.match(
    r.stderr,
    `${dir}/networking/.meshlite-namespace: holds "shop front"; expected one namespace name (a lower-case DNS label of at most 63 characters)`,
  );
});

test('apply -n stores each resource under its namespace, written into its text; the namespace files win', async () => {
  const url = etcd.storeUrl('/shop');
  const dir = shopDir('apply');
  const first = await meshlite('apply', '-f', dir, '-n', 'shop', '--store', url);
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stdout, 'networking.istio.io/VirtualService/shop/reviews created');
  assert.match(first.stdout, 'networking.istio.io/WorkloadEntry/istio-system/ingressgateway created');
  assert.match(first.stdout, /21 created at store revision \d+/);

  const store = storeAt('/shop');
  const reviews = (await store.get('config/networking.istio.io/VirtualService/shop/reviews'))!.value.toString();
  assert.ok(reviews.startsWith('# In-mesh routing'), 'comments kept');
  assert.match(reviews, 'metadata:\n  name: reviews\n  namespace: shop\nspec:\n');
  const gateway = (await store.get('config/networking.istio.io/WorkloadEntry/istio-system/ingressgateway'))!.value.toString();
  assert.match(gateway, '  name: ingressgateway\n  namespace: istio-system\n');

  // What is stored is explicit: it loads without any default, and applying the files again changes nothing.
  const checked = await meshlite('validate', '--store', url);
  assert.is(checked.code, 0, checked.stderr);
  const again = await meshlite('apply', '-f', dir, '-n', 'shop', '--store', url);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, 'no changes');

  // delete -f finds the keys apply wrote, with the same -n.
  const removed = await meshlite('delete', '-f', `${dir}/networking/routes.yaml`, '-n', 'shop', '--store', url);
  assert.is(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, 'networking.istio.io/VirtualService/shop/reviews deleted');
  assert.match(removed.stdout, /4 deleted at store revision/);

  // The example as shipped: its top namespace file puts it in bookshop, whatever -n says.
  const example = join(pm.dir, 'example');
  cpSync(join(REPO_ROOT, 'examples/bookinfo-style'), example, { recursive: true });
  const shipped = await meshlite('apply', '-f', 'example', '-n', 'edge', '--store', etcd.storeUrl('/bookshop'));
  assert.is(shipped.code, 0, shipped.stderr);
  assert.match(shipped.stdout, 'networking.istio.io/DestinationRule/bookshop/reviews created');
  assert.not.match(shipped.stdout, '/edge/');
});

test('serve: the config loader worker reads documents without namespaces in its default namespace', async () => {
  const dir = join(pm.dir, shopDir('serve'));
  const loaded = await new BackgroundConfigLoader({ defaultNamespace: 'shop' }).load([dir]);
  assert.ok(loaded.ok, JSON.stringify(loaded));
  if (!loaded.ok) return;
  assert.equal([...new Set(loaded.config.virtualServices.map((v) => v.meta.namespace))], ['shop']);
  assert.equal(
    loaded.config.workloadEntries.map((w) => `${w.meta.namespace}/${w.meta.name}`).filter((n) => n.includes('gateway')),
    ['istio-system/ingressgateway'],
  );
});

test.run();
