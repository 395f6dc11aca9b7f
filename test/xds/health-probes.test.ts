// Plaintext health probes of a STRICT sidecar, as translated: the annotation
// is validated strictly (file:line errors), the probe port is checked against
// the workload's other sockets, and the sidecar gets one plaintext listener
// whose only ways through are GETs of the declared paths, each rewritten to
// the application's own port and path. Everything else stays as it was.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIssue } from '../../src/config/diagnostics.js';
import { loadMeshTexts } from '../../src/control-plane/load-mesh.js';
import { buildMeshModel } from '../../src/model/mesh-model.js';
import { translate } from '../../src/translate/translator.js';
import type { Cluster, Listener } from '../../src/xds/envoy-types/index.js';
import { loadProbeMesh, probeMeshText } from '../support/fixtures/health-probe-mesh.js';

type Obj = Record<string, any>;

const PROBES = JSON.stringify({
  port: 15021,
  paths: {
    '/app-health/web/readyz': { port: 8080, path: '/ready' },
    '/app-health/web/livez': { port: 9090, path: '/live' },
  },
});

function translated(o: Parameters<typeof loadProbeMesh>[0]) {
  const loaded = loadProbeMesh(o);
  if (!loaded.ok) throw new Error(loaded.issues.map(formatIssue).join('\n'));
  const result = translate(buildMeshModel(loaded.config), 'web.shop');
  if (!result.ok) throw new Error(result.error);
  return result;
}

function issues(probes: string, extra: Parameters<typeof loadProbeMesh>[0] = {}): string[] {
  const loaded = loadProbeMesh({ ...extra, probes });
  return loaded.ok ? [] : loaded.issues.map(formatIssue);
}

const annotationLine = (o: Parameters<typeof probeMeshText>[0]) =>
  probeMeshText(o)
    .split('\n')
    .findIndex((l) => l.includes('healthProbes')) + 1;

const hcmOf = (l: Listener): Obj => l.filter_chains![0]!.filters![0]!.typed_config as Obj;

test('the probe listener: plaintext on the workload address, GET of each declared path rewritten to the app, 405 and 404 otherwise', () => {
  const { resources, view } = translated({ probes: PROBES });
  assert.equal((view as Obj).healthProbes, {
    address: '127.0.70.1',
    port: 15021,
    routes: [
      { path: '/app-health/web/livez', cluster: 'probe|9090', targetPort: 9090, targetPath: '/live' },
      { path: '/app-health/web/readyz', cluster: 'probe|8080', targetPort: 8080, targetPath: '/ready' },
    ],
  });
  const listener = resources.listeners.find((l) => l.name === 'health-probes_127.0.70.1_15021')!;
  assert.ok(listener, resources.listeners.map((l) => l.name).join(', '));
  assert.equal(listener.address, { socket_address: { address: '127.0.70.1', port_value: 15021 } });
  assert.is(listener.filter_chains!.length, 1);
  const chain = listener.filter_chains![0]!;
  assert.is(chain.transport_socket, undefined, 'no TLS on the probe port');
  assert.is(chain.filter_chain_match, undefined);
  assert.is(listener.listener_filters, undefined);
  const hcm = hcmOf(listener);
  assert.equal(
    hcm.http_filters.map((f: Obj) => f.name),
    ['envoy.filters.http.router'],
    'no RBAC, JWT or ext_authz filter: AuthorizationPolicies do not apply',
  );
  assert.is(hcm.forward_client_cert_details, 'SANITIZE');
  assert.is(hcm.normalize_path, true);
  const routes = hcm.route_config.virtual_hosts[0].routes as Obj[];
  assert.equal(
    routes.map((r) => [r.match, r.route ?? r.direct_response]),
    [
      [
        { path: '/app-health/web/livez', headers: [{ name: ':method', string_match: { exact: 'GET' } }] },
        { cluster: 'probe|9090', prefix_rewrite: '/live', timeout: '10s' },
      ],
      [
        { path: '/app-health/web/readyz', headers: [{ name: ':method', string_match: { exact: 'GET' } }] },
        { cluster: 'probe|8080', prefix_rewrite: '/ready', timeout: '10s' },
      ],
      [{ path: '/app-health/web/livez' }, { status: 405 }],
      [{ path: '/app-health/web/readyz' }, { status: 405 }],
      [{ prefix: '/' }, { status: 404 }],
    ],
  );
  const probeClusters = resources.clusters.filter((c) => c.name!.startsWith('probe|'));
  assert.equal(
    probeClusters.map((c: Cluster) => [
      c.name,
      c.type,
      c.transport_socket,
      c.load_assignment?.endpoints?.[0]?.lb_endpoints?.[0]?.endpoint?.address,
    ]),
    [
      ['probe|8080', 'STATIC', undefined, { socket_address: { address: '127.0.70.2', port_value: 8080 } }],
      ['probe|9090', 'STATIC', undefined, { socket_address: { address: '127.0.70.2', port_value: 9090 } }],
    ],
  );
});

test('everything else on the workload is unchanged: same listeners but the probe one, the service port still STRICT', () => {
  const without = translated({});
  const withProbes = translated({ probes: PROBES });
  const others = withProbes.resources.listeners.filter((l) => !l.name!.startsWith('health-probes_'));
  assert.equal(others, without.resources.listeners);
  assert.equal(
    withProbes.resources.clusters.filter((c) => !c.name!.startsWith('probe|')),
    without.resources.clusters,
  );
  assert.equal(withProbes.resources.routes, without.resources.routes);
  assert.equal(withProbes.resources.secrets, without.resources.secrets);
  const inbound = others.find((l) => l.name === '127.0.70.1_8080')!;
  assert.equal(
    inbound.filter_chains!.map((c) => [c.name, c.filter_chain_match?.transport_protocol]),
    [['inbound|8080|mtls', 'tls']],
    'only an mTLS chain on the service port',
  );
});

test('TRANSPARENT mode binds the probe listener on the workload address too', () => {
  const { resources } = translated({ probes: PROBES, interceptionMode: 'TRANSPARENT' });
  const listener = resources.listeners.find((l) => l.name === 'health-probes_127.0.70.1_15021');
  assert.ok(listener);
  assert.ok(resources.listeners.some((l) => l.name === 'virtualInbound'));
});

test('the annotation is validated strictly, each error at its file:line', () => {
  const where = `mesh.yaml:${annotationLine({ probes: 'x' })}`;
  const cases: [string, RegExp][] = [
    ['not json', /expected JSON like/],
    ['[1]', /expected a JSON object/],
    ['{"paths": {"/a": {"port": 1, "path": "/b"}}}', /"port": expected a port number \(1-65535\), got undefined/],
    ['{"port": 70000, "paths": {"/a": {"port": 1, "path": "/b"}}}', /"port": expected a port number \(1-65535\), got 70000/],
    ['{"port": 15021, "paths": {}}', /"paths": expected an object mapping at least one probe path/],
    ['{"port": 15021, "paths": {"/a": {"port": 1, "path": "/b"}}, "scheme": "HTTP"}', /unknown field "scheme"/],
    ['{"port": 15021, "paths": {"a": {"port": 1, "path": "/b"}}}', /"paths"."a": the probe path must be an absolute path/],
    ['{"port": 15021, "paths": {"/a?x=1": {"port": 1, "path": "/b"}}}', /the probe path must be an absolute path.*no query/],
    ['{"port": 15021, "paths": {"/a/../b": {"port": 1, "path": "/b"}}}', /must not contain "\." or "\.\." segments/],
    ['{"port": 15021, "paths": {"/a//b": {"port": 1, "path": "/b"}}}', /must not contain empty segments/],
    ['{"port": 15021, "paths": {"/a%2Fb": {"port": 1, "path": "/b"}}}', /%-escapes/],
    ['{"port": 15021, "paths": {"/a": {"port": 0, "path": "/b"}}}', /"paths"."\/a".port: expected a port number/],
    ['{"port": 15021, "paths": {"/a": {"port": 80}}}', /"paths"."\/a".path: expected the application's path, got undefined/],
    ['{"port": 15021, "paths": {"/a": {"port": 80, "path": "b c"}}}', /"paths"."\/a".path: must be an absolute path/],
    ['{"port": 15021, "paths": {"/a": {"port": 80, "path": "/b", "host": "x"}}}', /"paths"."\/a": unknown field "host"/],
    ['{"port": 15021, "paths": {"/a": "/b"}}', /expected \{"port": <app port>, "path": "<app path>"\}/],
  ];
  for (const [value, message] of cases) {
    const found = issues(value);
    assert.is(found.length, 1, `${value}: ${found.join('\n')}`);
    assert.ok(found[0]!.startsWith(where), `${value}: ${found[0]}`);
    assert.ok(found[0]!.includes('sidecar.meshlite.io/healthProbes'), found[0]);
    assert.match(found[0]!, message, value);
  }
  assert.equal(issues(PROBES), [], 'the well-formed annotation is accepted');
});

test('the probe port must not clash with the workload’s other sockets or another workload’s', () => {
  // On the service port's inbound listener (same address and port).
  const onInbound = issues(JSON.stringify({ port: 8080, paths: { '/h': { port: 8080, path: '/h' } } }));
  assert.is(onInbound.length, 1, onInbound.join('\n'));
  assert.match(onInbound[0]!, /plaintext health probe listener on 127\.0\.70\.1:8080/);
  assert.match(onInbound[0]!, /inbound listener for web\.shop\.svc\.cluster\.local:8080/);
  // Forwarding probes to itself: the app address is the workload address and the app port is the probe port.
  const onItself = issues(JSON.stringify({ port: 9090, paths: { '/h': { port: 9090, path: '/h' } } }), {
    applicationAddress: '127.0.70.1',
  });
  assert.is(onItself.length, 1, onItself.join('\n'));
  // The inbound listener's clash is named; the probe listener's is counted with it.
  assert.match(onItself[0]!, /that is to itself.*\(and 1 more of its sockets collide with its own\)/);
  const onItselfAlone = issues(JSON.stringify({ port: 9090, paths: { '/h': { port: 9090, path: '/h' } } }));
  assert.equal(onItselfAlone, [], 'the same probe with the app on its own address is fine');
  // TRANSPARENT: the virtual listeners own 15001 and 15006 on every address.
  const onVirtual = issues(JSON.stringify({ port: 15006, paths: { '/h': { port: 8080, path: '/h' } } }), {
    interceptionMode: 'TRANSPARENT',
  });
  assert.is(onVirtual.length, 1, onVirtual.join('\n'));
  assert.match(onVirtual[0]!, /virtualInbound listener/);
  // Another workload's listener on the same address and port.
  const other = `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: other
  namespace: shop
  annotations:
    sidecar.meshlite.io/outboundAddress: 127.0.70.9
    sidecar.meshlite.io/outboundPort: "15021"
spec:
  address: 127.0.70.8
  labels: {app: other, security.istio.io/tlsMode: istio}`;
  const withOther = loadProbeMesh({ probes: PROBES, outboundAddress: '127.0.70.1', extra: other.replace('127.0.70.9', '127.0.70.1') });
  assert.not.ok(withOther.ok);
  if (!withOther.ok) assert.match(withOther.issues.map(formatIssue).join('\n'), /plaintext health probe listener on 127\.0\.70\.1:15021/);
});

test('a probe annotation on a workload without a sidecar is an error, not silently ignored', () => {
  const plain = probeMeshText({ probes: PROBES }).replace('labels: {app: web, security.istio.io/tlsMode: istio}', 'labels: {app: web}');
  const loaded = loadMeshTexts([{ name: 'mesh.yaml', text: plain }]);
  assert.not.ok(loaded.ok);
  if (loaded.ok) return;
  const found = loaded.issues.map(formatIssue);
  assert.equal(found.length, 1, found.join('\n'));
  assert.match(
    found[0]!,
    /^mesh\.yaml:\d+:1: metadata\.annotations\["sidecar\.meshlite\.io\/healthProbes"\]: health probes are served by a sidecar/,
  );
  assert.match(found[0]!, /web\.shop is not a sidecar/);
});

test.run();
