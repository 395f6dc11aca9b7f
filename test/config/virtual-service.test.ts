// VirtualService semantics: hosts, gateway names (qualified on read, and
// checked to exist), TLS/TCP rules, exportTo, and conflicting VirtualServices
// across files. HTTP rules are in virtual-service-http.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configOf, documentText, expectIssues, gateway } from '../support/fixtures/index.js';

/** A VirtualService foo/reviews; `spec` lines start at line 8 (hosts is line 7). */
const vs = (spec: string, hosts = '[reviews]', name = 'reviews', extraMeta = '') =>
  documentText('VirtualService', `foo/${name}`, `  hosts: ${hosts}\n${spec}`, extraMeta);

const ROUTE = '  http:\n  - route:\n    - destination: {host: reviews}\n';

test('hosts are required and valid; "*" needs a gateway binding; no namespace part; no overlaps', () => {
  expectIssues(
    {
      'a.yaml': vs(ROUTE, '[]'),
      'b.yaml': vs(ROUTE, '["*", ns/reviews, Reviews, "a*.example.com"]', 'b'),
      'c.yaml': vs(ROUTE, '[reviews, reviews, "*.example.com", api.example.com]', 'c'),
    },
    [
      'a.yaml:7:10: spec.hosts: at least one host is required',
      'b.yaml:7:11: spec.hosts[0]: the wildcard host "*" is not allowed for a VirtualService bound to the mesh',
      'b.yaml:7:16: spec.hosts[1]: invalid host "ns/reviews": VirtualService hosts take no namespace part',
      'b.yaml:7:28: spec.hosts[2]: invalid host "Reviews": expected lower-case DNS labels (letters, digits, "-") separated by dots',
      'b.yaml:7:37: spec.hosts[3]: invalid host "a*.example.com": a wildcard is only allowed as a whole first label ("*.example.com")',
      'c.yaml:7:20: spec.hosts[1]: host "reviews" is listed twice',
      'c.yaml:7:46: spec.hosts[3]: host "api.example.com" overlaps host "*.example.com" of this VirtualService',
    ],
  );
  expectIssues(vs(ROUTE, 'reviews'), ['test.yaml:7:10: spec.hosts: expected a list, got string "reviews"']);
});

test('gateways are qualified on read, default to mesh, and must exist', () => {
  const config = configOf({
    'gw.yaml': [gateway('foo/ingress'), gateway('edge/public')],
    'vs.yaml': `${vs(ROUTE, '[a.example.com]', 'a')}  gateways: [ingress, edge/public, mesh]\n---\n${vs(ROUTE, '[reviews]', 'b')}`,
  });
  assert.equal(
    config.virtualServices.map((v) => [v.meta.name, v.spec.gateways]),
    [
      ['a', ['foo/ingress', 'edge/public', 'mesh']],
      ['b', ['mesh']],
    ],
  );
  expectIssues(vs(`${ROUTE}  gateways: [ingres, edge/public]\n`, '[reviews.example.com]'), [
    'test.yaml:11:14: spec.gateways[0]: no Gateway "foo/ingres" is defined; routes bound to it would never be used',
    'test.yaml:11:22: spec.gateways[1]: no Gateway "edge/public" is defined; routes bound to it would never be used',
  ]);
});

test('gateway names: "mesh", "<name>" or "<namespace>/<name>", each once', () => {
  expectIssues(vs(`${ROUTE}  gateways: [ingress.edge.svc.cluster.local, Edge/x, a/b/c, ingress, foo/ingress]\n`), [
    'test.yaml:11:14: spec.gateways[0]: invalid gateway "ingress.edge.svc.cluster.local": expected "mesh", "<name>" or "<namespace>/<name>"; the legacy "name.namespace..." form is not read, write "<namespace>/<name>"',
    'test.yaml:11:46: spec.gateways[1]: invalid gateway "Edge/x": expected "mesh", "<name>" or "<namespace>/<name>"',
    'test.yaml:11:54: spec.gateways[2]: invalid gateway "a/b/c": expected "mesh", "<name>" or "<namespace>/<name>"',
    'test.yaml:11:70: spec.gateways[4]: gateway "foo/ingress" is listed twice',
  ]);
});

test('a VirtualService needs at least one http, tls or tcp rule', () => {
  expectIssues(vs(''), ['test.yaml:7:3: spec: at least one http, tls or tcp route is required']);
});

test('tls rules need matches with sniHosts under the VirtualService hosts, and destinations', () => {
  expectIssues(
    vs(
      [
        '  tls:',
        '  - route: [{destination: {host: db.example.com}}]',
        '  - match:',
        '    - port: 443',
        '    - sniHosts: [other.example.com, a.db.example.com]',
        '      destinationSubnets: [10.0.0.0/33, 10.1.0.0/16, 10.2.0.1]',
        '      sourceNamespace: foo',
        '',
      ].join('\n'),
      '["*.db.example.com"]',
    ),
    [
      'test.yaml:9:5: spec.tls[0].match: a tls route needs at least one match with sniHosts',
      'test.yaml:10:5: spec.tls[1].route: a tls route needs at least one destination',
      'test.yaml:11:7: spec.tls[1].match[0].sniHosts: a tls match needs at least one SNI host',
      'test.yaml:12:18: spec.tls[1].match[1].sniHosts[0]: SNI host "other.example.com" is not covered by the VirtualService hosts (*.db.example.com)',
      'test.yaml:13:28: spec.tls[1].match[1].destinationSubnets[0]: invalid value "10.0.0.0/33": expected an IP address or a CIDR block such as 10.0.0.0/8',
      'test.yaml:14:24: spec.tls[1].match[1].sourceNamespace: sourceNamespace is not supported by meshlite',
    ],
  );
});

test('tcp rules: optional matches, weighted destinations', () => {
  const config = configOf(
    vs(
      '  tcp:\n  - match: [{port: 27017, destinationSubnets: [10.0.0.0/8]}]\n    route:\n    - {destination: {host: mongo-a}, weight: 70}\n    - {destination: {host: mongo-b}, weight: 30}\n  - route: [{destination: {host: mongo-a, port: {number: 27017}}}]\n',
      '[mongo]',
    ),
  );
  assert.equal(config.virtualServices[0]!.spec.tcp, [
    {
      match: [{ port: 27017, sniHosts: [], destinationSubnets: ['10.0.0.0/8'], gateways: [], sourceLabels: undefined }],
      route: [
        { destination: { host: 'mongo-a', subset: undefined, port: undefined }, weight: 70 },
        { destination: { host: 'mongo-b', subset: undefined, port: undefined }, weight: 30 },
      ],
    },
    { match: [], route: [{ destination: { host: 'mongo-a', subset: undefined, port: 27017 }, weight: undefined }] },
  ]);
  expectIssues(vs('  tcp:\n  - match: [{port: 27017}]\n', '[mongo]'), [
    'test.yaml:9:5: spec.tcp[0].route: a tcp route needs at least one destination',
  ]);
});

test('exportTo: ".", "*" or namespaces, each once, "*" alone', () => {
  expectIssues(vs(`${ROUTE}  exportTo: [".", foo, Bar, "*"]\n`), [
    'test.yaml:11:19: spec.exportTo[1]: "foo" is listed twice',
    'test.yaml:11:24: spec.exportTo[2]: invalid value "Bar": expected ".", "*" or a namespace name',
    'test.yaml:11:29: spec.exportTo[3]: "*" exports to every namespace and cannot be combined with other values',
  ]);
});

test('two VirtualServices routing one host on one gateway, or both in the mesh, conflict: the later is reported', () => {
  const older = vs(ROUTE, '[reviews, ratings]', 'older', '  creationTimestamp: 2024-01-01T00:00:00Z\n');
  expectIssues(
    {
      'a.yaml': vs(ROUTE, '[reviews.foo.svc.cluster.local]', 'newer', '  creationTimestamp: 2024-06-01T00:00:00Z\n'),
      'b.yaml': older,
    },
    [
      'a.yaml:8:11: spec.hosts[0]: host "reviews.foo.svc.cluster.local" on the mesh is already routed by VirtualService foo/older (b.yaml:8); VirtualService foo/newer conflicts with it',
    ],
  );
  expectIssues(
    {
      'gw.yaml': gateway('edge/public'),
      'a.yaml': `${vs(ROUTE, '["*.example.com", reviews]', 'a')}  gateways: [edge/public, mesh]\n`,
      'b.yaml': `${vs(ROUTE, '[api.other.com, "*.example.com"]', 'b')}  gateways: [edge/public]\n`,
    },
    [
      'b.yaml:7:26: spec.hosts[1]: host "*.example.com" on gateway edge/public is already routed by VirtualService foo/a (a.yaml:7); VirtualService foo/b conflicts with it',
    ],
  );
});

test('the same short host in two namespaces, or one host on different gateways, does not conflict', () => {
  const config = configOf({
    'gw.yaml': [gateway('edge/public'), gateway('edge/private')],
    'a.yaml': vs(ROUTE, '[reviews]', 'a'),
    'b.yaml': vs(ROUTE, '[reviews]', 'a').replace('namespace: foo', 'namespace: bar'),
    'c.yaml': `${vs(ROUTE, '[api.example.com]', 'c')}  gateways: [edge/public]\n`,
    'd.yaml': `${vs(ROUTE, '[api.example.com]', 'd')}  gateways: [edge/private]\n`,
  });
  assert.is(config.virtualServices.length, 4);
});

test.run();
