// checkAuthz on the examples' translations: the transport a client's own
// sidecar config picks (DestinationRule DISABLE, port-level DISABLE), the
// filter chain that takes it or the refusal, TCP chains, CUSTOM policies
// that only an external authorizer can decide, and the port choice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CheckRequest, checkAuthz, checkPort, policyRef, resolveClient } from '../../src/inspect/authz-check.js';
import { evaluateHttpFilters } from '../../src/inspect/rbac-evaluator.js';
import { dumpProxyConfig } from '../../src/translate/proxy-config-dump.js';
import { exampleMesh } from '../support/fixtures/index.js';

function check(example: string, proxy: string, from: string, req: CheckRequest = {}) {
  const model = exampleMesh(example);
  const dump = dumpProxyConfig(model, proxy);
  if (!dump.ok) throw new Error(dump.error);
  const client = resolveClient(from, model, proxy);
  if (!client.ok) throw new Error(client.error);
  const r = checkAuthz(dump.dump, proxy, client.value, req, model.config.authorizationPolicies);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

test("the client's own sidecar config decides mTLS or plaintext", () => {
  const disabled = check('s3-dr-disable', 'httpbin.bar', 'foo/sleep');
  assert.is(disabled.connection, 'plaintext', 'its DestinationRule turns TLS off');
  assert.is(disabled.verdict, 'deny');
  assert.is(disabled.refused, 'connection refused by the inbound listener: STRICT mTLS on port 80 (no plaintext filter chain)');
  const mtls = check('s3-dr-disable', 'httpbin.foo', 'foo/sleep');
  assert.is(mtls.connection, 'mTLS');
  assert.equal(
    mtls.client.kind === 'workload' && mtls.client.sni,
    { 80: 'outbound_.8000_._.httpbin.foo.svc.cluster.local' },
    'the SNI of its cluster',
  );
  const portLevel = check('s4-port-level-exception', 'httpbin.bar', 'foo/sleep');
  assert.is(portLevel.connection, 'plaintext', 'auto mTLS sees the port-level DISABLE');
  assert.is(portLevel.verdict, 'allow');
  assert.is(portLevel.chain, 'inbound|80|plaintext');
  // A principal alone is a sidecar presenting it: mTLS, and nothing else to go on.
  const principal = check('s4-port-level-exception', 'httpbin.bar', 'cluster.local/ns/foo/sa/sleep');
  assert.is(principal.connection, 'mTLS');
  assert.match(principal.refused ?? '', 'no filter chain on port 80 takes mTLS from a sidecar (the port is plaintext only)');
});

test('TCP chains and CUSTOM policies: an external authorizer is never guessed', () => {
  const tcp = check('authz-policy-kinds', 'echo.bar', 'foo/sleep');
  assert.is(tcp.protocol, 'tcp');
  assert.is(tcp.verdict, 'deny');
  assert.equal(tcp.policy, { namespace: 'bar', name: 'echo-deny-foo', rule: 0, source: tcp.policy?.source });
  assert.match(tcp.policy?.source?.file ?? '', 'examples/authz-policy-kinds/policies.yaml');

  const custom = check('authz-custom', 'httpbin.foo', 'foo/sleep', { path: '/status/418' });
  assert.is(custom.verdict, 'deny');
  assert.ok(custom.decision?.undetermined, 'flagged as undetermined, not a policy deny');
  assert.equal([custom.policy?.name, custom.policy?.custom], ['ext-authz', true]);
  assert.is(custom.shadow, undefined, "the CUSTOM gate's shadow rules are not reported as a dry run");
  assert.is(check('authz-custom', 'httpbin.foo', 'foo/sleep', { path: '/ip' }).verdict, 'allow', 'no CUSTOM rule matches: no ext_authz');
  assert.is(check('authz-custom', 'tcp-echo.foo', 'foo/sleep').decision?.decidedBy?.filter, 'envoy.filters.network.ext_authz');
});

test('an ext_authz gate that hangs on a shadow rule the evaluator cannot read fails closed', () => {
  const type = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
  const filters = [
    {
      name: 'envoy.filters.http.rbac',
      typed_config: {
        '@type': type,
        shadow_rules: {
          action: 'DENY',
          policies: { 'istio-ext-authz-ns[a]-policy[b]-rule[0]': { permissions: [{ weird: {} }], principals: [{ any: true }] } },
        },
        shadow_rules_stat_prefix: 'istio_ext_authz_',
      },
    },
    {
      name: 'envoy.filters.http.ext_authz',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
        filter_enabled_metadata: {
          filter: 'envoy.filters.http.rbac',
          path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }],
          value: { string_match: { prefix: 'istio-ext-authz-' } },
        },
      },
    },
  ];
  const r = evaluateHttpFilters(filters, { destinationPort: 80 });
  assert.is(r.verdict, 'deny');
  assert.match(r.undetermined ?? '', 'unknown permission matcher "weird"');
});

test('the port: the only one, the one asked for, or an error listing them', () => {
  const listener = (port: number) => ({
    name: `l${port}`,
    active_state: {
      listener: {
        name: `l${port}`,
        traffic_direction: 'INBOUND',
        filter_chains: [{ filter_chain_match: { destination_port: port }, filters: [] }],
      },
    },
  });
  const dump = (...ports: number[]) => ({
    configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump', dynamic_listeners: ports.map(listener) }],
  });
  assert.equal(checkPort(dump(8080), undefined), { ok: true, value: 8080 });
  assert.equal(checkPort(dump(80, 9000), undefined), {
    ok: false,
    error: 'the proxy serves several inbound ports (80, 9000); pick one with --port',
  });
  assert.equal(checkPort(dump(80, 9000), 9000), { ok: true, value: 9000 });
  assert.equal(checkPort(dump(80), 81), { ok: false, error: 'no inbound listener for port 81; inbound ports: 80' });
  assert.equal(policyRef('ns[a]-policy[b-c]-rule[12]'), { namespace: 'a', name: 'b-c', rule: 12 });
  assert.is(policyRef('something-else'), undefined);
});

test.run();
