// AuthorizationPolicy CUSTOM -> ext_authz: exact JSON of the shadow-RBAC +
// ext_authz pairs (HTTP and TCP, HTTP and gRPC providers), the fail-closed
// cases, and every config checked against the real protos (binary round trip,
// already canonical). Real Envoy runs them in ext-authz-envoy.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuthorizationAction, AuthorizationPolicy, AuthzRule } from '../../src/config/authz-types.js';
import type { ExtensionProvider } from '../../src/config/types.js';
import type { ProviderView } from '../../src/model/view-types.js';
import { binaryToJson, jsonToBinary, type Json } from '../../src/proto/proto-json.js';
import { buildExtAuthzFilters, type ExtAuthzContext } from '../../src/xds/ext-authz.js';
import { buildRbacFilters } from '../../src/xds/rbac.js';
import { authz } from '../support/fixtures/index.js';

type Obj = Record<string, any>;

/** A CUSTOM AuthorizationPolicy of namespace `foo` unless given. */
const policy = (
  name: string,
  provider: string | undefined,
  rules: AuthzRule[],
  namespace = 'foo',
  action: AuthorizationAction = 'CUSTOM',
): AuthorizationPolicy => authz.policy(`${namespace}/${name}`, { action, provider, rules });

const CLUSTERS: Record<string, string> = {
  'ext-authz.foo.svc.cluster.local:8000': 'outbound|8000||ext-authz.foo.svc.cluster.local',
  'ext-authz.foo.svc.cluster.local:9000': 'outbound|9000||ext-authz.foo.svc.cluster.local',
  'bar/ext-authz.bar.svc.cluster.local:9000': 'outbound|9000||ext-authz.bar.svc.cluster.local',
};
const ctx = (protocol: 'http' | 'tcp'): ExtAuthzContext => ({ trustDomains: ['cluster.local'], protocol });
/** Providers as the model hands them over: with the cluster of their `service:port`, when there is one. */
const resolved = (providers: readonly ExtensionProvider[]): ProviderView[] =>
  providers.map((p) => {
    const { service, port } = p.kind === 'envoyExtAuthzHttp' ? p.http : p.grpc;
    const cluster = CLUSTERS[`${service}:${port}`];
    return cluster === undefined ? p : { ...p, cluster };
  });

const PROTO: Record<string, string> = {
  'envoy.filters.http.rbac': 'envoy.extensions.filters.http.rbac.v3.RBAC',
  'envoy.filters.network.rbac': 'envoy.extensions.filters.network.rbac.v3.RBAC',
  'envoy.filters.http.ext_authz': 'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
  'envoy.filters.network.ext_authz': 'envoy.extensions.filters.network.ext_authz.v3.ExtAuthz',
};

/** Builds, and checks every config against the real proto: it encodes, and decodes back to exactly itself (canonical, in field order). */
function build(policies: AuthorizationPolicy[], providers: ExtensionProvider[], protocol: 'http' | 'tcp' = 'http') {
  const result = buildExtAuthzFilters(policies, resolved(providers), ctx(protocol)) as { filters: Obj[]; warnings: string[] };
  for (const f of result.filters) {
    const { '@type': type, ...config } = f.typed_config;
    const proto = PROTO[f.name]!;
    assert.ok(proto, `unexpected filter ${f.name}`);
    assert.is(type, `type.googleapis.com/${proto}`);
    const back = binaryToJson(proto, jsonToBinary(proto, config as Json));
    assert.is(JSON.stringify(back), JSON.stringify(config), `not canonical: ${JSON.stringify(config)}`);
  }
  return result;
}

const RBAC_HTTP = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const RBAC_TCP = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';
const AUTHZ_HTTP = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
const AUTHZ_TCP = 'type.googleapis.com/envoy.extensions.filters.network.ext_authz.v3.ExtAuthz';
const ANY = [{ any: true }];
/** What the RBAC builder makes of one rule (CUSTOM rules are translated by it, like DENY rules). */
function asRbac(rule: AuthzRule, protocol: 'http' | 'tcp' = 'http'): Obj {
  const { filters } = buildRbacFilters([policy('x', undefined, [rule], 'foo', 'DENY')], { trustDomains: ['cluster.local'], protocol });
  return Object.values((filters[0] as Obj).typed_config.rules.policies)[0] as Obj;
}
const enabledBy = (filter: string, prefix = 'istio_ext_authz_') => ({
  filter,
  path: [{ key: `${prefix}shadow_effective_policy_id` }],
  value: { string_match: { prefix: 'istio-ext-authz-' } },
});

test("no CUSTOM policy: nothing (ALLOW/DENY/AUDIT are the RBAC builder's)", () => {
  assert.equal(buildExtAuthzFilters([], resolved([authz.httpProvider('p')]), ctx('http')), { filters: [], warnings: [] });
  const others = [
    policy('a', undefined, [authz.rule()], 'foo', 'ALLOW'),
    policy('d', undefined, [authz.rule()], 'foo', 'DENY'),
    policy('x', undefined, [authz.rule()], 'foo', 'AUDIT'),
  ];
  assert.equal(buildExtAuthzFilters(others, resolved([authz.httpProvider('p')]), ctx('http')), { filters: [], warnings: [] });
});

test('HTTP provider: shadow RBAC + ext_authz http_service, exact JSON with every option', () => {
  const provider = authz.httpProvider('authz', {
    timeout: '250ms',
    pathPrefix: '/check',
    failOpen: true,
    statusOnError: 503,
    includeRequestHeadersInCheck: ['x-ext-authz', 'X-Trace-*', '*-id'],
    includeAdditionalHeadersInCheck: { 'x-z': 'last', 'x-a': 'first' },
    headersToUpstreamOnAllow: ['x-user'],
    headersToDownstreamOnDeny: ['x-reason'],
    headersToDownstreamOnAllow: ['set-cookie'],
    includeRequestBodyInCheck: { maxRequestBytes: 4096, allowPartialMessage: true },
  });
  const admin = authz.rule({ to: [authz.operation({ paths: ['/admin*'] })] });
  const { filters, warnings } = build([policy('ext', 'authz', [admin])], [provider]);
  assert.equal(warnings, []);
  assert.equal(filters, [
    {
      name: 'envoy.filters.http.rbac',
      typed_config: {
        '@type': RBAC_HTTP,
        shadow_rules: {
          action: 'DENY',
          policies: { 'istio-ext-authz-ns[foo]-policy[ext]-rule[0]': asRbac(admin) },
        },
        shadow_rules_stat_prefix: 'istio_ext_authz_',
      },
    },
    {
      name: 'envoy.filters.http.ext_authz',
      typed_config: {
        '@type': AUTHZ_HTTP,
        http_service: {
          server_uri: {
            uri: 'http://ext-authz.foo.svc.cluster.local:8000',
            cluster: 'outbound|8000||ext-authz.foo.svc.cluster.local',
            timeout: '0.250s',
          },
          path_prefix: '/check',
          authorization_request: {
            headers_to_add: [
              { key: 'x-a', value: 'first' },
              { key: 'x-z', value: 'last' },
            ],
          },
          authorization_response: {
            allowed_upstream_headers: { patterns: [{ exact: 'x-user', ignore_case: true }] },
            allowed_client_headers: { patterns: [{ exact: 'x-reason', ignore_case: true }] },
            allowed_client_headers_on_success: { patterns: [{ exact: 'set-cookie', ignore_case: true }] },
          },
        },
        transport_api_version: 'V3',
        failure_mode_allow: true,
        with_request_body: { max_request_bytes: 4096, allow_partial_message: true },
        status_on_error: { code: 'ServiceUnavailable' },
        filter_enabled_metadata: enabledBy('envoy.filters.http.rbac'),
        allowed_headers: {
          patterns: [
            { exact: 'x-ext-authz', ignore_case: true },
            { prefix: 'x-trace-', ignore_case: true },
            { suffix: '-id', ignore_case: true },
          ],
        },
      },
    },
  ]);
});

test("HTTP provider, defaults: Istio's 10m timeout, nothing optional", () => {
  const { filters } = build([policy('ext', 'authz', [authz.rule()])], [authz.httpProvider('authz')]);
  assert.equal(filters[0]!.typed_config.shadow_rules.policies, {
    'istio-ext-authz-ns[foo]-policy[ext]-rule[0]': { permissions: ANY, principals: ANY },
  });
  assert.equal(filters[1]!.typed_config, {
    '@type': AUTHZ_HTTP,
    http_service: {
      server_uri: {
        uri: 'http://ext-authz.foo.svc.cluster.local:8000',
        cluster: 'outbound|8000||ext-authz.foo.svc.cluster.local',
        timeout: '600s',
      },
    },
    transport_api_version: 'V3',
    filter_enabled_metadata: enabledBy('envoy.filters.http.rbac'),
  });
});

test('gRPC provider on HTTP chains: grpc_service (envoy_grpc, authority), every header sent', () => {
  const { filters, warnings } = build(
    [policy('ext', 'g', [authz.rule({ from: [authz.source({ namespaces: ['bar'] })] })])],
    [authz.grpcProvider('g', { timeout: '1s', statusOnError: 401 })],
  );
  assert.equal(warnings, []);
  assert.equal(filters[0]!.typed_config.shadow_rules.policies, {
    'istio-ext-authz-ns[foo]-policy[ext]-rule[0]': {
      permissions: ANY,
      principals: [
        { and_ids: { ids: [{ or_ids: { ids: [{ authenticated: { principal_name: { safe_regex: { regex: '.*/ns/bar/.*' } } } }] } }] } },
      ],
    },
  });
  assert.equal(filters[1], {
    name: 'envoy.filters.http.ext_authz',
    typed_config: {
      '@type': AUTHZ_HTTP,
      grpc_service: {
        envoy_grpc: { cluster_name: 'outbound|9000||ext-authz.foo.svc.cluster.local', authority: 'ext-authz.foo.svc.cluster.local' },
        timeout: '1s',
      },
      transport_api_version: 'V3',
      status_on_error: { code: 'Unauthorized' },
      filter_enabled_metadata: enabledBy('envoy.filters.http.rbac'),
    },
  });
});

test("TCP chains: network RBAC shadow rules + network ext_authz (gRPC); Istio's ns/host service form", () => {
  const provider: ExtensionProvider = {
    name: 'g',
    kind: 'envoyExtAuthzGrpc',
    grpc: { service: 'bar/ext-authz.bar.svc.cluster.local', port: 9000, failOpen: true },
  };
  const { filters, warnings } = build(
    [policy('ext', 'g', [authz.rule({ to: [authz.operation({ ports: ['3306'] })] })])],
    [provider],
    'tcp',
  );
  assert.equal(warnings, []);
  assert.equal(filters, [
    {
      name: 'envoy.filters.network.rbac',
      typed_config: {
        '@type': RBAC_TCP,
        shadow_rules: {
          action: 'DENY',
          policies: {
            'istio-ext-authz-ns[foo]-policy[ext]-rule[0]': {
              permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ destination_port: 3306 }] } }] } }],
              principals: ANY,
            },
          },
        },
        stat_prefix: 'tcp.',
        shadow_rules_stat_prefix: 'istio_ext_authz_',
      },
    },
    {
      name: 'envoy.filters.network.ext_authz',
      typed_config: {
        '@type': AUTHZ_TCP,
        stat_prefix: 'tcp.',
        grpc_service: {
          envoy_grpc: { cluster_name: 'outbound|9000||ext-authz.bar.svc.cluster.local', authority: 'ext-authz.bar.svc.cluster.local' },
          timeout: '600s',
        },
        failure_mode_allow: true,
        transport_api_version: 'V3',
        filter_enabled_metadata: enabledBy('envoy.filters.network.rbac'),
      },
    },
  ]);
});

test('TCP: HTTP-only fields widen the rule (more connections checked), with a warning', () => {
  const { filters, warnings } = build(
    [policy('ext', 'g', [authz.rule({ to: [authz.operation({ paths: ['/x'], ports: ['80'] })] })])],
    [authz.grpcProvider('g')],
    'tcp',
  );
  assert.equal(Object.values(filters[0]!.typed_config.shadow_rules.policies), [
    { permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ destination_port: 80 }] } }] } }], principals: ANY },
  ]);
  assert.equal(warnings, [
    'AuthorizationPolicy foo/ext rule 0: ignoring paths (HTTP-only on tcp) (sends more connections to provider "g")',
  ]);
});

test("fail closed: HTTP provider on TCP chains -> network RBAC DENY of the rules' connections", () => {
  const { filters, warnings } = build(
    [policy('ext', 'h', [authz.rule({ to: [authz.operation({ ports: ['80'] })] })])],
    [authz.httpProvider('h')],
    'tcp',
  );
  assert.equal(filters, [
    {
      name: 'envoy.filters.network.rbac',
      typed_config: {
        '@type': RBAC_TCP,
        rules: {
          action: 'DENY',
          policies: {
            'istio-ext-authz-ns[foo]-policy[ext]-rule[0]': {
              permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ destination_port: 80 }] } }] } }],
              principals: ANY,
            },
          },
        },
        stat_prefix: 'tcp.',
      },
    },
  ]);
  assert.equal(warnings, [
    'AuthorizationPolicy foo/ext: extension provider "h" is an HTTP ext_authz service, which cannot check TCP connections (only envoyExtAuthzGrpc can); connections its rules match are denied',
  ]);
});

test("fail closed: unknown provider, or a provider whose service has no cluster -> RBAC DENY of the rules' requests", () => {
  const rules = [authz.rule({ to: [authz.operation({ methods: ['POST'] })] })];
  const nowhere = authz.httpProvider('nowhere', { service: 'nowhere.foo.svc.cluster.local' });
  const { filters, warnings } = build([policy('b', 'nowhere', rules), policy('a', 'missing', rules)], [nowhere]);
  const post = {
    permissions: [{ and_rules: { rules: [{ or_rules: { rules: [{ header: { name: ':method', string_match: { exact: 'POST' } } }] } }] } }],
    principals: ANY,
  };
  assert.equal(filters, [
    {
      name: 'envoy.filters.http.rbac',
      typed_config: {
        '@type': RBAC_HTTP,
        rules: {
          action: 'DENY',
          policies: { 'istio-ext-authz-ns[foo]-policy[a]-rule[0]': post, 'istio-ext-authz-ns[foo]-policy[b]-rule[0]': post },
        },
      },
    },
  ]);
  assert.equal(warnings, [
    'AuthorizationPolicy foo/a: extension provider "missing" is not declared in the mesh config; requests its rules match are denied',
    'AuthorizationPolicy foo/b: extension provider "nowhere": no service nowhere.foo.svc.cluster.local:8000 is known; requests its rules match are denied',
  ]);
});

test('fail closed keeps the working providers working, deny first', () => {
  const { filters } = build(
    [policy('ok', 'authz', [authz.rule()]), policy('bad', 'missing', [authz.rule()])],
    [authz.httpProvider('authz')],
  );
  assert.equal(
    filters.map((f) => [f.name, Object.keys(f.typed_config).filter((k) => k !== '@type')]),
    [
      ['envoy.filters.http.rbac', ['rules']],
      ['envoy.filters.http.rbac', ['shadow_rules', 'shadow_rules_stat_prefix']],
      ['envoy.filters.http.ext_authz', ['http_service', 'transport_api_version', 'filter_enabled_metadata']],
    ],
  );
});

test('policies sharing a provider share one filter pair, sorted by namespace/name; a rule-less CUSTOM policy asks nothing', () => {
  const p = [
    policy('z', 'authz', [authz.rule({ to: [authz.operation({ paths: ['/z'] })] })], 'aaa'),
    policy(
      'a',
      'authz',
      [authz.rule({ to: [authz.operation({ paths: ['/a1'] })] }), authz.rule({ to: [authz.operation({ paths: ['/a2'] })] })],
      'foo',
    ),
  ];
  const { filters } = build([...p].reverse(), [authz.httpProvider('authz')]);
  assert.is(filters.length, 2);
  assert.equal(Object.keys(filters[0]!.typed_config.shadow_rules.policies), [
    'istio-ext-authz-ns[aaa]-policy[z]-rule[0]',
    'istio-ext-authz-ns[foo]-policy[a]-rule[0]',
    'istio-ext-authz-ns[foo]-policy[a]-rule[1]',
  ]);
  assert.equal(build([policy('empty', 'authz', [])], [authz.httpProvider('authz')]), { filters: [], warnings: [] });
});

test('several providers on one workload: one pair each, with its own stat prefix and metadata key', () => {
  const providers = [authz.httpProvider('a-b'), authz.grpcProvider('a_b'), authz.grpcProvider('Zed')];
  const { filters } = build(
    [policy('p1', 'a-b', [authz.rule()]), policy('p2', 'a_b', [authz.rule()]), policy('p3', 'Zed', [authz.rule()])],
    providers,
  );
  const prefixes = filters.filter((f) => f.name === 'envoy.filters.http.rbac').map((f) => f.typed_config.shadow_rules_stat_prefix);
  assert.equal(
    prefixes,
    ['istio_ext_authz_Zed_', 'istio_ext_authz_a_b_', 'istio_ext_authz_a_b_2_'],
    'by provider name (code units), deduplicated',
  );
  const keys = filters
    .filter((f) => f.name === 'envoy.filters.http.ext_authz')
    .map((f) => f.typed_config.filter_enabled_metadata.path[0].key);
  assert.equal(
    keys,
    prefixes.map((p) => `${p}shadow_effective_policy_id`),
  );
  assert.equal(
    filters.map((f) => f.name.split('.').pop()),
    ['rbac', 'ext_authz', 'rbac', 'ext_authz', 'rbac', 'ext_authz'],
  );
});

test('deterministic: input order does not matter', () => {
  const policies = [
    policy('b', 'g', [authz.rule()], 'x'),
    policy('a', 'h', [authz.rule()], 'y'),
    policy('c', 'missing', [authz.rule()], 'x'),
  ];
  const providers = [authz.httpProvider('h'), authz.grpcProvider('g')];
  const one = buildExtAuthzFilters(policies, resolved(providers), ctx('http'));
  const two = buildExtAuthzFilters([...policies].reverse(), resolved([...providers].reverse()), ctx('http'));
  assert.is(JSON.stringify(two), JSON.stringify(one));
});

test.run();
