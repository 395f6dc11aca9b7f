// AuthorizationPolicy -> Envoy RBAC: exact JSON per feature, filter order,
// key naming, fail-closed TCP handling; every config accepted (and already
// canonical) by the real protos, and all of them accepted by real Envoy.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuthorizationAction, AuthorizationPolicy, AuthzRule } from '../../src/config/authz-types.js';
import { canonicalJson, type Json } from '../../src/proto/proto-json.js';
import { buildRbacFilters, type RbacContext } from '../../src/xds/rbac.js';
import { envoyOrThrow } from '../support/envoy-binary.js';
import { authz } from '../support/fixtures/index.js';

type Obj = Record<string, any>;
const HTTP: RbacContext = { trustDomains: ['cluster.local'], protocol: 'http' };
const TCP: RbacContext = { trustDomains: ['cluster.local'], protocol: 'tcp' };
const PROTO = {
  'envoy.filters.http.rbac': 'envoy.extensions.filters.http.rbac.v3.RBAC',
  'envoy.filters.network.rbac': 'envoy.extensions.filters.network.rbac.v3.RBAC',
} as Record<string, string>;

/** An AuthorizationPolicy of namespace `full` unless given. */
const policy = (name: string, action: AuthorizationAction, rules: AuthzRule[], namespace = 'full'): AuthorizationPolicy =>
  authz.policy(`${namespace}/${name}`, { action, rules });

const built: Obj[] = [];
/** Builds, and checks every config against the real proto: accepted and already canonical. */
function build(policies: AuthorizationPolicy[], ctx: RbacContext = HTTP) {
  const result = buildRbacFilters(policies, ctx) as { filters: Obj[]; warnings: string[] };
  for (const f of result.filters) {
    const { '@type': type, ...config } = f.typed_config;
    assert.is(type, `type.googleapis.com/${PROTO[f.name]}`);
    assert.is(
      JSON.stringify(canonicalJson(PROTO[f.name]!, config as Json)),
      JSON.stringify(config),
      `not canonical: ${JSON.stringify(config)}`,
    );
    built.push(f);
  }
  return result;
}
/** The single filter's single policy. */
function policyOf(policies: AuthorizationPolicy[], ctx: RbacContext = HTTP): Obj {
  const { filters } = build(policies, ctx);
  assert.is(filters.length, 1);
  const all = Object.values(filters[0]!.typed_config.rules.policies ?? {}) as Obj[];
  assert.is(all.length, 1);
  return all[0]!;
}

const ANY = [{ any: true }];
const auth = (m: Obj) => ({ authenticated: { principal_name: m } });
const orIds = (...ids: Obj[]) => ({ or_ids: { ids } });
const orRules = (...rules: Obj[]) => ({ or_rules: { rules } });
const andIds = (...ids: Obj[]) => ({ and_ids: { ids } });
const andRules = (...rules: Obj[]) => ({ and_rules: { rules } });
const hdr = (name: string, m: Obj) => ({ header: { name, string_match: m } });
const jwt = (path: string[], value: Obj) => ({
  metadata: { filter: 'envoy.filters.http.jwt_authn', path: ['payload', ...path].map((key) => ({ key })), value },
});

test('S5: DENY GET from cluster.local/ns/full/sa/sleep -> exact HTTP RBAC filter', () => {
  const r = build([
    policy('deny-sleep-get', 'DENY', [
      authz.rule({ from: [authz.source({ principals: ['cluster.local/ns/full/sa/sleep'] })], to: [authz.operation({ methods: ['GET'] })] }),
    ]),
  ]);
  assert.equal(r.warnings, []);
  assert.equal(r.filters, [
    {
      name: 'envoy.filters.http.rbac',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
        rules: {
          action: 'DENY',
          policies: {
            'ns[full]-policy[deny-sleep-get]-rule[0]': {
              permissions: [andRules(orRules(hdr(':method', { exact: 'GET' })))],
              principals: [andIds(orIds(auth({ exact: 'spiffe://cluster.local/ns/full/sa/sleep' })))],
            },
          },
        },
      },
    },
  ]);
});

test('ALLOW by namespace; no `to` -> permissions any; several sources OR, fields AND', () => {
  const p = policyOf([
    policy('ns', 'ALLOW', [
      authz.rule({
        from: [
          authz.source({ namespaces: ['foo', 'a.b'] }),
          authz.source({ ipBlocks: ['10.0.0.0/8', '1.2.3.4', '::1'], notRemoteIpBlocks: ['192.168.0.0/16'] }),
        ],
      }),
    ]),
  ]);
  assert.equal(p.permissions, ANY);
  assert.equal(p.principals, [
    andIds(orIds(auth({ safe_regex: { regex: '.*/ns/foo/.*' } }), auth({ safe_regex: { regex: '.*/ns/a\\.b/.*' } }))),
    andIds(
      orIds(
        { direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } },
        { direct_remote_ip: { address_prefix: '1.2.3.4', prefix_len: 32 } },
        { direct_remote_ip: { address_prefix: '::1', prefix_len: 128 } },
      ),
      { not_id: orIds({ remote_ip: { address_prefix: '192.168.0.0', prefix_len: 16 } }) },
    ),
  ]);
});

test('principals: exact, prefix*, *suffix, * (any authenticated); notPrincipals -> not_id', () => {
  const p = policyOf([
    policy('p', 'ALLOW', [
      authz.rule({
        from: [authz.source({ principals: ['cluster.local/ns/a/*', '*/sa/b', '*'], notPrincipals: ['cluster.local/ns/a/sa/evil'] })],
      }),
    ]),
  ]);
  assert.equal(p.principals, [
    andIds(orIds(auth({ prefix: 'spiffe://cluster.local/ns/a/' }), auth({ suffix: '/sa/b' }), auth({ safe_regex: { regex: '.+' } })), {
      not_id: orIds(auth({ exact: 'spiffe://cluster.local/ns/a/sa/evil' })),
    }),
  ]);
});

test('trust domain aliases: a principal in any of the mesh trust domains matches all of them; others untouched', () => {
  const ctx: RbacContext = { trustDomains: ['new.td', 'cluster.local'], protocol: 'http' };
  const p = policyOf(
    [policy('td', 'ALLOW', [authz.rule({ from: [authz.source({ principals: ['cluster.local/ns/a/sa/b', 'other.td/ns/a/sa/b'] })] })], 'x')],
    ctx,
  );
  assert.equal(p.principals, [
    andIds(
      orIds(
        auth({ exact: 'spiffe://new.td/ns/a/sa/b' }),
        auth({ exact: 'spiffe://cluster.local/ns/a/sa/b' }),
        auth({ exact: 'spiffe://other.td/ns/a/sa/b' }),
      ),
    ),
  ]);
});

test('DENY by path: exact, prefix*, *suffix on url_path; notPaths; hosts ignore case with or without port', () => {
  const p = policyOf([
    policy('paths', 'DENY', [
      authz.rule({
        to: [
          authz.operation({ paths: ['/admin', '/private/*', '*.php'], notPaths: ['/private/ok'], hosts: ['Secret.com', '*.example.com'] }),
        ],
      }),
    ]),
  ]);
  assert.equal(p.principals, ANY);
  assert.equal(p.permissions, [
    andRules(
      orRules(
        hdr(':authority', { exact: 'Secret.com', ignore_case: true }),
        hdr(':authority', { prefix: 'Secret.com:', ignore_case: true }),
        hdr(':authority', { suffix: '.example.com', ignore_case: true }),
        hdr(':authority', { safe_regex: { regex: '(?i).*\\.example\\.com:[0-9]+' } }),
      ),
      orRules(
        { url_path: { path: { exact: '/admin' } } },
        { url_path: { path: { safe_regex: { regex: '/admin(;[^/]*)?' } } } },
        { url_path: { path: { prefix: '/private/' } } },
        { url_path: { path: { safe_regex: { regex: '/private(;[^/]*)?/.*' } } } },
        { url_path: { path: { suffix: '.php' } } },
        { url_path: { path: { safe_regex: { regex: '.*\\.php(;[^/]*)?' } } } },
      ),
      {
        not_rule: orRules(
          { url_path: { path: { exact: '/private/ok' } } },
          { url_path: { path: { safe_regex: { regex: '/private(;[^/]*)?/ok(;[^/]*)?' } } } },
        ),
      },
    ),
  ]);
});

test('paths also match with ;parameters on any segment (what many servers strip before routing)', () => {
  const regexOf = (path: string) => {
    const rules = (
      policyOf([policy('p', 'DENY', [authz.rule({ to: [authz.operation({ paths: [path] })] })])]).permissions as Obj[]
    )[0] as Obj;
    const or = ((rules.and_rules as Obj).rules as Obj[])[0] as Obj;
    const found = ((or.or_rules as Obj).rules as Obj[])
      .map((r) => ((r.url_path as Obj).path as Obj).safe_regex as Obj | undefined)
      .find(Boolean);
    return found ? new RegExp(`^(?:${found.regex as string})$`) : undefined;
  };
  const exact = regexOf('/api/admin')!;
  for (const p of ['/api/admin', '/api;v=1/admin', '/api/admin;jsessionid=x', '/api;a/admin;b']) assert.ok(exact.test(p), p);
  for (const p of ['/api/admin/x', '/api/adminx', '/api/x;/admin', '/api/admin;x/y']) assert.not.ok(exact.test(p), p);
  const prefix = regexOf('/admin/*')!;
  for (const p of ['/admin/', '/admin/x', '/admin;p/x', '/admin;p/']) assert.ok(prefix.test(p), p);
  assert.not.ok(prefix.test('/administrator'));
  const suffix = regexOf('*/delete')!;
  for (const p of ['/a/delete', '/a/delete;x']) assert.ok(suffix.test(p), p);
  assert.not.ok(suffix.test('/a/delete/x'));
  const any = policyOf([policy('p', 'DENY', [authz.rule({ to: [authz.operation({ paths: ['*'] })] })])]).permissions;
  assert.equal(any, [andRules(orRules({ url_path: { path: { safe_regex: { regex: '.+' } } } }))], '"*" is presence only');
});

test('when: headers and claims go to principals, destination.port to permissions; notValues -> not', () => {
  const p = policyOf([
    policy('when', 'ALLOW', [
      authz.rule({
        to: [authz.operation({ ports: ['8080'] })],
        when: [
          authz.condition('request.headers[X-Token]', ['abc', 'pre*']),
          authz.condition('request.auth.claims[groups]', ['admin']),
          authz.condition('destination.port', [], ['9090']),
          authz.condition('source.ip', ['10.1.0.0/16']),
        ],
      }),
    ]),
  ]);
  assert.equal(p.permissions, [andRules(orRules({ destination_port: 8080 }), { not_rule: orRules({ destination_port: 9090 }) })]);
  assert.equal(p.principals, [
    andIds(
      orIds(hdr('x-token', { exact: 'abc' }), hdr('x-token', { prefix: 'pre' })),
      orIds(
        jwt(['groups'], { string_match: { exact: 'admin' } }),
        jwt(['groups'], { list_match: { one_of: { string_match: { exact: 'admin' } } } }),
      ),
      orIds({ direct_remote_ip: { address_prefix: '10.1.0.0', prefix_len: 16 } }),
    ),
  ]);
});

test('requestPrincipals: * = any non-empty iss and sub; iss/sub = both claims exact', () => {
  const p = policyOf([
    policy('jwt', 'ALLOW', [
      authz.rule({
        from: [authz.source({ requestPrincipals: ['*'] }), authz.source({ requestPrincipals: ['https://issuer.example.com/alice'] })],
      }),
    ]),
  ]);
  assert.equal(p.principals, [
    andIds(
      orIds(
        andIds(
          jwt(['iss'], { string_match: { safe_regex: { regex: '.+' } } }),
          jwt(['sub'], { string_match: { safe_regex: { regex: '.+' } } }),
        ),
      ),
    ),
    andIds(
      orIds(
        andIds(jwt(['iss'], { string_match: { exact: 'https://issuer.example.com' } }), jwt(['sub'], { string_match: { exact: 'alice' } })),
      ),
    ),
  ]);
});

test('filter order AUDIT (LOG), DENY, ALLOW; policies sorted by namespace/name; keys keep rule indexes; CUSTOM skipped', () => {
  const any = authz.rule({ to: [authz.operation({ methods: ['GET'] })] });
  const r = build([
    policy('z', 'ALLOW', [any, any], 'a'),
    policy('b', 'DENY', [any], 'b'),
    policy('a', 'DENY', [any], 'b'),
    policy('ext', 'CUSTOM', [any], 'a'),
    policy('log', 'AUDIT', [any], 'a'),
    policy('y', 'ALLOW', [any], 'a'),
  ]);
  assert.equal(
    r.filters.map((f) => f.typed_config.rules.action),
    ['LOG', 'DENY', undefined],
    'ALLOW is the enum default, omitted',
  );
  assert.equal(
    r.filters.map((f) => Object.keys(f.typed_config.rules.policies)),
    [
      ['ns[a]-policy[log]-rule[0]'],
      ['ns[b]-policy[a]-rule[0]', 'ns[b]-policy[b]-rule[0]'],
      ['ns[a]-policy[y]-rule[0]', 'ns[a]-policy[z]-rule[0]', 'ns[a]-policy[z]-rule[1]'],
    ],
  );
  assert.equal(r.warnings, [], 'CUSTOM belongs to ext_authz (ext-authz.ts): not an RBAC filter, not a warning');
});

test('ALLOW with no rules: an ALLOW filter with zero policies (denies everything)', () => {
  const r = build([policy('allow-nothing', 'ALLOW', [])]);
  assert.equal(r.filters, [
    {
      name: 'envoy.filters.http.rbac',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC', rules: {} },
    },
  ]);
  assert.equal(build([]).filters, [], 'no policies, no filter');
});

test('TCP: network RBAC with stat_prefix; ALLOW rule with HTTP-only fields dropped (allows less)', () => {
  const r = build(
    [
      policy('a', 'ALLOW', [
        authz.rule({ from: [authz.source({ principals: ['cluster.local/ns/x/sa/y'] })], to: [authz.operation({ methods: ['GET'] })] }),
        authz.rule({ to: [authz.operation({ ports: ['5432'] })] }),
      ]),
    ],
    TCP,
  );
  assert.equal(r.filters, [
    {
      name: 'envoy.filters.network.rbac',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC',
        rules: {
          policies: { 'ns[full]-policy[a]-rule[1]': { permissions: [andRules(orRules({ destination_port: 5432 }))], principals: ANY } },
        },
        stat_prefix: 'tcp.',
      },
    },
  ]);
  assert.equal(r.warnings, ['AuthorizationPolicy full/a rule 0: rule dropped (allows less), cannot translate methods (HTTP-only on tcp)']);
  const audit = build([policy('log', 'AUDIT', [authz.rule({ when: [authz.condition('request.headers[x]', ['1'])] })])], TCP);
  assert.equal(audit.filters[0]!.typed_config.rules, { action: 'LOG' }, 'AUDIT is treated like ALLOW');
  const only = build([policy('only', 'ALLOW', [authz.rule({ to: [authz.operation({ paths: ['/x'] })] })])], TCP);
  assert.equal(only.filters[0]!.typed_config.rules, {}, 'every rule dropped: ALLOW nothing');
});

test('TCP: DENY rule keeps its TCP fields and drops only the HTTP-only ones (denies more)', () => {
  const p = policyOf(
    [
      policy('d', 'DENY', [
        authz.rule({
          from: [authz.source({ principals: ['cluster.local/ns/x/sa/y'], requestPrincipals: ['*'] })],
          to: [authz.operation({ methods: ['GET'], ports: ['80'] })],
          when: [authz.condition('request.auth.claims[iss]', ['x'])],
        }),
      ]),
    ],
    TCP,
  );
  assert.equal(p, {
    permissions: [andRules(orRules({ destination_port: 80 }))],
    principals: [andIds(orIds(auth({ exact: 'spiffe://cluster.local/ns/x/sa/y' })))],
  });
  const r = build([policy('d', 'DENY', [authz.rule({ to: [authz.operation({ paths: ['/admin'] })] })])], TCP);
  assert.equal(
    Object.values(r.filters[0]!.typed_config.rules.policies),
    [{ permissions: ANY, principals: ANY }],
    'a path-only DENY denies all TCP',
  );
  assert.match(r.warnings[0]!, /full\/d rule 0: ignoring paths \(HTTP-only on tcp\) \(denies more\)/);
});

test('untranslatable values fail closed the same way: bad CIDR / port / key', () => {
  const bad = authz.rule({
    from: [authz.source({ ipBlocks: ['10.0.0.300/8'] })],
    to: [authz.operation({ ports: ['http'] })],
    when: [authz.condition('unknown.key', ['x'])],
  });
  const allow = build([policy('a', 'ALLOW', [bad])]);
  assert.equal(allow.filters[0]!.typed_config.rules, {});
  assert.match(
    allow.warnings[0]!,
    /rule dropped.*ipBlocks \(invalid IP block "10.0.0.300\/8"\).*ports \(invalid port "http"\).*unknown.key/,
  );
  const deny = policyOf([policy('d', 'DENY', [bad])]);
  assert.equal(deny, { permissions: ANY, principals: ANY });
});

test('real Envoy accepts every config built above in one static bootstrap', async () => {
  const envoy = envoyOrThrow();
  const http = built.filter((f) => f.name === 'envoy.filters.http.rbac');
  const tcp = built.filter((f) => f.name === 'envoy.filters.network.rbac');
  const listener = (name: string, port: number, filters: Obj[]) => ({
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [{ filters }],
  });
  const hcm = {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      stat_prefix: 'rbac_test',
      route_config: {
        virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200 } }] }],
      },
      http_filters: [
        ...http,
        {
          name: 'envoy.filters.http.router',
          typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
        },
      ],
    },
  };
  const tcpProxy = {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't', cluster: 'c' },
  };
  const bootstrap = {
    node: { id: 'rbac-test', cluster: 'meshlite-validate' },
    static_resources: {
      listeners: [listener('http', 10001, [hcm]), listener('tcp', 10002, [...tcp, tcpProxy])],
      clusters: [
        {
          name: 'c',
          type: 'STATIC',
          load_assignment: {
            cluster_name: 'c',
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 1 } } } }] }],
          },
        },
      ],
    },
  };
  assert.ok(http.length > 5 && tcp.length > 3);
  const dir = mkdtempSync(join(tmpdir(), 'rbac-'));
  try {
    const file = join(dir, 'bootstrap.json');
    writeFileSync(file, JSON.stringify(bootstrap));
    await promisify(execFile)(envoy, ['--mode', 'validate', '-c', file, '--log-level', 'error', '--disable-hot-restart'], {
      timeout: 60_000,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    assert.unreachable((e.stderr || e.stdout || e.message).trim().split('\n').slice(-8).join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
