// Gateway translation facts, read from the gateway-tls-modes scenario (whose
// golden real Envoy also validates): one listener per port, chains by SNI,
// the TLS context each server mode needs, passthrough and TCP routing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { translate } from '../../src/translate/translator.js';
import { exampleMesh } from '../support/fixtures/index.js';

type Obj = Record<string, any>;
const result = translate(exampleMesh('gateway-tls-modes'), 'ingressgateway.istio-system');
if (!result.ok) throw new Error(result.error);
const r = result.resources;
const listener = (port: number) => (r.listeners as Obj[]).find((l) => l.name === `127.0.9.1_${port}`)!;
const tlsContext = (chain: Obj) => chain.transport_socket.typed_config;

test('the workload is served as a gateway, with no warnings', () => {
  assert.is(result.kind, 'gateway');
  assert.equal(r.warnings, []);
  assert.equal(
    (r.listeners as Obj[]).map((l) => l.name),
    ['127.0.9.1_15443', '127.0.9.1_80', '127.0.9.1_8443', '127.0.9.1_8444', '127.0.9.1_9000'],
  );
});

test('SIMPLE with files and OPTIONAL_MUTUAL with a credential share 8443 by SNI', () => {
  const [a, b] = listener(8443).filter_chains as Obj[];
  assert.equal(a!.filter_chain_match, { server_names: ['a.example.com'] });
  assert.equal(b!.filter_chain_match, { server_names: ['b.example.com'] });
  const simple = tlsContext(a!);
  assert.is(
    simple.common_tls_context.tls_certificate_sds_secret_configs[0].name,
    'file-cert:/etc/meshlite/certs/a/tls.crt~/etc/meshlite/certs/a/tls.key',
  );
  assert.is(simple.common_tls_context.combined_validation_context, undefined, 'SIMPLE checks no client certificate');
  assert.is(simple.common_tls_context.tls_params.tls_minimum_protocol_version, 'TLSv1_3');
  const optional = tlsContext(b!);
  assert.is(
    optional.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name,
    'kubernetes://b-credential-cacert',
  );
  assert.is(optional.require_client_certificate, undefined, 'OPTIONAL_MUTUAL verifies a certificate if one is presented');
  assert.equal(optional.common_tls_context.tls_params.cipher_suites, ['ECDHE-ECDSA-AES256-GCM-SHA384']);
  assert.equal(
    listener(8443).listener_filters.map((f: Obj) => f.name),
    ['envoy.filters.listener.tls_inspector'],
  );
});

test('ISTIO_MUTUAL uses the mesh identity and requires a SPIFFE peer of the trust domain', () => {
  const ctx = tlsContext(listener(8444).filter_chains[0]);
  assert.is(ctx.require_client_certificate, true);
  assert.is(ctx.common_tls_context.tls_certificate_sds_secret_configs[0].name, 'default');
  assert.equal(ctx.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names, [
    { san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } },
  ]);
});

test('AUTO_PASSTHROUGH routes the mesh SNI of every service port to its cluster', () => {
  const chains = listener(15443).filter_chains as Obj[];
  const byName = Object.fromEntries(chains.map((c) => [c.filter_chain_match.server_names[0], c.filters[0].typed_config.cluster]));
  assert.equal(byName, {
    'outbound_.9091_._.goserver.default.svc.cluster.local': 'outbound|9091||goserver.default.svc.cluster.local',
    'outbound_.8000_._.httpbin.default.svc.cluster.local': 'outbound|8000||httpbin.default.svc.cluster.local',
  });
  assert.ok(
    chains.every((c) => c.transport_socket === undefined),
    'no termination',
  );
});

test('TCP server forwards by the VirtualService tcp route; HTTP server on 80 redirects to HTTPS', () => {
  assert.is(listener(9000).filter_chains[0].filters[0].typed_config.cluster, 'outbound|9091||goserver.default.svc.cluster.local');
  const http80 = (r.routes as Obj[]).find((rc) => rc.name === 'http.80')!;
  assert.equal(
    http80.virtual_hosts.map((v: Obj) => [v.name, v.require_tls]),
    [['a.example.com:80', 'ALL']],
  );
});

test('gateway routes carry rewrite, timeout, retries, mirror, redirect and fault; the HCM gets the fault filter', () => {
  const https = (r.routes as Obj[]).find((rc) => rc.name === 'https.8443.https-a.edge.default')!;
  const routes = https.virtual_hosts[0].routes as Obj[];
  const first = routes[0]!;
  assert.equal(first.match, { prefix: '/v1/', headers: [{ name: 'x-canary', string_match: { exact: 'yes' } }] });
  assert.is(first.route.prefix_rewrite, '/');
  assert.is(first.route.timeout, '2s');
  assert.is(first.route.retry_policy.num_retries, 3);
  assert.is(first.route.request_mirror_policies[0].cluster, 'outbound|9091||goserver.default.svc.cluster.local');
  assert.equal(routes[1]!.redirect, { path_redirect: '/new', response_code: 'PERMANENT_REDIRECT' });
  assert.ok(routes[2]!.typed_per_filter_config['envoy.filters.http.fault']);
  const hcm = listener(8443).filter_chains[0].filters[0].typed_config;
  assert.equal(
    hcm.http_filters.map((f: Obj) => f.name),
    ['meshlite.rbac.audit', 'meshlite.rbac.deny', 'meshlite.rbac.allow', 'envoy.filters.http.fault', 'envoy.filters.http.router'],
  );
  assert.is(hcm.use_remote_address, true);
  assert.is(hcm.forward_client_cert_details, 'SANITIZE_SET');
});

test('secrets: files and credentials by name, plus the mesh pair its clusters use', () => {
  assert.equal(
    r.secrets.map((s) => s.name),
    [
      'ROOTCA',
      'default',
      'file-cert:/etc/meshlite/certs/a/tls.crt~/etc/meshlite/certs/a/tls.key',
      'kubernetes://b-credential',
      'kubernetes://b-credential-cacert',
    ],
  );
});

test.run();
