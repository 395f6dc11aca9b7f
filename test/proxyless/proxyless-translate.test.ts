// The proxyless translation, checked with grpc-js-xds's own resource
// validators: every Listener, RouteConfiguration, Cluster and
// ClusterLoadAssignment meshlite serves must decode as valid in the client.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as xds from '@grpc/grpc-js-xds';
import { validateBootstrapConfig } from '@grpc/grpc-js-xds/build/src/xds-bootstrap.js';
import { ClusterResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/cluster-resource-type.js';
import { EndpointResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/endpoint-resource-type.js';
import { ListenerResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/listener-resource-type.js';
import { RouteConfigurationResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/route-config-resource-type.js';
import type { XdsDecodeContext, XdsResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/xds-resource-type.js';
import { findVirtualHostForDomain } from '@grpc/grpc-js-xds/build/src/xds-dependency-manager.js';
import { buildSnapshot } from '../../src/cache/snapshot.js';
import type { MeshModel } from '../../src/model/mesh-model.js';
import { buildGrpcBootstrap } from '../../src/xds/proxyless-bootstrap.js';
import { Translator, translate } from '../../src/translate/translator.js';
import { sidecarProxies } from '../../src/translate/translator.js';
import {
  destinationRule,
  exampleMesh,
  externalServiceEntry,
  meshOf,
  peerAuthentication,
  serviceEntry,
  workloadEntry,
  type WorkloadEntrySpec,
} from '../support/fixtures/index.js';

// Registers the xds resolver and, with it, the HTTP filters (the router) the listener validator looks up.
xds.register();

type Obj = Record<string, any>;
const GRPC_SERVICE = serviceEntry('bar/greeter', { ports: [{ name: 'grpc', number: 50051, protocol: 'GRPC' }] });
/** A workload without a sidecar; it runs a gRPC server. */
const plainWorkload = (ref: string, spec: WorkloadEntrySpec) => workloadEntry(ref, { ...spec, sidecar: false });
/** A proxyless gRPC client (no sidecar, annotated), the proxy these tests translate for. */
const caller = (ref: string, address: string) =>
  workloadEntry(ref, { address, sidecar: false }, { annotations: { 'proxyless.meshlite.io/grpc': 'true' } });
const example = () => exampleMesh('proxyless-grpc');

/** One Translator per model, as the control plane keeps: proxyless clients of a namespace share its resources. */
const translators = new WeakMap<MeshModel, Translator>();

function translated(model: MeshModel, id: string) {
  let translator = translators.get(model);
  if (!translator) translators.set(model, (translator = new Translator(model)));
  const r = translator.translate(id);
  if (!r.ok) throw new Error(r.error);
  return r.resources;
}

/** What `meshlite agent --grpc` adds to the bootstrap: the certificate provider `default` the TLS contexts name. */
function withCertificateProvider(bootstrap: object): object {
  const files = {
    certificate_file: '/dev/null',
    private_key_file: '/dev/null',
    ca_certificate_file: '/dev/null',
    refresh_interval: '600s',
  };
  return {
    ...bootstrap,
    certificate_providers: { default: { plugin_name: 'file_watcher', config: files } },
    server_listener_resource_name_template: 'grpc/server?xds.resource.listening_address=%s',
  };
}

/** Decodes every resource of a proxy's snapshot the way grpc-js-xds does on receipt. */
function decodeAll(model: MeshModel, id: string): Map<string, Obj> {
  const r = translate(model, id);
  if (!r.ok) throw new Error(r.error);
  const bootstrap = validateBootstrapConfig(
    withCertificateProvider(buildGrpcBootstrap({ workload: r.view.proxy, adsAddress: '127.0.0.1:15010' })),
  );
  const context: XdsDecodeContext = { server: bootstrap.xdsServers[0]!, bootstrap };
  const snapshot = buildSnapshot(r.resources, []);
  const types: [keyof typeof snapshot, XdsResourceType][] = [
    ['listeners', ListenerResourceType.get()],
    ['routes', RouteConfigurationResourceType.get()],
    ['clusters', ClusterResourceType.get()],
    ['endpoints', EndpointResourceType.get()],
  ];
  const decoded = new Map<string, Obj>();
  for (const [type, decoder] of types) {
    for (const resource of snapshot[type].resources.values()) {
      const result = decoder.decode(context, { type_url: snapshot[type].typeUrl, value: Buffer.from(resource.value) });
      assert.is(result.error, undefined, `${type} ${resource.name}: ${result.error}`);
      assert.is(result.name, resource.name);
      decoded.set(`${type}/${resource.name}`, result.value as Obj);
    }
  }
  return decoded;
}

test('the example: greeter-client.foo gets a listener per name of greeter.bar, one route config, one EDS cluster', () => {
  const model = example();
  assert.equal(sidecarProxies(model), [], 'the example has no sidecars (so no goldens)');
  const r = translated(model, 'greeter-client.foo');
  const fqdn = 'greeter.bar.svc.cluster.local';
  assert.equal(
    r.listeners.map((l) => l.name),
    ['greeter.bar', 'greeter.bar:50051', 'greeter.bar.svc', 'greeter.bar.svc:50051', fqdn, `${fqdn}:50051`],
  );
  for (const l of r.listeners) {
    const hcm = (l.api_listener as Obj).api_listener;
    assert.equal(hcm.rds.route_config_name, `${fqdn}:50051`);
    assert.equal(hcm.rds.config_source, { ads: {}, resource_api_version: 'V3' });
    assert.equal(hcm.http_filters.at(-1).typed_config['@type'], 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router');
  }
  assert.equal(
    r.routes.map((x) => x.name),
    [`${fqdn}:50051`],
  );
  const vhosts = r.routes[0]!.virtual_hosts as Obj[];
  assert.is(vhosts.length, 1);
  assert.is(vhosts[0]!.domains.at(-1), '*', 'a catch-all domain, always');
  assert.equal(vhosts[0]!.routes[0].route, { cluster: `outbound|50051||${fqdn}` });
  assert.equal(
    r.clusters.map((c) => [c.name, c.type, c.transport_socket?.name]),
    [[`outbound|50051||${fqdn}`, 'EDS', 'envoy.transport_sockets.tls']],
    'the example is STRICT and its server runs proxyless (under the agent): auto mTLS',
  );
  assert.equal(r.endpoints, [
    {
      cluster_name: `outbound|50051||${fqdn}`,
      endpoints: [
        {
          locality: { region: 'local', zone: 'zone-a' },
          lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.60.1', port_value: 50051 } } } }],
          load_balancing_weight: 1,
        },
      ],
    },
  ]);
  assert.equal(r.secrets, []);
  assert.equal(r.warnings, []);
});

test('grpc-js-xds accepts every resource, and every published name finds the vhost', () => {
  const decoded = decodeAll(example(), 'greeter-client.foo');
  const route = decoded.get('routes/greeter.bar.svc.cluster.local:50051')!;
  for (const key of decoded.keys()) {
    if (!key.startsWith('listeners/')) continue;
    const name = key.slice('listeners/'.length);
    const vhost = findVirtualHostForDomain(route.virtual_hosts, name);
    assert.ok(vhost, `no vhost for ${name}`);
  }
  // The `*` vhost also catches an authority meshlite never heard of (grpc-js-xds crashes on a later update otherwise).
  assert.ok(findVirtualHostForDomain(route.virtual_hosts, 'other.authority:1'));
});

test('short names follow the client namespace; non-gRPC ports and non-STATIC services are not published', () => {
  const dnsGrpc = externalServiceEntry('bar/ext', { hosts: ['ext.example.com'], ports: [{ name: 'grpc', number: 443, protocol: 'GRPC' }] });
  const model = meshOf([
    serviceEntry('bar/greeter', {
      ports: [
        { name: 'grpc', number: 50051, protocol: 'GRPC' },
        { name: 'admin', number: 50052, protocol: 'HTTP2' },
        { name: 'web', number: 8080, protocol: 'HTTP' },
      ],
    }),
    dnsGrpc,
    plainWorkload('bar/greeter', { address: '127.0.60.1' }),
    caller('bar/caller', '127.0.60.11'),
    caller('foo/caller', '127.0.60.12'),
  ]);
  const inBar = translated(model, 'caller.bar');
  const names = inBar.listeners.map((l) => String(l.name));
  assert.ok(names.includes('greeter:50051') && names.includes('greeter:50052'), names.join(' '));
  assert.not.ok(
    names.some((n) => !n.includes(':')),
    'two gRPC ports: no port-less names',
  );
  assert.not.ok(
    names.some((n) => n.endsWith(':8080') || n.startsWith('ext.')),
    names.join(' '),
  );
  assert.match(inBar.warnings.join('\n'), 'ext.example.com:443: resolution DNS is not served to proxyless clients');
  const inFoo = translated(model, 'caller.foo').listeners.map((l) => String(l.name));
  assert.not.ok(inFoo.includes('greeter:50051'), 'bare name only from the same namespace');
  assert.ok(inFoo.includes('greeter.bar:50051'));
  // Clients of the same namespace share the very same resource arrays (and so their encodings).
  assert.is(translated(model, 'caller.bar').listeners, inBar.listeners);
});

test('a host literally named like a short name keeps it; the alias is reported, not duplicated', () => {
  const literal = serviceEntry('bar/literal', {
    hosts: ['greeter.bar'],
    ports: [{ name: 'grpc', number: 50051, protocol: 'GRPC' }],
    endpoints: [{ address: '127.0.61.1' }],
    workloadSelector: undefined,
  });
  const model = meshOf([
    GRPC_SERVICE,
    literal,
    plainWorkload('bar/greeter', { address: '127.0.60.1' }),
    caller('foo/caller', '127.0.60.12'),
  ]);
  const r = translated(model, 'caller.foo');
  const listener = r.listeners.find((l) => l.name === 'greeter.bar:50051')!;
  assert.is((listener.api_listener as Obj).api_listener.rds.route_config_name, 'greeter.bar:50051');
  assert.is(r.listeners.filter((l) => l.name === 'greeter.bar:50051').length, 1);
  assert.match(
    r.warnings.join('\n'),
    'listener name "greeter.bar:50051" of greeter.bar.svc.cluster.local:50051 is already taken by greeter.bar:50051',
  );
  decodeAll(model, 'caller.foo');
});

test('endpoints: weights and localities for grpc, hostnames and duplicates left out, STRICT sidecars reported', () => {
  const greeter = { labels: { app: 'greeter' } };
  const model = meshOf([
    GRPC_SERVICE,
    plainWorkload('bar/g1', { address: '127.0.60.1', ...greeter, locality: 'r1/z1', weight: 3 }),
    plainWorkload('bar/g2', { address: '127.0.60.2', ...greeter, locality: 'r1/z1' }),
    plainWorkload('bar/g3', { address: '127.0.60.3', ...greeter }),
    plainWorkload('bar/g4', { address: 'greeter-4.internal', ...greeter }),
    plainWorkload('bar/g5', { address: '127.0.60.3', ...greeter }),
    workloadEntry('bar/g6', { address: '127.0.60.6', ...greeter }),
    peerAuthentication('bar/strict', { selector: { matchLabels: { app: 'greeter' } }, mtls: { mode: 'STRICT' } }),
    caller('foo/caller', '127.0.60.12'),
  ]);
  const r = translated(model, 'caller.foo');
  const cla = r.endpoints[0] as Obj;
  assert.equal(
    cla.endpoints.map((l: Obj) => [
      l.locality,
      l.load_balancing_weight,
      l.lb_endpoints.map((e: Obj) => [e.endpoint.address.socket_address.address, e.load_balancing_weight]),
    ]),
    [
      [
        { region: 'r1', zone: 'z1' },
        4,
        [
          ['127.0.60.1', 3],
          ['127.0.60.2', undefined],
        ],
      ],
      [
        {},
        2,
        [
          ['127.0.60.3', undefined],
          ['127.0.60.6', undefined],
        ],
      ],
    ],
  );
  const warnings = r.warnings.join('\n');
  assert.match(warnings, 'workload g4.bar has address "greeter-4.internal", not an IP');
  assert.match(warnings, 'workload g5.bar repeats endpoint 127.0.60.3:50051');
  assert.match(warnings, 'workload g6.bar require mTLS (STRICT) but');
  decodeAll(model, 'caller.foo');
});

test('DestinationRule: http2MaxRequests becomes a circuit breaker; settings grpc cannot honour are reported', () => {
  const model = meshOf([
    GRPC_SERVICE,
    plainWorkload('bar/greeter', { address: '127.0.60.1' }),
    caller('foo/caller', '127.0.60.12'),
    destinationRule('bar/greeter', {
      host: 'greeter.bar.svc.cluster.local',
      trafficPolicy: {
        tls: { mode: 'ISTIO_MUTUAL' },
        loadBalancer: { simple: 'LEAST_REQUEST' },
        connectionPool: { http: { http2MaxRequests: 7 } },
      },
    }),
  ]);
  const r = translated(model, 'caller.foo');
  assert.equal(r.clusters[0]!.circuit_breakers, { thresholds: [{ priority: 'DEFAULT', max_requests: 7 }] });
  assert.match(r.warnings.join('\n'), 'not applied to proxyless clients: loadBalancer LEAST_REQUEST');
  assert.is(
    r.clusters[0]!.transport_socket?.name,
    'envoy.transport_sockets.tls',
    'ISTIO_MUTUAL is applied: mTLS from the bootstrap provider',
  );
  const decoded = decodeAll(model, 'caller.foo');
  assert.is(decoded.get('clusters/outbound|50051||greeter.bar.svc.cluster.local')!.maxConcurrentRequests, 7);
});

test('only annotated workloads translate; a sidecar that is also annotated is served proxyless, with a warning', () => {
  const model = meshOf([
    GRPC_SERVICE,
    workloadEntry('bar/greeter', { address: '127.0.60.1' }),
    workloadEntry('bar/both', { address: '127.0.60.2' }, { annotations: { 'proxyless.meshlite.io/grpc': 'true' } }),
  ]);
  const plain = translate(model, 'greeter.bar');
  assert.ok(plain.ok && plain.kind === 'sidecar', 'a workload without the annotation is served as a sidecar, not proxyless');
  const missing = translate(model, 'nope.bar');
  assert.ok(!missing.ok && missing.error.includes('no workload "nope.bar"'));
  assert.match(translated(model, 'both.bar').warnings.join('\n'), 'also carries the sidecar label');
});

test('the gRPC bootstrap passes grpc-js-xds validation with node id, locality and ignore_resource_deletion', () => {
  const model = example();
  const info = validateBootstrapConfig(
    buildGrpcBootstrap({ workload: model.registry.workload('greeter-client.foo')!, adsAddress: '127.0.0.1:15010' }),
  );
  assert.is(info.node.id, 'greeter-client.foo');
  assert.equal(info.node.locality, { region: 'local', zone: 'zone-a' });
  assert.equal(
    info.xdsServers.map((s) => [s.server_uri, s.channel_creds.map((c) => c.type), s.server_features.includes('ignore_resource_deletion')]),
    [['127.0.0.1:15010', ['insecure'], true]],
  );
});

test.run();
