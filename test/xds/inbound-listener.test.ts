import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { translate } from '../../src/translate/translator.js';
import { type Document, meshConfig, meshOf, mtlsPolicy, serviceEntry, workloadEntry } from '../support/fixtures/index.js';

type Obj = Record<string, any>;
const base = [
  serviceEntry('bar/httpbin'),
  workloadEntry('bar/httpbin', { address: '127.0.2.1' }, { annotations: { 'sidecar.meshlite.io/applicationAddress': '127.0.12.1' } }),
];

function listeners(...extra: Document[]): Obj[] {
  const r = translate(meshOf([...base, ...extra]), 'httpbin.bar');
  if (!r.ok) throw new Error(r.error);
  return r.resources.listeners as Obj[];
}
const inbound = (ls: Obj[]) => ls.find((l) => l.name === '127.0.2.1_80')!;
const matches = (l: Obj) => l.filter_chains.map((c: Obj) => c.filter_chain_match);
const hcm = (chain: Obj) => chain.filters[0].typed_config;

test('STRICT: one chain, TLS only, client certificate required from our trust domain', () => {
  const l = inbound(listeners(mtlsPolicy('istio-system/default', 'STRICT')));
  assert.equal(l.address, { socket_address: { address: '127.0.2.1', port_value: 80 } });
  assert.equal(matches(l), [{ destination_port: 80, transport_protocol: 'tls' }]);
  const ctx = l.filter_chains[0].transport_socket.typed_config;
  assert.is(ctx.require_client_certificate, true);
  assert.equal(ctx.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names, [
    { san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } },
  ]);
  assert.is(ctx.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name, 'ROOTCA');
  assert.is(ctx.common_tls_context.tls_certificate_sds_secret_configs[0].name, 'default');
  assert.equal(ctx.common_tls_context.alpn_protocols, ['h2', 'http/1.1']);
  assert.equal(
    l.listener_filters.map((f: Obj) => f.name),
    ['envoy.filters.listener.tls_inspector'],
  );
  assert.is(hcm(l.filter_chains[0]).forward_client_cert_details, 'APPEND_FORWARD');
  assert.equal(hcm(l.filter_chains[0]).set_current_client_cert_details, { subject: true, uri: true, dns: true });
});

test('PERMISSIVE: mesh mTLS by ALPN, plaintext, and foreign TLS passed through to the app', () => {
  const l = inbound(listeners());
  const m = matches(l);
  assert.is(m.length, 3);
  assert.equal(m[0].transport_protocol, 'tls');
  assert.ok(m[0].application_protocols.includes('istio'));
  assert.equal(m[1], { destination_port: 80, transport_protocol: 'raw_buffer' });
  assert.equal(m[2], { destination_port: 80, transport_protocol: 'tls' });
  assert.is(l.filter_chains[2].filters[0].name, 'envoy.filters.network.tcp_proxy');
  assert.is(l.filter_chains[2].filters[0].typed_config.cluster, 'inbound|80||');
  assert.is(hcm(l.filter_chains[1]).forward_client_cert_details, 'SANITIZE', 'plaintext peers cannot inject an identity');
  assert.is(hcm(l.filter_chains[1]).set_current_client_cert_details, undefined);
});

test('DISABLE: plaintext only and no TLS inspector', () => {
  const l = inbound(listeners(mtlsPolicy('bar/default', 'DISABLE')));
  assert.equal(matches(l), [{ destination_port: 80, transport_protocol: 'raw_buffer' }]);
  assert.is(l.listener_filters, undefined);
});

test('inbound cluster forwards to the application address on the target port', () => {
  const r = translate(meshOf(base), 'httpbin.bar');
  assert.ok(r.ok);
  if (!r.ok) return;
  const cluster = r.resources.clusters.find((c) => c.name === 'inbound|80||') as Obj;
  assert.equal(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, {
    address: '127.0.12.1',
    port_value: 80,
  });
  const rds = hcm(inbound(r.resources.listeners as Obj[]).filter_chains[0]).rds;
  assert.is(rds.route_config_name, 'inbound|80||', 'inbound routes come over RDS, so policy edits never touch the listener');
  const route = (r.resources.routes as Obj[]).find((rc) => rc.name === rds.route_config_name)!;
  assert.is(route.virtual_hosts[0].routes[0].route.cluster, 'inbound|80||');
  assert.is(route.virtual_hosts[0].typed_per_filter_config, undefined, 'no policies: the RBAC slots stay empty');
});

test('trust domain aliases are accepted inbound', () => {
  const mesh = meshConfig({ trustDomain: 'corp.example', trustDomainAliases: ['old.example'] });
  const l = inbound(listeners(mesh, mtlsPolicy('istio-system/default', 'STRICT')));
  const sans =
    l.filter_chains[0].transport_socket.typed_config.common_tls_context.combined_validation_context.default_validation_context
      .match_typed_subject_alt_names;
  assert.equal(sans, [
    { san_type: 'URI', matcher: { prefix: 'spiffe://corp.example/' } },
    { san_type: 'URI', matcher: { prefix: 'spiffe://old.example/' } },
  ]);
});

test('TCP service ports get tcp_proxy chains, with no HTTP filters', () => {
  const tcp = serviceEntry('bar/db', { ports: [{ name: 'tcp', number: 5432, protocol: 'TCP' }] });
  const r = translate(meshOf([tcp, workloadEntry('bar/db', { address: '127.0.2.7' }), mtlsPolicy('bar/default', 'STRICT')]), 'db.bar');
  assert.ok(r.ok);
  if (!r.ok) return;
  const l = (r.resources.listeners as Obj[]).find((x) => x.name === '127.0.2.7_5432')!;
  assert.is(l.filter_chains[0].filters[0].name, 'envoy.filters.network.tcp_proxy');
  assert.equal(l.filter_chains[0].transport_socket.typed_config.common_tls_context.alpn_protocols, undefined);
});

test('TRANSPARENT: one virtualInbound on 15006 with original_dst, chains per target port', () => {
  const ls = listeners(meshConfig({ defaultInterceptionMode: 'TRANSPARENT' }));
  const vi = ls.find((l) => l.name === 'virtualInbound')!;
  assert.equal(vi.address.socket_address, { address: '0.0.0.0', port_value: 15006 });
  assert.equal(
    vi.listener_filters.map((f: Obj) => f.name),
    ['envoy.filters.listener.original_dst', 'envoy.filters.listener.tls_inspector'],
  );
  assert.ok(ls.some((l) => l.name === 'virtualOutbound' && l.use_original_dst === true));
  assert.ok(ls.some((l) => l.name === '0.0.0.0_8000' && l.bind_to_port === false));
});

test.run();
