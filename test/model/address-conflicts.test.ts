// Address conflicts between proxies: every clash is a config error naming
// both workloads, and the sockets the check reasons about are exactly the ones
// the translator binds.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIssue } from '../../src/config/diagnostics.js';
import { loadMeshConfig, withMeshChecks } from '../../src/control-plane/load-mesh.js';
import { buildMeshModel } from '../../src/model/mesh-model.js';
import { allSockets, workloadSockets } from '../../src/model/proxy-sockets.js';
import { meshProxies, translate } from '../../src/translate/translator.js';
import type { Listener } from '../../src/xds/envoy-types/index.js';
import { type Document, gateway, loadManifests, type ManifestFiles, serviceEntry, workloadEntry } from '../support/fixtures/index.js';
import { EXAMPLES_DIR, REPO_ROOT } from '../support/paths.js';

// A ServiceEntry renders as 18 lines, so the document after it in a file starts on line 20.

/** The issues of the mesh-level checks ([] when the config is accepted). */
function meshIssues(files: ManifestFiles): string[] {
  const loaded = loadManifests(files);
  if (!loaded.ok) throw new Error(`the documents themselves are invalid:\n${loaded.issues.map(formatIssue).join('\n')}`);
  const checked = withMeshChecks(loaded);
  return checked.ok ? [] : checked.issues.map(formatIssue);
}

/** The service `<name>.<namespace>` on HTTP 8000 (target port 80), or on the given ports. */
const service = (ref: string, ports?: object[]) => serviceEntry(ref, ports ? { ports } : {});

/** A WorkloadEntry of the service of its name, with a sidecar unless `sidecar` is false. */
const entry = (ref: string, address: string, annotations: Record<string, string> = {}, sidecar = true): Document =>
  workloadEntry(ref, { address, sidecar }, Object.keys(annotations).length > 0 ? { annotations } : {});

const APP = 'sidecar.meshlite.io/applicationAddress';
const OUT = 'sidecar.meshlite.io/outboundAddress';
const OUT_PORT = 'sidecar.meshlite.io/outboundPort';
const MODE = 'sidecar.meshlite.io/interceptionMode';

test('outbound clash: two sidecars left on the default outbound 127.0.0.1:15001 of one host; the later names the earlier with file:line', () => {
  const issues = meshIssues({
    'services.yaml': [service('foo/front'), service('bar/back')],
    'front.yaml': entry('foo/front', '127.0.50.1', { [APP]: '127.0.60.1' }),
    'back.yaml': entry('bar/back', '127.0.50.2', { [APP]: '127.0.60.2' }),
  });
  assert.equal(issues, [
    "front.yaml:1:1: sidecar front.foo's outbound HTTP proxy listener on 127.0.0.1:15001 (sidecar.meshlite.io/outboundAddress not set, default 127.0.0.1; " +
      "sidecar.meshlite.io/outboundPort not set, default 15001) collides with sidecar back.bar's outbound HTTP proxy listener on 127.0.0.1:15001 " +
      '(sidecar.meshlite.io/outboundAddress not set, default 127.0.0.1; sidecar.meshlite.io/outboundPort not set, default 15001), defined at back.yaml:1: ' +
      'Envoy binds with SO_REUSEPORT, so both proxies would listen there and connections would be split between them; give each its own address or port',
  ]);
});

test('outbound clash set by annotations points at the annotation; distinct outbound addresses are fine', () => {
  const files = (backOutbound: string) => ({
    'mesh.yaml': [
      service('foo/front'),
      service('bar/back'),
      entry('foo/front', '127.0.50.1', { [APP]: '127.0.60.1', [OUT]: '127.0.70.1' }),
      entry('bar/back', '127.0.50.2', { [APP]: '127.0.60.2', [OUT]: backOutbound }),
    ],
  });
  const issues = meshIssues(files('127.0.70.1'));
  assert.is(issues.length, 1, issues.join('\n'));
  assert.match(
    issues[0]!,
    /^mesh.yaml:\d+:1: metadata\.annotations\["sidecar\.meshlite\.io\/outboundAddress"\]: sidecar back\.bar's outbound HTTP proxy listener on 127\.0\.70\.1:15001 \(sidecar\.meshlite\.io\/outboundAddress: 127\.0\.70\.1;/,
  );
  assert.match(issues[0]!, "collides with sidecar front.foo's outbound HTTP proxy listener on 127.0.70.1:15001");
  const fixed = files('127.0.70.2');
  assert.equal(meshIssues(fixed), []);
});

test('inbound clash: two sidecars on one address and target port', () => {
  const issues = meshIssues({
    'a.yaml': [service('foo/a'), entry('foo/a', '127.0.50.1', { [APP]: '127.0.60.1', [OUT]: '127.0.70.1' })],
    'b.yaml': [service('foo/b'), entry('foo/b', '127.0.50.1', { [APP]: '127.0.60.2', [OUT]: '127.0.70.2' })],
  });
  assert.equal(issues, [
    "b.yaml:20:1: spec.address: sidecar b.foo's inbound listener for b.foo.svc.cluster.local:8000 on 127.0.50.1:80 (spec.address) collides with " +
      "sidecar a.foo's inbound listener for a.foo.svc.cluster.local:8000 on 127.0.50.1:80 (spec.address), defined at a.yaml:20: " +
      'Envoy binds with SO_REUSEPORT, so both proxies would listen there and connections would be split between them; give each its own address or port',
  ]);
});

test('applicationAddress == address: the inbound listener would forward to itself', () => {
  const issues = meshIssues({
    'a.yaml': [service('foo/a'), entry('foo/a', '127.0.50.1', { [APP]: '127.0.50.1', [OUT]: '127.0.70.1' })],
  });
  assert.equal(issues, [
    'a.yaml:20:1: metadata.annotations["sidecar.meshlite.io/applicationAddress"]: sidecar a.foo\'s inbound listener for a.foo.svc.cluster.local:8000 on 127.0.50.1:80 (spec.address) ' +
      'would forward to its application on 127.0.50.1:80 (sidecar.meshlite.io/applicationAddress: 127.0.50.1), that is to itself; ' +
      'set sidecar.meshlite.io/applicationAddress to the address the application listens on, not spec.address',
  ]);
  // The default applicationAddress (127.0.0.1) loops the same way for a workload on 127.0.0.1.
  const defaults = meshIssues({ 'a.yaml': [service('foo/a'), entry('foo/a', '127.0.0.1', { [OUT]: '127.0.70.1' })] });
  assert.is(defaults.length, 1);
  assert.match(
    defaults[0]!,
    'would forward to its application on 127.0.0.1:80 (sidecar.meshlite.io/applicationAddress not set, default 127.0.0.1), that is to itself',
  );
  // TRANSPARENT forwards from virtualInbound (15006): nothing listens on address:80 but the app.
  assert.equal(
    meshIssues({
      'a.yaml': [service('foo/a'), entry('foo/a', '10.0.0.1', { [APP]: '10.0.0.1', [MODE]: 'TRANSPARENT' })],
    }),
    [],
  );
});

// The Gateway renders as 15 lines: its WorkloadEntry starts on line 17.
const ingress = [
  gateway('istio-system/ingress', { selector: { istio: 'ingressgateway' } }),
  workloadEntry('istio-system/ingress', { address: '127.0.50.9', labels: { istio: 'ingressgateway' }, sidecar: false }),
];

test('gateway vs sidecar: a gateway server port on the address a sidecar takes inbound', () => {
  const issues = meshIssues({
    'gateway.yaml': ingress,
    'sidecar.yaml': [service('foo/web'), entry('foo/web', '127.0.50.9', { [APP]: '127.0.60.9', [OUT]: '127.0.70.9' })],
  });
  assert.equal(issues, [
    "sidecar.yaml:20:1: spec.address: sidecar web.foo's inbound listener for web.foo.svc.cluster.local:8000 on 127.0.50.9:80 (spec.address) collides with " +
      "gateway ingress.istio-system's gateway listener for Gateway istio-system/ingress (gateway.yaml:1) servers[0] (http) on 127.0.50.9:80 (spec.address), defined at gateway.yaml:17: " +
      'Envoy binds with SO_REUSEPORT, so both proxies would listen there and connections would be split between them; give each its own address or port',
  ]);
});

test('wildcard: 0.0.0.0:15001 of one sidecar takes 127.0.0.1:15001 of another on the same host, not on another host', () => {
  const files = (second: string) => ({
    'mesh.yaml': [
      service('foo/a'),
      service('foo/b'),
      entry('foo/a', '127.0.50.1', { [APP]: '127.0.60.1', [OUT]: '0.0.0.0' }),
      entry('foo/b', second, { [APP]: '127.0.60.2' }),
    ],
  });
  const issues = meshIssues(files('127.0.50.2'));
  assert.is(issues.length, 1, issues.join('\n'));
  assert.match(issues[0]!, "sidecar b.foo's outbound HTTP proxy listener on 127.0.0.1:15001");
  assert.match(
    issues[0]!,
    "collides with sidecar a.foo's outbound HTTP proxy listener on 0.0.0.0:15001 (sidecar.meshlite.io/outboundAddress: 0.0.0.0;",
  );
  assert.match(issues[0]!, '(0.0.0.0:15001 takes the port on every address of the host)');
  // b on a host of its own (10.0.0.2): its 127.0.0.1 is not a's.
  assert.equal(meshIssues(files('10.0.0.2')), []);
});

test('hosts: default outbound sockets on different hosts do not clash; TRANSPARENT sidecars clash only on one host', () => {
  const twoHosts = [service('foo/a'), service('foo/b'), entry('foo/a', '10.0.0.1'), entry('foo/b', '10.0.0.2')];
  assert.equal(meshIssues({ 'mesh.yaml': twoHosts }), []);
  const transparent = (address: string) => [
    service('foo/a'),
    service('foo/b'),
    entry('foo/a', '10.0.0.1', { [MODE]: 'TRANSPARENT' }),
    entry('foo/b', address, { [MODE]: 'TRANSPARENT', [APP]: '127.0.0.2' }),
  ];
  assert.equal(meshIssues({ 'mesh.yaml': transparent('10.0.0.2') }), []);
  const oneHost = meshIssues({ 'mesh.yaml': transparent('10.0.0.1') });
  assert.is(oneHost.length, 1, oneHost.join('\n'));
  assert.match(
    oneHost[0]!,
    'metadata.annotations["sidecar.meshlite.io/interceptionMode"]: sidecar b.foo\'s virtualInbound listener on 0.0.0.0:15006',
  );
  assert.match(oneHost[0]!, "collides with sidecar a.foo's virtualInbound listener on 0.0.0.0:15006");
  assert.match(oneHost[0]!, "(and 1 more of its sockets collide with a.foo's)");
});

test('many sockets of one pair of workloads: one issue, the rest counted', () => {
  const tcp = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `tcp-${i}`, number: 9000 + i, protocol: 'TCP' }));
  const issues = meshIssues({
    'mesh.yaml': [
      service('foo/db', tcp(50)),
      entry('foo/a', '127.0.50.1', { [APP]: '127.0.60.1' }),
      entry('foo/b', '127.0.50.2', { [APP]: '127.0.60.2' }),
    ],
  });
  assert.is(issues.length, 1, issues.join('\n'));
  assert.match(issues[0]!, "sidecar b.foo's outbound TCP listener for db.foo.svc.cluster.local:9000 on 127.0.0.1:9000");
  assert.match(issues[0]!, "(and 49 more of its sockets collide with a.foo's)");
});

test("an outbound listener on another workload's application socket, and two sidecars forwarding to one application", () => {
  const legacy = [service('legacy/old'), entry('legacy/old', '127.0.53.1', {}, false)];
  const proxy = entry('foo/a', '127.0.50.1', { [APP]: '127.0.60.1', [OUT]: '127.0.53.1', [OUT_PORT]: '80' });
  const issues = meshIssues({ 'legacy.yaml': legacy, 'proxy.yaml': [service('foo/a'), proxy] });
  assert.equal(issues.length, 1, issues.join('\n'));
  assert.match(
    issues[0]!,
    'proxy.yaml:20:1: metadata.annotations["sidecar.meshlite.io/outboundAddress"]: sidecar a.foo\'s outbound HTTP proxy listener on 127.0.53.1:80',
  );
  assert.match(
    issues[0]!,
    "collides with workload old.legacy's application serving old.legacy.svc.cluster.local:8000 on 127.0.53.1:80 (spec.address), defined at legacy.yaml:20: an Envoy listener and an application cannot both listen there",
  );

  const shared = meshIssues({
    'mesh.yaml': [
      service('foo/a'),
      service('foo/b'),
      entry('foo/a', '127.0.50.1', { [OUT]: '127.0.70.1' }),
      entry('foo/b', '127.0.50.2', { [OUT]: '127.0.70.2' }),
    ],
  });
  assert.equal(shared.length, 1, shared.join('\n'));
  assert.match(
    shared[0]!,
    "sidecar b.foo's application (the sidecar forwards b.foo.svc.cluster.local:8000 to it) on 127.0.0.1:80 (sidecar.meshlite.io/applicationAddress not set, default 127.0.0.1) collides with sidecar a.foo's application",
  );
  assert.match(shared[0]!, 'both sidecars would forward their inbound traffic to one application');
});

test('one sidecar: an outbound TCP listener on its own inbound address and port', () => {
  const tcp = [{ name: 'tcp', number: 9000, protocol: 'TCP' }];
  const issues = meshIssues({
    'mesh.yaml': [service('foo/echo', tcp), entry('foo/echo', '127.0.50.1', { [APP]: '127.0.60.1', [OUT]: '127.0.50.1' })],
  });
  assert.equal(issues.length, 1, issues.join('\n'));
  assert.match(
    issues[0]!,
    "sidecar echo.foo's outbound TCP listener for echo.foo.svc.cluster.local:9000 on 127.0.50.1:9000 (sidecar.meshlite.io/outboundAddress: 127.0.50.1) collides with its own inbound listener",
  );
  assert.match(issues[0]!, 'one Envoy cannot hold two listeners on one address and port');
});

test('proxyless apps and workloads without a sidecar bind no Envoy sockets; two plain apps are not judged', () => {
  const proxyless = entry('foo/grpc', '127.0.50.1', { 'proxyless.meshlite.io/grpc': 'true', [OUT]: '127.0.70.1' });
  const sidecar = entry('foo/a', '127.0.50.2', { [APP]: '127.0.60.2', [OUT]: '127.0.70.1' });
  assert.equal(meshIssues({ 'mesh.yaml': [service('foo/grpc'), service('foo/a'), proxyless, sidecar] }), []);
  const plain = [service('foo/x'), service('foo/y'), entry('foo/x', '127.0.50.1', {}, false), entry('foo/y', '127.0.50.1', {}, false)];
  assert.equal(meshIssues({ 'mesh.yaml': plain }), []);
});

test('every example passes the mesh checks', () => {
  for (const dir of readdirSync(EXAMPLES_DIR).sort()) {
    const result = loadMeshConfig([join(EXAMPLES_DIR, dir)], { cwd: REPO_ROOT });
    assert.ok(result.ok, `${dir}:\n${result.ok ? '' : result.issues.map(formatIssue).join('\n')}`);
  }
});

/** `address:port` of every listener that binds (TRANSPARENT's per-port listeners do not). */
function boundListeners(listeners: readonly Listener[]): string[] {
  return listeners
    .filter((l) => l.bind_to_port !== false && !l.api_listener)
    .map((l) => (l.address as { socket_address: { address: string; port_value: number } }).socket_address)
    .map((a) => `${a.address}:${a.port_value}`)
    .sort();
}

test('the sockets checked are the ones the translator binds, for every proxy of every example', () => {
  let proxies = 0;
  for (const dir of readdirSync(EXAMPLES_DIR).sort()) {
    const result = loadMeshConfig([join(EXAMPLES_DIR, dir)], { cwd: REPO_ROOT });
    if (!result.ok) return assert.unreachable(dir);
    const model = buildMeshModel(result.config);
    for (const { workload, kind } of meshProxies(model)) {
      const translated = translate(model, workload.id);
      if (!translated.ok) return assert.unreachable(`${dir} ${workload.id}: ${translated.error}`);
      const bound = boundListeners(translated.resources.listeners);
      const sockets = allSockets(workloadSockets(model, workload));
      const checked = sockets
        .filter((s) => s.role === 'envoy')
        .map((s) => `${s.ip}:${s.port}`)
        .sort();
      if (kind === 'proxyless') {
        // A proxyless server's listeners are bound by the app itself (grpc's XdsServer): its app sockets.
        const app = sockets.filter((s) => s.role === 'app').map((s) => `${s.ip}:${s.port}`);
        for (const socket of bound)
          assert.ok(app.includes(socket), `${dir} ${workload.id}: ${socket} is served but not checked (${app.join(', ')})`);
      } else if (kind === 'gateway') {
        // Every server port is checked; a port with nothing to serve yet gets no listener.
        for (const socket of bound)
          assert.ok(checked.includes(socket), `${dir} ${workload.id}: ${socket} is bound but not checked (${checked.join(', ')})`);
      } else {
        assert.equal(checked, bound, `${dir} ${workload.id} (${kind})`);
      }
      proxies += 1;
    }
  }
  assert.ok(proxies > 40, `only ${proxies} proxies`);
});

test.run();
