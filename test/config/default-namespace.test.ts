// Documents written without metadata.namespace (as kubectl users write them):
// they take -n (default "default") or the `.meshlite-namespace` file of their
// directory, and then mean exactly what they would with the namespace written.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIssue } from '../../src/config/diagnostics.js';
import { type LoadOptions, type LoadResult, loadConfig } from '../../src/config/load-config.js';
import { loadConfigTexts } from '../../src/config/load-texts.js';
import type { ConfigSet } from '../../src/config/types.js';

let root: string;
let dirCount = 0;

test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'meshlite-default-ns-'));
});
test.after(() => rmSync(root, { recursive: true, force: true }));

/** A fresh directory holding `files` (paths relative to it; parents made as needed). */
function tree(files: Record<string, string>): string {
  const dir = join(root, `t${dirCount++}`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function load(paths: string[], options: LoadOptions = {}, cwd?: string): LoadResult {
  return loadConfig(paths, { cwd: cwd ?? paths[0], ...options });
}

function ok(result: LoadResult): ConfigSet {
  if (!result.ok) assert.unreachable(`expected the config to load:\n${result.issues.map(formatIssue).join('\n')}`);
  return (result as LoadResult & { ok: true }).config;
}

function issues(result: LoadResult): string[] {
  assert.not.ok(result.ok, 'expected the load to fail');
  return (result as LoadResult & { ok: false }).issues.map(formatIssue);
}

const entry = (name: string, namespace?: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: ${name}${namespace ? `\n  namespace: ${namespace}` : ''}
spec:
  hosts: [${name}.example.internal]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
`;

const namespacesOf = (config: ConfigSet) =>
  Object.fromEntries(config.serviceEntries.map((s) => [s.meta.name, s.meta.namespace]).sort(([a], [b]) => a!.localeCompare(b!)));

test('a document without a namespace is in "default"; -n names another; a written namespace always wins', () => {
  const dir = tree({ 'a.yaml': entry('plain'), 'b.yaml': entry('pinned', 'billing') });
  assert.equal(namespacesOf(ok(load([dir]))), { pinned: 'billing', plain: 'default' });
  assert.equal(namespacesOf(ok(load([dir], { defaultNamespace: 'shop' }))), { pinned: 'billing', plain: 'shop' });
});

test('.meshlite-namespace applies to every file under its directory, a deeper one overrides it, and it beats -n', () => {
  const dir = tree({
    'top.yaml': entry('top'),
    'app/.meshlite-namespace': '  shop\n\n',
    'app/front.yaml': entry('front'),
    'app/deep/inner.yaml': entry('inner'),
    'app/deep/pinned.yaml': entry('pinned', 'billing'),
    'app/data/.meshlite-namespace': 'storage',
    'app/data/db.yml': entry('db'),
  });
  assert.equal(namespacesOf(ok(load([dir], { defaultNamespace: 'edge' }))), {
    db: 'storage',
    front: 'shop',
    inner: 'shop',
    pinned: 'billing',
    top: 'edge',
  });
});

test('a file named on its own takes the namespace file beside it', () => {
  const dir = tree({ '.meshlite-namespace': 'shop', 'front.yaml': entry('front') });
  assert.equal(namespacesOf(ok(load([join(dir, 'front.yaml')], {}, dir))), { front: 'shop' });
});

test('an invalid namespace file is a config error naming the file, and nothing is loaded', () => {
  const dir = tree({
    'a/.meshlite-namespace': 'Shop Front\n',
    'a/x.yaml': entry('x'),
    'b/.meshlite-namespace': '\n',
    'b/y.yaml': entry('y'),
    'c/.meshlite-namespace/oops.txt': 'a directory, not a file',
    'c/z.yaml': entry('z'),
  });
  assert.equal(issues(load([dir])), [
    'a/.meshlite-namespace: holds "Shop Front"; expected one namespace name (a lower-case DNS label of at most 63 characters)',
    'b/.meshlite-namespace: holds ""; expected one namespace name (a lower-case DNS label of at most 63 characters)',
    'c/.meshlite-namespace: not a regular file (it must hold one namespace name)',
  ]);
  const tooLong = tree({ '.meshlite-namespace': 'a'.repeat(64), 'x.yaml': entry('x') });
  assert.match(issues(load([tooLong]))[0]!, /^\.meshlite-namespace: holds "a{64}"; expected one namespace name/);
});

test('cluster-scoped kinds still take no namespace, whatever the default', () => {
  const dir = tree({
    '.meshlite-namespace': 'shop',
    'mesh.yaml': 'apiVersion: meshlite.io/v1alpha1\nkind: MeshConfig\nmetadata: {name: mesh}\nspec: {rootNamespace: mesh-root}\n',
    'policy.yaml':
      'apiVersion: authentication.istio.io/v1alpha1\nkind: MeshPolicy\nmetadata: {name: default}\nspec: {peers: [{mtls: {}}]}\n',
    'pa.yaml': 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: strict}\nspec: {mtls: {mode: STRICT}}\n',
  });
  const config = ok(load([dir], { defaultNamespace: 'edge' }));
  assert.is(config.mesh.rootNamespace, 'mesh-root');
  assert.equal(
    config.peerAuthentications.map((p) => `${p.meta.namespace}/${p.meta.name}`),
    // The MeshPolicy is read as a mesh-wide PeerAuthentication, in the root namespace.
    ['mesh-root/default', 'shop/strict'],
  );
  const written = tree({
    'mesh.yaml': 'apiVersion: meshlite.io/v1alpha1\nkind: MeshConfig\nmetadata: {name: mesh, namespace: shop}\nspec: {}\n',
  });
  assert.equal(issues(load([written])), ['mesh.yaml:3:35: metadata.namespace: MeshConfig is cluster-scoped and takes no namespace']);
});

test('resources given their namespace by default mean exactly what they mean with it written', () => {
  const route = (namespace?: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: front${namespace ? `\n  namespace: ${namespace}` : ''}
spec:
  hosts: [front]
  http:
  - route:
    - destination: {host: front, subset: v1}
`;
  const rule = (namespace?: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: front${namespace ? `\n  namespace: ${namespace}` : ''}
spec:
  host: front
  subsets: [{name: v1, labels: {version: v1}}]
`;
  const implicit = ok(load([tree({ '.meshlite-namespace': 'shop', 'vs.yaml': route(), 'dr.yaml': rule() })]));
  const explicit = ok(load([tree({ 'vs.yaml': route('shop'), 'dr.yaml': rule('shop') })]));
  const withoutSources = (c: ConfigSet) => JSON.parse(JSON.stringify(c, (key, value) => (key === 'source' ? undefined : value))) as unknown;
  assert.equal(withoutSources(implicit), withoutSources(explicit));
  assert.is(implicit.virtualServices[0]!.meta.namespace, 'shop');
  assert.is(implicit.destinationRules[0]!.meta.namespace, 'shop');
});

test('errors in documents without a namespace still point at file:line:column; duplicates are found across the default', () => {
  const bad = entry('front').replace('resolution: STATIC', 'resolution: STATICK');
  const dir = tree({ 'a.yaml': bad, 'b.yaml': entry('twice'), 'c.yaml': entry('twice', 'default') });
  assert.equal(
    issues(load([dir])).map((line) => line.replace(/ \(.*$/, '')),
    [
      'a.yaml:8:15: spec.resolution: invalid value "STATICK"; expected one of NONE, STATIC, DNS, DNS_ROUND_ROBIN',
      'c.yaml:4:9: metadata.name: duplicate ServiceEntry "default/twice"',
    ],
  );
});

test('config held as texts (a store) must name its namespace: no default applies to it', () => {
  const result = loadConfigTexts([{ name: 'etcd:/m/config/networking.istio.io/ServiceEntry/-/front', text: entry('front') }], {
    defaultNamespace: 'shop',
  });
  assert.equal(issues(result), [
    'etcd:/m/config/networking.istio.io/ServiceEntry/-/front:4:3: metadata.namespace: required field is missing',
  ]);
  // A text handed over with its default (a file given to apply) takes it.
  const given = loadConfigTexts([{ name: 'front.yaml', text: entry('front'), defaultNamespace: 'shop' }]);
  assert.equal(namespacesOf(ok(given)), { front: 'shop' });
});

test.run();
