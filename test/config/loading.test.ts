// Whole-load behaviour: every error of every file at once and sorted, the
// order of loaded resources, directory walking, and the shipped examples.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, sortIssues } from '../../src/config/diagnostics.js';
import { loadConfig } from '../../src/config/load-config.js';
import { byAge } from '../../src/config/resource.js';
import { EXAMPLES_DIR, REPO_ROOT } from '../support/paths.js';
import { configOf, documentText, exampleConfig, expectIssues, yaml } from '../support/fixtures/index.js';

const first = yaml`
  apiVersion: networking.istio.io/v1
  kind: ServiceEntry
  metadata:
    name: api
    namespace: foo
  spec:
    hosts: [api.example.com]
    resolution: STATIC
  ---
  apiVersion: security.istio.io/v1
  kind: AuthorizationPolicy
  metadata:
    name: deny
    namespace: foo
  spec:
    action: DENY
    rules: [{to: [{operation: {metods: [GET]}}]}]
  ---
  apiVersion: networking.istio.io/v1
  kind: DestinationRule
  metadata:
    name: api
    namespace: foo
  spec:
    host: api.example.com
    trafficPolicy:
      tls: {mode: MUTUAL}
`;

const second = yaml`
  apiVersion: security.istio.io/v1
  kind: PeerAuthentication
  metadata:
    name: default
    namespace: istio-system
  spec:
    mtls: {mode: STRICT}
    portLevelMtls:
      80: {mode: DISABLE}
  ---
  apiVersion: networking.istio.io/v1
  kind: WorkloadEntry
  metadata:
    name: vm
    namespace: foo
    annotations:
      sidecar.meshlite.io/outboundPort: "99999"
  spec:
    address: 10.0.0.1
  ---
  apiVersion: networking.istio.io/v1
  kind: WorkloadEntry
  metadata:
    name: vm2
    namespace: foo
  spec:
    adress: 10.0.0.2
`;

test('every error of a multi-document, multi-file input comes back at once, sorted by file and line', () => {
  expectIssues({ 'b/second.yaml': second, 'a/first.yaml': first, 'c/broken.yaml': 'spec: [\n' }, [
    'a/first.yaml:7:3: spec.endpoints: resolution STATIC needs endpoints or a workloadSelector',
    'a/first.yaml:17:30: spec.rules[0].to[0].operation.metods: unknown field "metods" (did you mean "methods"?)',
    'a/first.yaml:27:10: spec.trafficPolicy.tls.clientCertificate: MUTUAL mode needs clientCertificate (or credentialName)',
    'a/first.yaml:27:10: spec.trafficPolicy.tls.privateKey: MUTUAL mode needs privateKey (or credentialName)',
    'b/second.yaml:9:5: spec.portLevelMtls: portLevelMtls needs a workload selector',
    'b/second.yaml:17:39: metadata.annotations["sidecar.meshlite.io/outboundPort"]: expected a port number, got "99999"',
    'b/second.yaml:27:3: spec.address: required field is missing',
    'b/second.yaml:27:3: spec.adress: unknown field "adress" (did you mean "address"?)',
    'c/broken.yaml:2:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
  ]);
});

test('sortIssues orders by file, line, column, then path', () => {
  const at = (file: string, line: number, column: number, path: string) => ({ file, line, column, path, message: 'm' });
  const sorted = sortIssues([at('b', 1, 1, ''), at('a', 2, 1, ''), at('a', 1, 5, 'y'), at('a', 1, 5, 'x'), at('a', 1, 2, 'z')]);
  assert.equal(sorted.map(formatIssue), ['a:1:2: z: m', 'a:1:5: x: m', 'a:1:5: y: m', 'a:2:1: m', 'b:1:1: m']);
});

const created = (timestamp?: string) => (timestamp ? `  creationTimestamp: "${timestamp}"\n` : '');
const pa = (namespace: string, name: string, timestamp?: string) =>
  documentText('PeerAuthentication', `${namespace}/${name}`, '  mtls: {mode: STRICT}\n', created(timestamp));

test('resources are ordered oldest first, then by namespace/name, whatever the file order', () => {
  const files = {
    'z.yaml': `${pa('b', 'x')}---\n${pa('a', 'y')}`,
    'm.yaml': `${pa('c', 'new', '2024-05-01T00:00:00Z')}---\n${pa('a', 'x')}`,
    'a.yaml': `${pa('z', 'old', '2019-01-01T00:00:00Z')}---\n${pa('c', 'mid', '2021-06-30T12:00:00Z')}`,
  };
  const order = configOf(files).peerAuthentications.map((p) => `${p.meta.namespace}/${p.meta.name}`);
  assert.equal(order, ['z/old', 'c/mid', 'c/new', 'a/x', 'a/y', 'b/x']);
  const reversed = Object.fromEntries(Object.entries(files).reverse());
  assert.equal(
    configOf(reversed).peerAuthentications.map((p) => `${p.meta.namespace}/${p.meta.name}`),
    order,
  );
});

test('every kind list in the config set is ordered the same way', () => {
  const dr = (ns: string, name: string, timestamp?: string) =>
    documentText('DestinationRule', `${ns}/${name}`, `  host: ${name}.${ns}\n`, created(timestamp));
  const we = (ns: string, name: string) => documentText('WorkloadEntry', `${ns}/${name}`, '  address: 10.0.0.1\n');
  const config = configOf({
    'x.yaml': [dr('foo', 'b'), dr('foo', 'a'), dr('bar', 'z', '2020-01-01T00:00:00Z'), we('foo', 'b'), we('bar', 'c'), we('foo', 'a')].join(
      '---\n',
    ),
  });
  assert.equal(
    config.destinationRules.map((d) => `${d.meta.namespace}/${d.meta.name}`),
    ['bar/z', 'foo/a', 'foo/b'],
  );
  assert.equal(
    config.workloadEntries.map((d) => `${d.meta.namespace}/${d.meta.name}`),
    ['bar/c', 'foo/a', 'foo/b'],
  );
  assert.equal(config.destinationRules[0]!.meta.creationTimestamp, '2020-01-01T00:00:00Z');
});

test('byAge compares timestamps, then namespace, then name', () => {
  const m = (namespace: string, name: string, creationTimestamp?: string) => ({
    meta: { namespace, name, labels: {}, annotations: {}, creationTimestamp },
  });
  assert.is(byAge(m('b', 'b', '2020-01-01T00:00:00Z'), m('a', 'a', '2021-01-01T00:00:00Z')), -1);
  assert.is(byAge(m('a', 'a'), m('b', 'b', '2021-01-01T00:00:00Z')), 1);
  assert.is(byAge(m('b', 'b', '2021-01-01T00:00:00Z'), m('a', 'a')), -1);
  assert.is(byAge(m('a', 'b'), m('b', 'a')), -1);
  assert.is(byAge(m('a', 'b'), m('a', 'a')), 1);
  assert.is(byAge(m('a', 'a', '2021-01-01T00:00:00Z'), m('a', 'a', '2021-01-01T00:00:00Z')), 0);
  assert.is(
    byAge(m('b', 'b', '2021-01-01T01:00:00+02:00'), m('a', 'a', '2021-01-01T00:00:00Z')),
    -1,
    'offsets compare as instants, not text',
  );
});

test('creationTimestamp must be RFC 3339', () => {
  const doc = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: a, namespace: foo, creationTimestamp: yesterday}
spec: {}
`;
  expectIssues({ 'ts.yaml': doc }, [
    'ts.yaml:3:56: metadata.creationTimestamp: invalid value "yesterday": expected an RFC 3339 timestamp such as 2024-01-31T12:00:00Z',
  ]);
});

test('a directory walk reads .yaml/.yml files in sorted order, skips hidden entries and other files', () => {
  const root = mkdtempSync(join(tmpdir(), 'meshlite-config-test-'));
  try {
    const dir = join(root, 'cfg');
    mkdirSync(join(dir, 'nested', 'deeper'), { recursive: true });
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, 'b.yaml'), pa('foo', 'b'));
    writeFileSync(join(dir, 'a.yml'), pa('foo', 'a'));
    writeFileSync(join(dir, 'nested', 'deeper', 'c.YAML'), pa('foo', 'c'));
    writeFileSync(join(dir, 'notes.txt'), 'not: [yaml\n');
    writeFileSync(join(dir, '.hidden.yaml'), 'not: [yaml\n');
    writeFileSync(join(dir, '.git', 'x.yaml'), 'not: [yaml\n');

    const ok = loadConfig([dir], { cwd: root });
    assert.ok(ok.ok);
    assert.equal(ok.files, [join(dir, 'a.yml'), join(dir, 'b.yaml'), join(dir, 'nested', 'deeper', 'c.YAML')]);
    if (ok.ok)
      assert.equal(
        ok.config.peerAuthentications.map((p) => `${p.meta.name}@${p.source.file}:${p.source.line}`),
        ['a@cfg/a.yml:1', 'b@cfg/b.yaml:1', 'c@cfg/nested/deeper/c.YAML:1'],
      );

    // Errors are reported with paths relative to cwd, across every file read;
    // a file named explicitly is read whatever its extension.
    writeFileSync(join(dir, 'nested', 'dup.yaml'), `# again\n${pa('foo', 'a')}`);
    const bad = loadConfig([dir, join(dir, 'notes.txt')], { cwd: root });
    assert.equal(bad.ok ? [] : bad.issues.map(formatIssue), [
      'cfg/nested/dup.yaml:5:9: metadata.name: duplicate PeerAuthentication "foo/a" (first defined in cfg/a.yml:1)',
      'cfg/notes.txt:2:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    assert.equal(bad.files.length, 5);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('every examples/* directory loads without issues', () => {
  const dirs = readdirSync(EXAMPLES_DIR).sort();
  assert.ok(dirs.length >= 10, `only ${dirs.length} example directories`);
  for (const dir of dirs) {
    const result = loadConfig([join(EXAMPLES_DIR, dir)], { cwd: REPO_ROOT });
    assert.ok(result.ok, `${dir}:\n${result.ok ? '' : result.issues.map(formatIssue).join('\n')}`);
    assert.ok(result.files.length > 0, `${dir} has no YAML files`);
    if (!result.ok) continue;
    const c = result.config;
    const count = c.peerAuthentications.length + c.destinationRules.length + c.serviceEntries.length + c.workloadEntries.length;
    assert.ok(count > 0, `${dir} loaded no resources`);
  }
});

test('examples/s1-auto-mtls loads the expected services and workloads', () => {
  const c = exampleConfig('s1-auto-mtls');
  assert.equal(
    c.serviceEntries.map((s) => `${s.meta.namespace}/${s.spec.hosts.join(',')}@${s.source.file}:${s.source.line}`),
    [
      'bar/httpbin.bar.svc.cluster.local@examples/s1-auto-mtls/services.yaml:16',
      'foo/httpbin.foo.svc.cluster.local@examples/s1-auto-mtls/services.yaml:2',
      'legacy/httpbin.legacy.svc.cluster.local@examples/s1-auto-mtls/services.yaml:30',
    ],
  );
  assert.equal(
    c.workloadEntries.map((w) => `${w.meta.namespace}/${w.meta.name}`),
    ['bar/httpbin', 'bar/sleep', 'foo/httpbin', 'foo/sleep', 'legacy/httpbin', 'legacy/sleep'],
  );
  assert.equal(c.mesh.rootNamespace, 'istio-system');
});

test('examples/s10-legacy-policies converts its legacy policies', () => {
  const config = exampleConfig('s10-legacy-policies');
  assert.equal(
    config.peerAuthentications.map((p) => [
      `${p.meta.namespace}/${p.meta.name}`,
      p.spec.mtlsMode,
      [...p.spec.portLevelMtls],
      p.spec.legacy,
    ]),
    [
      ['default/httpbin-permissive', 'UNSET', [[8000, 'PERMISSIVE']], { targetService: 'httpbin', portsAreServicePorts: true }],
      ['istio-system/default', 'STRICT', [], { portsAreServicePorts: true }],
    ],
  );
  assert.equal(
    config.destinationRules.map((d) => d.spec.host),
    ['*.marathon.l4lb.thisdcos.directory'],
  );
});

test.run();
