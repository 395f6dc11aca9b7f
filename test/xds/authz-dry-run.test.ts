// Dry-run AuthorizationPolicies (`istio.io/dry-run: "true"`) -> Envoy RBAC
// shadow rules: exact configs per action and chain kind, the RBAC slots and
// their per-route overrides, and what is left out (AUDIT, CUSTOM, proxyless
// gRPC) with a warning. Every config is checked against the real protos.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuthorizationAction, AuthorizationPolicy, AuthzRule } from '../../src/config/authz-types.js';
import type { AuthzView } from '../../src/model/view-types.js';
import { canonicalJson, type Json } from '../../src/proto/proto-json.js';
import { authzFilters, RBAC_SLOTS } from '../../src/xds/authz-filters.js';
import { buildExtAuthzFilters } from '../../src/xds/ext-authz.js';
import { proxylessAuthzFilters } from '../../src/xds/proxyless-rbac.js';
import { buildRbacFilters, type RbacContext } from '../../src/xds/rbac.js';
import { authz } from '../support/fixtures/index.js';

type Obj = Record<string, any>;
const HTTP: RbacContext = { trustDomains: ['cluster.local'], protocol: 'http' };
const TCP: RbacContext = { trustDomains: ['cluster.local'], protocol: 'tcp' };
const PROTO: Record<string, string> = {
  'envoy.filters.http.rbac': 'envoy.extensions.filters.http.rbac.v3.RBAC',
  'envoy.filters.network.rbac': 'envoy.extensions.filters.network.rbac.v3.RBAC',
};

const policy = (name: string, action: AuthorizationAction, rules: AuthzRule[], dryRun = false): AuthorizationPolicy =>
  authz.policy(`foo/${name}`, { action, rules, ...(dryRun ? { dryRun: true as const } : {}) });
const paths = (...p: string[]) => authz.rule({ to: [authz.operation({ paths: p })] });
const ports = (...p: string[]) => authz.rule({ to: [authz.operation({ ports: p })] });
/** How a rule translates when enforced (rbac.test.ts checks that): a dry run must translate it the same. */
const enforcedPolicy = (rule: AuthzRule, ctx: RbacContext = HTTP): Obj =>
  Object.values((buildRbacFilters([policy('x', 'ALLOW', [rule])], ctx).filters[0]!.typed_config as Obj).rules.policies)[0] as Obj;
const PATH_A = enforcedPolicy(paths('/a'));
const PATH_B = enforcedPolicy(paths('/b'));
const PORT_9000 = enforcedPolicy(ports('9000'), { trustDomains: ['cluster.local'], protocol: 'tcp' });

/** The filters' configs without @type, each checked accepted and canonical by the real proto. */
function configs(policies: AuthorizationPolicy[], ctx: RbacContext = HTTP): { configs: Obj[]; warnings: string[] } {
  const { filters, warnings } = buildRbacFilters(policies, ctx);
  const out = filters.map((f) => {
    const { '@type': type, ...config } = f.typed_config as Obj;
    const proto = PROTO[f.name as string]!;
    assert.is(type, `type.googleapis.com/${proto}`);
    assert.is(JSON.stringify(canonicalJson(proto, config as Json)), JSON.stringify(config), 'canonical');
    return config;
  });
  return { configs: out, warnings };
}

const view = (policies: AuthorizationPolicy[]): AuthzView => ({
  key: 'k',
  authorizationPolicies: policies,
  requestAuthentications: [],
  trustDomains: ['cluster.local'],
  providers: [],
  jwks: {},
});

test('a dry-run ALLOW only: shadow rules under istio_dry_run_allow_, no enforced rules (nothing is denied)', () => {
  assert.equal(configs([policy('only-a', 'ALLOW', [paths('/a')], true)]), {
    configs: [
      { shadow_rules: { policies: { 'ns[foo]-policy[only-a]-rule[0]': PATH_A } }, shadow_rules_stat_prefix: 'istio_dry_run_allow_' },
    ],
    warnings: [],
  });
});

test('a dry-run DENY: shadow rules (action DENY) under istio_dry_run_deny_', () => {
  assert.equal(configs([policy('no-a', 'DENY', [paths('/a')], true)]).configs, [
    {
      shadow_rules: { action: 'DENY', policies: { 'ns[foo]-policy[no-a]-rule[0]': PATH_A } },
      shadow_rules_stat_prefix: 'istio_dry_run_deny_',
    },
  ]);
  // A dry-run ALLOW without rules would deny everything: as a shadow it only counts that.
  assert.equal(configs([policy('nothing', 'ALLOW', [], true)]).configs, [
    { shadow_rules: {}, shadow_rules_stat_prefix: 'istio_dry_run_allow_' },
  ]);
});

test('enforced and dry-run policies of one action share a filter: the enforced in rules, the dry-run in shadow_rules', () => {
  const built = configs([
    policy('deny-a', 'DENY', [paths('/a')]),
    policy('deny-b', 'DENY', [paths('/b')], true),
    policy('allow-a', 'ALLOW', [paths('/a')], true),
    policy('allow-b', 'ALLOW', [paths('/b')]),
  ]);
  assert.equal(built.configs, [
    {
      rules: { action: 'DENY', policies: { 'ns[foo]-policy[deny-a]-rule[0]': PATH_A } },
      shadow_rules: { action: 'DENY', policies: { 'ns[foo]-policy[deny-b]-rule[0]': PATH_B } },
      shadow_rules_stat_prefix: 'istio_dry_run_deny_',
    },
    {
      rules: { policies: { 'ns[foo]-policy[allow-b]-rule[0]': PATH_B } },
      shadow_rules: { policies: { 'ns[foo]-policy[allow-a]-rule[0]': PATH_A } },
      shadow_rules_stat_prefix: 'istio_dry_run_allow_',
    },
  ]);
  // Without the dry-run ones the same filters hold only the enforced rules.
  assert.equal(configs([policy('deny-a', 'DENY', [paths('/a')]), policy('allow-b', 'ALLOW', [paths('/b')])]).configs, [
    { rules: { action: 'DENY', policies: { 'ns[foo]-policy[deny-a]-rule[0]': PATH_A } } },
    { rules: { policies: { 'ns[foo]-policy[allow-b]-rule[0]': PATH_B } } },
  ]);
});

test('TCP: the network RBAC filter gets the shadow rules and prefix, and authzFilters puts it before tcp_proxy', () => {
  assert.equal(configs([policy('no-9000', 'DENY', [ports('9000')], true)], TCP).configs, [
    {
      shadow_rules: { action: 'DENY', policies: { 'ns[foo]-policy[no-9000]-rule[0]': PORT_9000 } },
      shadow_rules_stat_prefix: 'istio_dry_run_deny_',
      stat_prefix: 'tcp.',
    },
  ]);
  const filters = authzFilters(view([policy('no-9000', 'DENY', [ports('9000')], true)]));
  assert.equal(
    filters.tcp.map((f) => [f.name, Object.keys(f.typed_config as Obj)]),
    [['envoy.filters.network.rbac', ['@type', 'shadow_rules', 'shadow_rules_stat_prefix', 'stat_prefix']]],
  );
});

test('HTTP: the DENY and ALLOW slots carry the dry-run stat prefixes; the per-route config carries rules and shadow rules', () => {
  const filters = authzFilters(
    view([
      policy('deny-a', 'DENY', [paths('/a')]),
      policy('deny-b', 'DENY', [paths('/b')], true),
      policy('allow-a', 'ALLOW', [paths('/a')], true),
    ]),
  );
  assert.equal(
    filters.http.map((f) => [f.name, f.typed_config]),
    [
      [RBAC_SLOTS.AUDIT, { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC' }],
      [
        RBAC_SLOTS.DENY,
        { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC', shadow_rules_stat_prefix: 'istio_dry_run_deny_' },
      ],
      [
        RBAC_SLOTS.ALLOW,
        { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC', shadow_rules_stat_prefix: 'istio_dry_run_allow_' },
      ],
    ],
  );
  const perRoute = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
  assert.equal(filters.httpPerRoute, {
    [RBAC_SLOTS.DENY]: {
      '@type': perRoute,
      rbac: {
        rules: { action: 'DENY', policies: { 'ns[foo]-policy[deny-a]-rule[0]': PATH_A } },
        shadow_rules: { action: 'DENY', policies: { 'ns[foo]-policy[deny-b]-rule[0]': PATH_B } },
      },
    },
    // Only dry-run ALLOW policies: the ALLOW slot is overridden without `rules`, so it denies nothing.
    [RBAC_SLOTS.ALLOW]: { '@type': perRoute, rbac: { shadow_rules: { policies: { 'ns[foo]-policy[allow-a]-rule[0]': PATH_A } } } },
  });
  for (const config of Object.values(filters.httpPerRoute)) {
    const { '@type': _, ...fields } = config as Obj;
    assert.is(JSON.stringify(canonicalJson('envoy.extensions.filters.http.rbac.v3.RBACPerRoute', fields as Json)), JSON.stringify(fields));
  }
  assert.equal(filters.warnings.http, []);
});

test('dry-run AUDIT and CUSTOM policies are left out with a warning; never enforced', () => {
  const audit = configs([policy('log-a', 'AUDIT', [paths('/a')], true)]);
  assert.equal(audit.configs, []);
  assert.equal(audit.warnings, [
    'AuthorizationPolicy foo/log-a: dry-run AUDIT policy ignored (an audit decides nothing, so there is nothing to rehearse)',
  ]);
  const custom = authz.policy('foo/ext', { action: 'CUSTOM', provider: 'p', rules: [paths('/a')], dryRun: true });
  const ext = buildExtAuthzFilters([custom], [], { trustDomains: ['cluster.local'], protocol: 'http' });
  assert.equal(ext.filters, []);
  assert.equal(ext.warnings, [
    'AuthorizationPolicy foo/ext: dry-run CUSTOM policy ignored (the external authorizer cannot be asked without enforcing its answer)',
  ]);
  const all = authzFilters(view([custom, policy('log-a', 'AUDIT', [paths('/a')], true)]));
  assert.equal(all.httpPerRoute, {});
  assert.equal(all.tcp, []);
  assert.is(all.warnings.http.length, 2);
  assert.is(all.warnings.tcp.length, 2);
});

test('proxyless gRPC: gRPC has no shadow rules, so a dry-run policy is left out with a warning', () => {
  const grpc = proxylessAuthzFilters(view([policy('no-a', 'DENY', [paths('/a')], true), policy('only-b', 'ALLOW', [paths('/b')])]));
  assert.equal(
    grpc.filters.map((f) => [f.name, Object.keys((f.typed_config as Obj).rules.policies)]),
    [['meshlite.rbac.allow', ['ns[foo]-policy[only-b]-rule[0]']]],
  );
  assert.equal(grpc.warnings, [
    "proxyless gRPC server: AuthorizationPolicy foo/no-a (dry-run DENY) is not evaluated: gRPC's RBAC filter has no shadow rules",
  ]);
});

test.run();
