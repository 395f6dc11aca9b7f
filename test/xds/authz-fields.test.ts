// Translation of the AuthorizationPolicy fields of Istio's current API into
// Envoy RBAC: service accounts, path templates (Envoy's URI template matcher),
// filter-metadata conditions and request principals with Istio's matching.
// Every config is checked against the real protos (canonical proto3 JSON).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuthorizationPolicy, AuthzRule } from '../../src/config/authz-types.js';
import { canonicalJson, type Json } from '../../src/proto/proto-json.js';
import { buildRbacFilters, type RbacContext } from '../../src/xds/rbac.js';
import { authz } from '../support/fixtures/index.js';

type Obj = Record<string, any>;
const HTTP: RbacContext = { trustDomains: ['cluster.local', 'old.example'], protocol: 'http' };
const PROTO: Record<string, string> = {
  'envoy.filters.http.rbac': 'envoy.extensions.filters.http.rbac.v3.RBAC',
  'envoy.filters.network.rbac': 'envoy.extensions.filters.network.rbac.v3.RBAC',
};

/** The one Envoy policy of a one-rule policy, its filter checked canonical against the real proto. */
function built(rule: AuthzRule, ctx: RbacContext = HTTP, action: 'ALLOW' | 'DENY' = 'ALLOW'): { policy?: Obj; warnings: string[] } {
  const policies: AuthorizationPolicy[] = [authz.policy('foo/p', { action, rules: [rule] })];
  const { filters, warnings } = buildRbacFilters(policies, ctx);
  const { '@type': _type, ...config } = filters[0]!.typed_config as Obj;
  const proto = PROTO[filters[0]!.name as string]!;
  assert.is(JSON.stringify(canonicalJson(proto, config as Json)), JSON.stringify(config), 'canonical');
  return { policy: Object.values(config.rules.policies ?? {})[0] as Obj | undefined, warnings };
}
const or = (kind: 'ids' | 'rules', ...xs: Obj[]) => ({ [kind === 'ids' ? 'or_ids' : 'or_rules']: { [kind]: xs } });
const spiffe = (id: string) => ({ authenticated: { principal_name: { exact: `spiffe://${id}` } } });
const claim = (name: string, m: Obj) => ({
  metadata: { filter: 'envoy.filters.http.jwt_authn', path: [{ key: 'payload' }, { key: name }], value: { string_match: m } },
});
const ANY = { safe_regex: { regex: '.+' } };

test('serviceAccounts: the exact SPIFFE ID in every trust domain of the mesh; notServiceAccounts negates', () => {
  const { policy } = built(
    authz.rule({ from: [authz.source({ serviceAccounts: ['shop/checkout'], notServiceAccounts: ['shop/legacy'] })] }),
  );
  assert.equal(policy!.principals, [
    {
      and_ids: {
        ids: [
          or('ids', spiffe('cluster.local/ns/shop/sa/checkout'), spiffe('old.example/ns/shop/sa/checkout')),
          { not_id: or('ids', spiffe('cluster.local/ns/shop/sa/legacy'), spiffe('old.example/ns/shop/sa/legacy')) },
        ],
      },
    },
  ]);
  const tcp = built(authz.rule({ from: [authz.source({ serviceAccounts: ['shop/checkout'] })] }), { ...HTTP, protocol: 'tcp' });
  assert.equal(tcp.warnings, [], 'service accounts come from the peer certificate: TCP chains match them too');
});

test('path templates -> URI template matcher ({*} -> *, {**} -> **) plus the ;parameters variant', () => {
  const { policy } = built(authz.rule({ to: [authz.operation({ paths: ['/api/{*}/orders/{**}'] })] }));
  assert.equal(policy!.permissions, [
    {
      and_rules: {
        rules: [
          or(
            'rules',
            {
              uri_template: {
                name: 'envoy.path.match.uri_template.uri_template_matcher',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig',
                  path_template: '/api/*/orders/**',
                },
              },
            },
            { url_path: { path: { safe_regex: { regex: '/api(;[^/]*)?/[^/]+/orders(;[^/]*)?/.*' } } } },
          ),
        ],
      },
    },
  ]);
});

test('a gRPC server cannot match path templates or filter metadata: ALLOW rule dropped, DENY loses the field', () => {
  const grpc: RbacContext = { ...HTTP, grpc: true };
  const rule = authz.rule({ to: [authz.operation({ paths: ['/pkg.Svc/{*}'] })] });
  const allow = buildRbacFilters([authz.policy('foo/p', { rules: [rule] })], grpc);
  assert.equal(allow.warnings, [
    'AuthorizationPolicy foo/p rule 0: rule dropped (allows less), cannot translate paths (a gRPC server cannot match the path template "/pkg.Svc/{*}")',
  ]);
  const deny = built(authz.rule({ when: [authz.condition('experimental.envoy.filters.http.x[k]', ['v'])] }), grpc, 'DENY');
  assert.equal(deny.warnings, [
    'AuthorizationPolicy foo/p rule 0: ignoring when experimental.envoy.filters.http.x[k] (a gRPC server has no filter metadata) (denies more)',
  ]);
});

test('experimental.envoy.filters.<f>[<k>]: metadata of filter envoy.filters.<f> at key <k>; [v] is a list containing v; TCP too', () => {
  const rule = authz.rule({
    when: [authz.condition('experimental.envoy.filters.network.mysql_proxy[db.table]', ['[update]', 'orders'], ['audit*'])],
  });
  const meta = (value: Obj) => ({ metadata: { filter: 'envoy.filters.network.mysql_proxy', path: [{ key: 'db.table' }], value } });
  const expected = [
    {
      and_rules: {
        rules: [
          or('rules', meta({ list_match: { one_of: { string_match: { exact: 'update' } } } }), meta({ string_match: { exact: 'orders' } })),
          { not_rule: or('rules', meta({ string_match: { prefix: 'audit' } })) },
        ],
      },
    },
  ];
  assert.equal(built(rule).policy!.permissions, expected);
  const tcp = built(rule, { ...HTTP, protocol: 'tcp' });
  assert.equal(tcp.warnings, []);
  assert.equal(tcp.policy!.permissions, expected);
});

test("requestPrincipals follow Istio's iss/sub matching, split at the last /", () => {
  const cases: [string, Obj, Obj][] = [
    ['*', ANY, ANY],
    ['https://idp.example/alice', { exact: 'https://idp.example' }, { exact: 'alice' }],
    ['*.example/alice', { suffix: '.example' }, { exact: 'alice' }],
    ['*/alice', ANY, { exact: 'alice' }],
    ['https://idp.example/*', { exact: 'https://idp.example' }, ANY],
    ['https://idp.example/svc-*', { exact: 'https://idp.example' }, { prefix: 'svc-' }],
    ['idp.example*', { prefix: 'idp.example' }, ANY],
    // The split is at the last `/`, wherever it is: here inside the scheme.
    ['https://idp*', { exact: 'https:/' }, { prefix: 'idp' }],
    ['*alice', ANY, { suffix: 'alice' }],
    // No `/`: the issuer with an empty subject, which no real token carries.
    ['alice', { exact: 'alice' }, { exact: '' }],
  ];
  for (const [value, iss, sub] of cases) {
    const { policy, warnings } = built(authz.rule({ from: [authz.source({ requestPrincipals: [value] })] }));
    assert.equal(warnings, [], value);
    assert.equal(
      policy!.principals,
      [{ and_ids: { ids: [or('ids', { and_ids: { ids: [claim('iss', iss), claim('sub', sub)] } })] } }],
      value,
    );
  }
});

test.run();
