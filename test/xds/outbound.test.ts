import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { translate } from '../../src/translate/translator.js';
import {
  destinationRule,
  type Document,
  externalServiceEntry,
  meshOf,
  serviceEntry,
  virtualService,
  workloadEntry,
} from '../support/fixtures/index.js';

type Obj = Record<string, any>;
const client = workloadEntry(
  'foo/sleep',
  { address: '127.0.1.2' },
  { annotations: { 'sidecar.meshlite.io/outboundAddress': '127.0.1.2' } },
);
const base = [serviceEntry('bar/httpbin'), workloadEntry('bar/httpbin', { address: '127.0.2.1' }), client];
const HOST = 'httpbin.bar.svc.cluster.local';
const TCP_5432 = { name: 'tcp', number: 5432, protocol: 'TCP' };
/** A DestinationRule bar/httpbin for httpbin with this client TLS setting. */
const httpbinTls = (tls: Obj) => destinationRule('bar/httpbin', { host: HOST, trafficPolicy: { tls } });

function resources(...extra: Document[]) {
  const r = translate(meshOf([...base, ...extra]), 'sleep.foo');
  if (!r.ok) throw new Error(r.error);
  return r.resources;
}
const cluster = (res: { clusters: Obj[] }, name = `outbound|8000||${HOST}`) => res.clusters.find((c) => c.name === name)! as Obj;
const upstream = (c: Obj) => c.transport_socket.typed_config;

test('auto mTLS: transport_socket_matches istio then plaintext; endpoint metadata selects', () => {
  const res = resources();
  const c = cluster(res);
  assert.equal(
    c.transport_socket_matches.map((m: Obj) => [m.name, m.match]),
    [
      ['tlsMode-istio', { tlsMode: 'istio' }],
      ['tlsMode-disabled', {}],
    ],
  );
  assert.is(c.transport_socket, undefined);
  const cla = (res.endpoints as Obj[]).find((e) => e.cluster_name === c.name)!;
  assert.equal(cla.endpoints[0].lb_endpoints[0].metadata, { filter_metadata: { 'envoy.transport_socket_match': { tlsMode: 'istio' } } });
});

test('ISTIO_MUTUAL: plain transport_socket with mesh SNI, ALPN istio, exact SAN, SDS default/ROOTCA', () => {
  const ctx = upstream(cluster(resources(httpbinTls({ mode: 'ISTIO_MUTUAL' }))));
  assert.is(ctx.sni, `outbound_.8000_._.${HOST}`);
  assert.equal(ctx.common_tls_context.alpn_protocols, ['istio']);
  assert.equal(ctx.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names, [
    { san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/bar/sa/httpbin' } },
  ]);
  assert.is(ctx.common_tls_context.tls_certificate_sds_secret_configs[0].name, 'default');
});

test('DISABLE: no transport socket at all', () => {
  const c = cluster(resources(httpbinTls({ mode: 'DISABLE' })));
  assert.is(c.transport_socket, undefined);
  assert.is(c.transport_socket_matches, undefined);
});

test('SIMPLE with a CA file: file-root SDS, auto SNI and SAN validation from Host', () => {
  const res = resources(httpbinTls({ mode: 'SIMPLE', caCertificates: '/certs/ca.pem' }));
  const c = cluster(res);
  const ctx = upstream(c);
  assert.is(ctx.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name, 'file-root:/certs/ca.pem');
  assert.is(ctx.common_tls_context.tls_certificate_sds_secret_configs, undefined, 'SIMPLE presents no client certificate');
  assert.is(ctx.sni, undefined);
  const opts = c.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
  assert.equal(opts.upstream_http_protocol_options, { auto_sni: true, auto_san_validation: true });
  assert.ok(res.secrets.some((s) => s.name === 'file-root:/certs/ca.pem' && s.kind === 'file-root'));
});

test('SIMPLE without a CA uses the system roots; insecureSkipVerify drops validation', () => {
  const sys = upstream(cluster(resources(httpbinTls({ mode: 'SIMPLE', sni: 'api.example.com' }))));
  assert.is(sys.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name, 'file-root:system');
  assert.is(sys.sni, 'api.example.com');
  const insecure = upstream(cluster(resources(httpbinTls({ mode: 'SIMPLE', insecureSkipVerify: true }))));
  assert.is(insecure.common_tls_context.combined_validation_context, undefined);
});

test('MUTUAL with files and with credentialName; subjectAltNames are exact matches', () => {
  const files = upstream(
    cluster(
      resources(
        httpbinTls({
          mode: 'MUTUAL',
          clientCertificate: '/c.pem',
          privateKey: '/k.pem',
          caCertificates: '/ca.pem',
          subjectAltNames: ['db.example'],
        }),
      ),
    ),
  );
  assert.is(files.common_tls_context.tls_certificate_sds_secret_configs[0].name, 'file-cert:/c.pem~/k.pem');
  assert.equal(files.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names, [
    { san_type: 'DNS', matcher: { exact: 'db.example' } },
  ]);
  const cred = upstream(cluster(resources(httpbinTls({ mode: 'MUTUAL', credentialName: 'db-cred' }))));
  assert.is(cred.common_tls_context.tls_certificate_sds_secret_configs[0].name, 'kubernetes://db-cred');
  assert.is(cred.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name, 'kubernetes://db-cred-cacert');
});

test('port-level TLS settings use the service port', () => {
  const two = serviceEntry('bar/multi', {
    ports: [
      { name: 'http', number: 8000, protocol: 'HTTP' },
      { name: 'http-admin', number: 9000, protocol: 'HTTP' },
    ],
  });
  const dr = destinationRule('bar/multi', {
    host: 'multi',
    trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' }, portLevelSettings: [{ port: { number: 9000 }, tls: { mode: 'DISABLE' } }] },
  });
  const res = resources(two, workloadEntry('bar/multi', { address: '127.0.2.8' }), dr);
  assert.ok(cluster(res, 'outbound|8000||multi.bar.svc.cluster.local').transport_socket);
  assert.is(cluster(res, 'outbound|9000||multi.bar.svc.cluster.local').transport_socket, undefined);
});

test('HTTP/2 and gRPC ports: h2 upstream and ALPN istio,h2', () => {
  const grpc = serviceEntry('bar/greeter', { ports: [{ name: 'grpc', number: 50051, protocol: 'GRPC' }] });
  const res = resources(
    grpc,
    workloadEntry('bar/greeter', { address: '127.0.2.6' }),
    destinationRule('bar/g', { host: 'greeter', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } }),
  );
  const c = cluster(res, 'outbound|50051||greeter.bar.svc.cluster.local');
  assert.equal(upstream(c).common_tls_context.alpn_protocols, ['istio', 'h2']);
  assert.equal(c.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config, {
    http2_protocol_options: {},
  });
});

test('EXPLICIT outbound: HTTP proxy listener with http_proxy routes by host:port, TCP per-port listeners', () => {
  const tcp = serviceEntry('bar/db', { ports: [TCP_5432] });
  const res = resources(tcp, workloadEntry('bar/db', { address: '127.0.2.7' }));
  const names = (res.listeners as Obj[]).map((l) => l.name);
  assert.equal(names, ['127.0.1.2_15001', '127.0.1.2_5432']);
  const route = (res.routes as Obj[])[0]!;
  assert.is(route.name, 'http_proxy');
  const vhost = route.virtual_hosts.find((v: Obj) => v.name === `${HOST}:8000`);
  assert.equal(vhost.domains, [`${HOST}:8000`, 'httpbin.bar.svc:8000', 'httpbin.bar:8000']);
  assert.is(vhost.routes[0].route.cluster, `outbound|8000||${HOST}`);
  const tcpListener = (res.listeners as Obj[]).find((l) => l.name === '127.0.1.2_5432')!;
  assert.is(tcpListener.filter_chains[0].filters[0].typed_config.cluster, 'outbound|5432||db.bar.svc.cluster.local');
});

test('short name of a same-namespace service is routed too, and a domain claimed twice is dropped with a warning', () => {
  const same = workloadEntry('bar/sleep', { address: '127.0.2.2' });
  const r = translate(meshOf([...base, same]), 'sleep.bar');
  assert.ok(r.ok);
  if (!r.ok) return;
  const vhost = (r.resources.routes[0] as Obj).virtual_hosts[0];
  assert.ok(vhost.domains.includes('httpbin:8000'));
  const clash = externalServiceEntry('other/clash', {
    hosts: ['httpbin.bar.svc'],
    ports: [{ name: 'http', number: 8000, protocol: 'HTTP' }],
  });
  const r2 = translate(meshOf([...base, clash]), 'sleep.foo');
  assert.ok(r2.ok);
  if (!r2.ok) return;
  const all = (r2.resources.routes[0] as Obj).virtual_hosts.flatMap((v: Obj) => v.domains);
  assert.is(all.filter((d: string) => d === 'httpbin.bar.svc:8000').length, 1);
  assert.ok(r2.resources.warnings.some((w) => w.includes('httpbin.bar.svc:8000')));
});

test('DNS services resolve their host with inline endpoints; NONE is original-destination', () => {
  const dns = externalServiceEntry('foo/ext', { hosts: ['api.example.com'], ports: [{ name: 'https', number: 443, protocol: 'TLS' }] });
  const c = cluster(resources(dns), 'outbound|443||api.example.com');
  assert.is(c.type, 'STRICT_DNS');
  assert.equal(c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, {
    address: 'api.example.com',
    port_value: 443,
  });
  assert.is(c.transport_socket_matches, undefined, 'no auto mTLS to the outside world');
});

test('connection pool, outlier detection and load balancer settings reach the cluster', () => {
  const dr = destinationRule('bar/httpbin', {
    host: HOST,
    trafficPolicy: {
      loadBalancer: { simple: 'LEAST_REQUEST' },
      connectionPool: {
        tcp: { maxConnections: 10, connectTimeout: '250ms' },
        http: { http1MaxPendingRequests: 5, maxRequestsPerConnection: 1 },
      },
      outlierDetection: { consecutive5xxErrors: 3, interval: '5s', baseEjectionTime: '1m', maxEjectionPercent: 50 },
    },
  });
  const c = cluster(resources(dr));
  assert.is(c.lb_policy, 'LEAST_REQUEST');
  assert.is(c.connect_timeout, '0.250s');
  assert.equal(c.circuit_breakers, { thresholds: [{ max_connections: 10, max_pending_requests: 5 }] });
  assert.equal(c.outlier_detection, {
    consecutive_5xx: 3,
    interval: '5s',
    base_ejection_time: '60s',
    max_ejection_percent: 50,
    enforcing_consecutive_5xx: 100,
  });
  assert.equal(c.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].common_http_protocol_options, {
    max_requests_per_connection: 1,
  });
});

test('a mesh VirtualService tcp route splits a TCP port across subsets by weight', () => {
  const db = serviceEntry('bar/db', { ports: [TCP_5432] });
  const dr = destinationRule('bar/db', {
    host: 'db',
    subsets: [
      { name: 'a', labels: { version: 'a' } },
      { name: 'b', labels: { version: 'b' } },
    ],
  });
  const vs = virtualService('bar/db', {
    tcp: [
      {
        route: [
          { destination: { host: 'db', subset: 'a' }, weight: 90 },
          { destination: { host: 'db', subset: 'b' }, weight: 10 },
        ],
      },
    ],
  });
  const res = resources(db, workloadEntry('bar/db-a', { address: '127.0.2.7', labels: { app: 'db', version: 'a' } }), dr, vs);
  const l = (res.listeners as Obj[]).find((x) => x.name === '127.0.1.2_5432')!;
  assert.equal(l.filter_chains[0].filters[0].typed_config.weighted_clusters, {
    clusters: [
      { name: 'outbound|5432|a|db.bar.svc.cluster.local', weight: 90 },
      { name: 'outbound|5432|b|db.bar.svc.cluster.local', weight: 10 },
    ],
  });
});

test.run();
