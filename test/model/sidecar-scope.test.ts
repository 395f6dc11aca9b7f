// The Sidecar kind: what it accepts and refuses, which one applies to a proxy,
// and what a proxy's outbound side then holds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addressConflicts } from '../../src/model/address-conflicts.js';
import { MeshViews } from '../../src/model/mesh-views.js';
import type { SidecarView } from '../../src/model/view-types.js';
import { translate } from '../../src/translate/translator.js';
import {
  type Document,
  type ExtraMetadata,
  issuesOf,
  loadManifests,
  meshOf,
  serviceEntry,
  type Spec,
  virtualService,
  workloadEntry,
} from '../support/fixtures/index.js';

type Obj = Record<string, any>;

function sidecar(ref: string, spec: Spec, extra: ExtraMetadata = {}): Document {
  const [namespace, name] = ref.split('/') as [string, string];
  return { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name, namespace, ...extra }, spec };
}

const OUT = { 'sidecar.meshlite.io/outboundAddress': '127.0.1.2' };
const TRANSPARENT = { 'sidecar.meshlite.io/interceptionMode': 'TRANSPARENT' };
/** One HTTP service in each of foo, bar, baz and istio-system, and clients in foo and bar. */
const mesh: Document[] = [
  ...['foo', 'bar', 'baz', 'istio-system'].flatMap((ns, i) => [
    serviceEntry(`${ns}/web`),
    workloadEntry(`${ns}/web`, { address: `127.0.2.${i + 1}` }),
  ]),
  workloadEntry('foo/sleep', { address: '127.0.1.2' }, { annotations: OUT }),
  workloadEntry('foo/curl', { address: '127.0.1.3', labels: { app: 'curl' } }, { annotations: OUT }),
  workloadEntry('bar/sleep', { address: '127.0.1.4' }, { annotations: OUT }),
  workloadEntry('bar/tcp', { address: '127.0.1.5', labels: { app: 'tcp' } }, { annotations: TRANSPARENT }),
];
const host = (ns: string) => `web.${ns}.svc.cluster.local`;

function resources(docs: Document[], proxy: string) {
  const r = translate(meshOf([...mesh, ...docs]), proxy);
  if (!r.ok) throw new Error(r.error);
  return r.resources as unknown as { clusters: Obj[]; routes: Obj[]; listeners: Obj[]; warnings: string[] };
}
/** Namespaces of the `web` services a proxy has clusters for. */
const reached = (docs: Document[], proxy: string) =>
  resources(docs, proxy)
    .clusters.map((c) => /^outbound\|8000\|\|web\.([^.]+)\./.exec(c.name)?.[1])
    .filter((ns): ns is string => ns !== undefined)
    .sort();

test('no Sidecar: every visible service, as before', () => {
  assert.equal(reached([], 'sleep.foo'), ['bar', 'baz', 'foo', 'istio-system']);
});

test('a Sidecar whose `egress:` has nothing under it (YAML null) is one without egress, not a crash', () => {
  assert.equal(reached([sidecar('foo/default', { egress: null } as unknown as Spec)], 'sleep.foo'), ['bar', 'baz', 'foo', 'istio-system']);
});

test('egress hosts: "./*" and "ns/*" import those namespaces only; clusters and HTTP proxy routes agree', () => {
  const docs = [sidecar('foo/default', { egress: [{ hosts: ['./*', 'istio-system/*'] }] })];
  assert.equal(reached(docs, 'sleep.foo'), ['foo', 'istio-system']);
  const route = resources(docs, 'sleep.foo').routes.find((r) => r.name === 'http_proxy')!;
  assert.equal(route.virtual_hosts.map((v: Obj) => v.name).sort(), [`${host('foo')}:8000`, `${host('istio-system')}:8000`]);
  assert.equal(reached(docs, 'sleep.bar'), ['bar', 'baz', 'foo', 'istio-system'], 'another namespace is unaffected');
});

test('egress hosts: "*/host", "ns/host", "~/*" and "*/*"', () => {
  const with_ = (hosts: string[]) => reached([sidecar('foo/default', { egress: [{ hosts }] })], 'sleep.foo');
  assert.equal(with_([`*/${host('baz')}`]), ['baz']);
  assert.equal(with_([`bar/${host('bar')}`, `bar/${host('baz')}`]), ['bar'], 'the namespace must match as well');
  assert.equal(with_(['*/*.bar.svc.cluster.local']), ['bar']);
  assert.equal(with_(['~/*']), []);
  assert.equal(with_(['*/*']), ['bar', 'baz', 'foo', 'istio-system']);
});

test('selection: selector > namespace default > root namespace default; "." is the proxy\'s namespace', () => {
  const docs = [
    sidecar('istio-system/default', { egress: [{ hosts: ['./*', 'istio-system/*'] }] }),
    sidecar('foo/default', { egress: [{ hosts: ['baz/*'] }] }),
    sidecar('foo/curl', { workloadSelector: { labels: { app: 'curl' } }, egress: [{ hosts: ['bar/*'] }] }),
  ];
  assert.equal(reached(docs, 'curl.foo'), ['bar']);
  assert.equal(reached(docs, 'sleep.foo'), ['baz']);
  assert.equal(reached(docs, 'sleep.bar'), ['bar', 'istio-system'], 'the root default, "." read as bar');
});

test('two Sidecars select one proxy: the oldest applies, and the proxy is told', () => {
  const docs = [
    sidecar(
      'foo/newer',
      { workloadSelector: { labels: { app: 'curl' } }, egress: [{ hosts: ['bar/*'] }] },
      { creationTimestamp: '2024-02-01T00:00:00Z' },
    ),
    sidecar(
      'foo/older',
      { workloadSelector: { labels: { app: 'curl' } }, egress: [{ hosts: ['baz/*'] }] },
      { creationTimestamp: '2024-01-01T00:00:00Z' },
    ),
  ];
  assert.equal(reached(docs, 'curl.foo'), ['baz']);
  const warnings = resources(docs, 'curl.foo').warnings;
  assert.ok(
    warnings.some((w) => w.includes('"older", "newer"') && w.includes('the oldest ("older") applies')),
    warnings.join('\n'),
  );
});

test('a mesh VirtualService the egress imports brings its destinations along', () => {
  const vs = virtualService('foo/web', { hosts: ['web'], http: [{ route: [{ destination: { host: host('baz') } }] }] });
  const docs = [vs, sidecar('foo/default', { egress: [{ hosts: ['./*'] }] })];
  assert.equal(reached(docs, 'sleep.foo'), ['baz', 'foo']);
});

test('proxies with the same Sidecar share one outbound view; without one they share the namespace view', () => {
  const docs = [
    sidecar('foo/default', { egress: [{ hosts: ['./*'] }] }),
    sidecar('bar/tcp', { workloadSelector: { labels: { app: 'tcp' } }, egress: [{ hosts: ['./*'] }] }),
    workloadEntry('foo/other', { address: '127.0.1.6' }, { annotations: OUT }),
  ];
  const views = new MeshViews(meshOf([...mesh, ...docs]));
  const outbound = (id: string) => {
    const r = views.view(id);
    if (!r.ok) throw new Error(r.error);
    return (r.view as SidecarView).outbound;
  };
  assert.ok(outbound('sleep.foo') === outbound('other.foo'), 'same Sidecar, same view object');
  assert.is(outbound('sleep.foo').sidecar, 'foo/default');
  assert.ok(outbound('sleep.bar') === views.outboundFor('bar'), 'no Sidecar: the namespace view');
  assert.ok(outbound('tcp.bar') !== outbound('sleep.bar'));
  assert.is(outbound('tcp.bar').sidecar, 'bar/tcp');
});

test('REGISTRY_ONLY in TRANSPARENT mode: unknown destinations go to a cluster without endpoints', () => {
  const before = resources([], 'tcp.bar');
  const virtual = (r: typeof before) =>
    r.listeners.find((l) => l.name === 'virtualOutbound')!.filter_chains[0].filters[0].typed_config.cluster;
  assert.is(virtual(before), 'PassthroughCluster');
  const docs = [sidecar('bar/default', { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } })];
  const after = resources(docs, 'tcp.bar');
  assert.is(virtual(after), 'BlackHoleCluster');
  const names = after.clusters.map((c) => c.name);
  assert.ok(names.includes('BlackHoleCluster') && !names.includes('PassthroughCluster'));
  assert.equal(
    after.clusters.find((c) => c.name === 'BlackHoleCluster'),
    {
      name: 'BlackHoleCluster',
      type: 'STATIC',
      connect_timeout: after.clusters.find((c) => c.name === 'BlackHoleCluster')!.connect_timeout,
    },
  );
  assert.is(
    virtual(resources([sidecar('bar/default', { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } })], 'tcp.bar')),
    'PassthroughCluster',
  );
});

test('ALLOW_ANY in EXPLICIT mode is accepted with a warning (no passthrough there)', () => {
  const r = resources([sidecar('foo/default', { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } })], 'sleep.foo');
  assert.ok(
    r.warnings.some((w) => w.includes('foo/default') && w.includes('no effect in EXPLICIT mode')),
    r.warnings.join('\n'),
  );
  assert.equal(resources([sidecar('foo/default', {})], 'sleep.foo').warnings, []);
});

test('refused: malformed hosts, listener-shaping fields, ingress, a second namespace default', () => {
  const issues = (spec: Spec) => issuesOf([sidecar('foo/default', spec)]).join('\n');
  assert.match(issues({ egress: [{ hosts: ['web'] }] }), 'needs a namespace: write "namespace/dnsName"');
  assert.match(issues({ egress: [{ hosts: ['bar/web'] }] }), 'short name "web" is not allowed here');
  assert.match(issues({ egress: [{ hosts: ['Bar/*'] }] }), 'namespace must be a namespace name, "*", "." or "~"');
  assert.match(issues({ egress: [{ hosts: ['~/web.bar.svc.cluster.local'] }] }), '"~" imports nothing');
  assert.match(
    issues({ egress: [{ hosts: ['./*'], port: { number: 9080, protocol: 'HTTP', name: 'http' } }] }),
    'egress port is not supported',
  );
  assert.match(issues({ egress: [{ hosts: ['./*'], bind: '127.0.0.1' }] }), 'bind is not supported');
  assert.match(issues({ egress: [{ hosts: ['./*'], captureMode: 'NONE' }] }), 'captureMode is not supported');
  assert.match(issues({ egress: [{ hosts: ['./*'] }, { hosts: ['bar/*'] }] }), 'only one egress listener is supported');
  assert.match(issues({ ingress: [{ port: { number: 9080 }, defaultEndpoint: '127.0.0.1:8080' }] }), 'ingress listeners are not supported');
  assert.match(issues({ outboundTrafficPolicy: { mode: 'SOMETIMES' } }), 'spec.outboundTrafficPolicy.mode');
  const twice = issuesOf([sidecar('foo/a', {}), sidecar('foo/b', {})]).join('\n');
  assert.match(twice, 'namespace "foo" already has a Sidecar without a workloadSelector ("a"');
  assert.ok(loadManifests([sidecar('foo/a', {}), sidecar('foo/b', { workloadSelector: { labels: { app: 'x' } } })]).ok);
});

test('address conflicts count only the TCP listeners a scoped proxy binds', () => {
  const db = [
    serviceEntry('baz/db', { ports: [{ name: 'tcp', number: 5432, protocol: 'TCP' }] }),
    workloadEntry('baz/db', { address: '127.0.0.5', labels: { app: 'db', 'security.istio.io/tlsMode': 'none' } }),
    workloadEntry('foo/sleep', { address: '127.0.1.2' }, { annotations: { 'sidecar.meshlite.io/outboundAddress': '127.0.0.5' } }),
  ];
  const conflicts = (docs: Document[]) => addressConflicts(meshOf(docs)).map((i) => i.message);
  const unscoped = conflicts(db);
  assert.ok(
    unscoped.some((m) => m.includes('127.0.0.5:5432')),
    unscoped.join('\n'),
  );
  assert.equal(conflicts([...db, sidecar('foo/default', { egress: [{ hosts: ['./*'] }] })]), []);
});

test.run();
