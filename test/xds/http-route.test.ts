// VirtualService HTTP routes -> Envoy Routes: exact JSON per feature, every
// route accepted (and already canonical) by the real protos, and a route
// configuration with all features accepted by real Envoy.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Destination, HttpMatchRequest, HttpRoute, HttpRouteDestination, VirtualService } from '../../src/config/types.js';
import { resolveVirtualService } from '../../src/model/route-resolution.js';
import type { HttpRouteView } from '../../src/model/view-types.js';
import { canonicalJson, type Json } from '../../src/proto/proto-json.js';
import { asJson } from '../../src/xds/common.js';
import { buildHttpRoutes, type RouteBuildContext, requiredHttpFilters } from '../../src/xds/http-route.js';
import { defaultRetryPolicy } from '../../src/xds/retry-policy.js';
import { envoyOrThrow } from '../support/envoy-binary.js';

type Obj = Record<string, any>;
const SVC = 'httpbin.bar.svc.cluster.local';
const CLUSTERS: Record<string, string> = {
  'httpbin|': `outbound|8000||${SVC}`,
  'httpbin|v1': `outbound|8000|v1|${SVC}`,
  'httpbin|v2': `outbound|8000|v2|${SVC}`,
  'shadow|': 'outbound|8000||shadow.bar.svc.cluster.local',
};
const clusterFor = (d: Destination) => (d.port && d.port !== 8000 ? undefined : CLUSTERS[`${d.host}|${d.subset ?? ''}`]);
/** Routes as the model hands them over: resolved by the model's own resolution, against the clusters above. */
const resolved = (routes: readonly HttpRoute[]): HttpRouteView[] =>
  resolveVirtualService(
    { meta: { namespace: 'foo', name: 'vs' }, spec: { http: routes, tcp: [], tls: [] } } as unknown as VirtualService,
    clusterFor,
  ).http;
const CTX: RouteBuildContext = {
  port: 8000,
  gateway: 'mesh',
  source: { labels: { app: 'sleep', version: 'v1' }, namespace: 'foo' },
};
const C0 = CLUSTERS['httpbin|']!;
const C1 = CLUSTERS['httpbin|v1']!;
const C2 = CLUSTERS['httpbin|v2']!;
/** What every route to a destination carries when its VirtualService sets no `retries`. */
const RETRY = defaultRetryPolicy();
const PREVIOUS_HOSTS = RETRY.retry_host_predicate;

const M = (m: Partial<HttpMatchRequest> = {}): HttpMatchRequest => ({
  headers: {},
  withoutHeaders: {},
  queryParams: {},
  gateways: [],
  ignoreUriCase: false,
  ...m,
});
const to = (host: string, extra: Partial<Destination> & Omit<Partial<HttpRouteDestination>, 'destination'> = {}): HttpRouteDestination => {
  const { subset, port, ...rest } = extra;
  return { destination: { host, ...(subset ? { subset } : {}), ...(port ? { port } : {}) }, ...rest };
};
const H = (h: Partial<HttpRoute> = {}): HttpRoute => ({ match: [], route: [to('httpbin')], ...h });

/** Builds, and checks every route against the real proto: accepted and already in canonical form. */
function build(routes: HttpRoute[], ctx: Partial<RouteBuildContext> = {}) {
  const result = buildHttpRoutes(resolved(routes), { ...CTX, ...ctx }, 'vs');
  for (const r of result.routes) {
    assert.is(
      JSON.stringify(canonicalJson('envoy.config.route.v3.Route', asJson(r))),
      JSON.stringify(r),
      `not canonical: ${JSON.stringify(r)}`,
    );
  }
  return result as { routes: Obj[]; warnings: string[] };
}
const only = (routes: HttpRoute[], ctx: Partial<RouteBuildContext> = {}) => {
  const r = build(routes, ctx);
  assert.is(r.routes.length, 1);
  return r.routes[0]!;
};
const action = (http: Partial<HttpRoute>) => only([H(http)]).route as Obj;

test('an http route without match is one catch-all route to its cluster, timeout disabled', () => {
  const r = build([H()]);
  assert.equal(r.routes, [{ name: 'vs.0', match: { prefix: '/' }, route: { cluster: C0, timeout: '0s', retry_policy: RETRY } }]);
  assert.equal(r.warnings, []);
});

test('uri: exact -> path, prefix -> prefix, regex -> safe_regex; ignoreUriCase -> case_sensitive false or (?i)', () => {
  const m = (match: Partial<HttpMatchRequest>) => only([H({ match: [M(match)] })]).match;
  assert.equal(m({ uri: { exact: '/status/200' } }), { path: '/status/200' });
  assert.equal(m({ uri: { prefix: '/api/' } }), { prefix: '/api/' });
  assert.equal(m({ uri: { regex: '/v[0-9]+/.*' } }), { safe_regex: { regex: '/v[0-9]+/.*' } });
  assert.equal(m({ uri: { exact: '/A' }, ignoreUriCase: true }), { path: '/A', case_sensitive: false });
  assert.equal(m({ uri: { prefix: '/A' }, ignoreUriCase: true }), { prefix: '/A', case_sensitive: false });
  assert.equal(m({ uri: { regex: '/a.*' }, ignoreUriCase: true }), { safe_regex: { regex: '(?i)/a.*' } });
  assert.equal(m({ ignoreUriCase: true }), { prefix: '/' }, 'no uri: nothing to make case-insensitive');
});

test('headers, withoutHeaders, method, authority, scheme and query params, sorted and deterministic', () => {
  const match = M({
    headers: { 'x-b': { prefix: 'pre' }, 'x-a': { exact: 'one' }, 'x-any': { regex: '*' }, 'x-empty-prefix': { prefix: '' } },
    withoutHeaders: { 'x-c': { regex: 'bad.*' }, 'x-a': { exact: 'two' }, 'x-absent': { regex: '*' } },
    method: { exact: 'GET' },
    authority: { prefix: 'httpbin' },
    scheme: { exact: 'https' },
    queryParams: { v: { regex: '[0-9]+' }, debug: { exact: '' }, flag: { regex: '*' } },
  });
  const expected = {
    prefix: '/',
    headers: [
      { name: 'x-a', string_match: { exact: 'one' } },
      { name: 'x-a', string_match: { exact: 'two' }, invert_match: true, treat_missing_header_as_empty: true },
      { name: 'x-absent', present_match: true, invert_match: true },
      { name: 'x-any', present_match: true },
      { name: 'x-b', string_match: { prefix: 'pre' } },
      { name: 'x-c', string_match: { safe_regex: { regex: 'bad.*' } }, invert_match: true, treat_missing_header_as_empty: true },
      { name: 'x-empty-prefix', present_match: true },
      { name: ':method', string_match: { exact: 'GET' } },
      { name: ':authority', string_match: { prefix: 'httpbin' } },
      { name: ':scheme', string_match: { exact: 'https' } },
    ],
    query_parameters: [
      { name: 'debug', string_match: { exact: '' } },
      { name: 'flag', present_match: true },
      { name: 'v', string_match: { safe_regex: { regex: '[0-9]+' } } },
    ],
  };
  assert.equal(only([H({ match: [match] })]).match, expected);
  const reordered = M({
    ...match,
    headers: Object.fromEntries(Object.entries(match.headers).reverse()),
    queryParams: Object.fromEntries(Object.entries(match.queryParams).reverse()),
  });
  assert.is(
    JSON.stringify(only([H({ match: [reordered] })])),
    JSON.stringify(only([H({ match: [match] })])),
    'key order of the YAML does not matter',
  );
});

test('one route per (http route, match) in order, with stable names', () => {
  const r = build([
    H({ name: 'api', match: [M({ uri: { prefix: '/a' } }), M({ name: 'bee', uri: { prefix: '/b' } })] }),
    H({ match: [M({ name: 'only', uri: { prefix: '/c' } })] }),
    H({ match: [M({ uri: { prefix: '/d' } })] }),
    H({ name: 'rest' }),
  ]);
  assert.equal(
    r.routes.map((x) => [x.name, x.match.prefix]),
    [
      ['vs.api.0', '/a'],
      ['vs.api.bee', '/b'],
      ['vs.1.only', '/c'],
      ['vs.2', '/d'],
      ['vs.rest', '/'],
    ],
  );
});

test('matches for another port, another gateway or other source workloads are skipped', () => {
  const http = [
    H({ name: 'p', match: [M({ port: 9000, uri: { prefix: '/p9000' } }), M({ port: 8000, uri: { prefix: '/p8000' } })] }),
    H({ name: 'gw', match: [M({ gateways: ['istio-system/ingress'], uri: { prefix: '/gw' } })] }),
    H({ name: 'mesh', match: [M({ gateways: ['mesh'], uri: { prefix: '/mesh' }, sourceLabels: { app: 'other' } })] }),
    H({ name: 'src', match: [M({ sourceLabels: { app: 'sleep' }, sourceNamespace: 'foo', uri: { prefix: '/src' } })] }),
    H({ name: 'other', match: [M({ sourceLabels: { app: 'sleep', version: 'v2' }, uri: { prefix: '/other' } })] }),
    H({ name: 'ns', match: [M({ sourceNamespace: 'bar', uri: { prefix: '/ns' } })] }),
  ];
  const names = (ctx: Partial<RouteBuildContext>) => build(http, ctx).routes.map((r) => r.name);
  // A gateway-scoped match ignores sourceLabels, as in Istio.
  assert.equal(names({}), ['vs.p.1', 'vs.mesh', 'vs.src']);
  assert.equal(names({ port: 9000 }), ['vs.p.0', 'vs.mesh', 'vs.src']);
  assert.equal(names({ port: undefined }), ['vs.mesh', 'vs.src'], 'a port-less route config serves no port match');
  assert.equal(names({ gateway: 'istio-system/ingress', source: { labels: { app: 'ingress' }, namespace: 'istio-system' } }), [
    'vs.p.1',
    'vs.gw',
  ]);
  assert.equal(names({ source: undefined }), ['vs.p.1', 'vs.mesh'], 'source conditions cannot hold for an unknown source');
  assert.equal(build([H({ match: [M({ port: 1 })] })]).routes, [], 'an http route whose matches all skip contributes nothing');
});

test('routes after a catch-all are dropped with a warning; skipped ones are not reported', () => {
  const r = build([
    H({ name: 'a', match: [M({ uri: { prefix: '/a' } })] }),
    H({ name: 'all', match: [M({ uri: { prefix: '/' } }), M({ uri: { prefix: '/never' } })] }),
    H({ name: 'later' }),
    H({ name: 'elsewhere', match: [M({ port: 1 })] }),
  ]);
  assert.equal(
    r.routes.map((x) => x.name),
    ['vs.a', 'vs.all.0'],
  );
  assert.equal(r.warnings, ['vs.later: unreachable, route vs.all.0 before it matches every request']);
  assert.is(build([H({ match: [M({ headers: { x: { exact: '1' } } })] }), H()]).routes.length, 2, 'a header condition is not a catch-all');
});

test('destinations: one -> cluster; several -> weighted_clusters with plain weights, zero weights dropped', () => {
  assert.equal(action({ route: [to('httpbin', { subset: 'v1', weight: 30 })] }).cluster, C1, 'a sole destination takes all traffic');
  assert.equal(action({ route: [to('httpbin', { subset: 'v1', weight: 75 }), to('httpbin', { subset: 'v2', weight: 25 })] }), {
    weighted_clusters: {
      clusters: [
        { name: C1, weight: 75 },
        { name: C2, weight: 25 },
      ],
    },
    timeout: '0s',
    retry_policy: RETRY,
  });
  assert.equal(action({ route: [to('httpbin', { subset: 'v1', weight: 100 }), to('httpbin', { subset: 'v2', weight: 0 })] }).cluster, C1);
  const r = build([H({ route: [to('httpbin', { subset: 'v1' }), to('httpbin', { subset: 'v2' })] })]);
  assert.equal(r.routes[0]!.route.weighted_clusters.clusters, [
    { name: C1, weight: 1 },
    { name: C2, weight: 1 },
  ]);
  assert.equal(r.warnings, ['vs.0: no destination has a positive weight; splitting traffic evenly']);
});

test('unresolved destinations: dropped from a split with a warning; none left -> direct 503', () => {
  const partial = build([
    H({
      route: [
        to('httpbin', { subset: 'v1', weight: 90 }),
        to('httpbin', { subset: 'v9', weight: 5 }),
        to('httpbin', { subset: 'v2', weight: 5 }),
      ],
    }),
  ]);
  assert.equal(partial.routes[0]!.route.weighted_clusters.clusters, [
    { name: C1, weight: 90 },
    { name: C2, weight: 5 },
  ]);
  assert.equal(partial.warnings, ['vs.0: no cluster for httpbin subset v9; its share of traffic goes to the other destinations']);
  const none = build([
    H({
      name: 'x',
      route: [to('nowhere'), to('httpbin', { port: 9999, weight: 1 })],
      retries: { attempts: 3 },
      fault: { abort: { httpStatus: 500, percentage: 1 } },
    }),
  ]);
  assert.equal(none.routes[0]!.direct_response, { status: 503 });
  assert.is(none.routes[0]!.route, undefined);
  assert.ok(none.routes[0]!.typed_per_filter_config, 'the fault still applies');
  assert.equal(none.warnings, ['vs.x: no cluster for httpbin:9999; the route answers 503'], 'weightless nowhere is not even tried');
  const empty = build([H({ route: [] })]);
  assert.equal(empty.routes[0]!.direct_response, { status: 503 });
  assert.equal(empty.warnings, ['vs.0: no destination, redirect or directResponse; the route answers 503']);
  const sole = build([H({ route: [to('nowhere')] })]);
  assert.equal(sole.routes[0]!.direct_response, { status: 503 });
  assert.equal(sole.warnings, ['vs.0: no cluster for nowhere; the route answers 503']);
});

test('per-destination headers: on the weighted cluster entry, or on the route for a sole destination', () => {
  const ops = {
    request: { set: { 'x-v': 'one', host: 'v1.internal' }, add: {}, remove: ['x-drop'] },
    response: { set: {}, add: { 'x-served-by': 'v1' }, remove: [] },
  };
  const split = action({ route: [to('httpbin', { subset: 'v1', weight: 50, headers: ops }), to('httpbin', { subset: 'v2', weight: 50 })] });
  assert.equal(split.weighted_clusters.clusters[0], {
    name: C1,
    weight: 50,
    request_headers_to_add: [{ header: { key: 'x-v', value: 'one' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    request_headers_to_remove: ['x-drop'],
    response_headers_to_add: [{ header: { key: 'x-served-by', value: 'v1' } }],
    host_rewrite_literal: 'v1.internal',
  });
  const route = only([
    H({ headers: { request: { set: {}, add: { 'x-route': 'r' }, remove: [] } }, route: [to('httpbin', { subset: 'v1', headers: ops })] }),
  ]);
  assert.equal(route.route, { cluster: C1, host_rewrite_literal: 'v1.internal', timeout: '0s', retry_policy: RETRY });
  assert.equal(route.request_headers_to_add, [
    { header: { key: 'x-route', value: 'r' } },
    { header: { key: 'x-v', value: 'one' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
  ]);
  assert.equal(route.request_headers_to_remove, ['x-drop']);
  assert.equal(route.response_headers_to_add, [{ header: { key: 'x-served-by', value: 'v1' } }]);
});

test('rewrite: prefix match -> prefix_rewrite, exact/regex -> full-path regex_rewrite; authority -> host_rewrite_literal', () => {
  const rw = (match: Partial<HttpMatchRequest> | undefined, uri: string) =>
    only([H({ match: match ? [M(match)] : [], rewrite: { uri, authority: 'api.internal' } })]).route;
  assert.equal(rw({ uri: { prefix: '/old/' } }, '/new/'), {
    cluster: C0,
    prefix_rewrite: '/new/',
    host_rewrite_literal: 'api.internal',
    timeout: '0s',
    retry_policy: RETRY,
  });
  assert.equal(
    rw(undefined, '/v2'),
    { cluster: C0, prefix_rewrite: '/v2', host_rewrite_literal: 'api.internal', timeout: '0s', retry_policy: RETRY },
    'no match: the matched prefix is "/"',
  );
  const full = {
    regex_rewrite: { pattern: { regex: '^.*$' }, substitution: '/status/200' },
    host_rewrite_literal: 'api.internal',
    timeout: '0s',
    retry_policy: RETRY,
  };
  assert.equal(rw({ uri: { exact: '/ok' } }, '/status/200'), { cluster: C0, ...full });
  assert.equal(rw({ uri: { regex: '/o+k' } }, '/status/200'), { cluster: C0, ...full });
  assert.is(rw({ uri: { exact: '/x' } }, '/a\\1').regex_rewrite.substitution, '/a\\\\1', 'a backslash is literal, not a capture group');
  assert.equal(action({ rewrite: { authority: 'only-host' } }), {
    cluster: C0,
    host_rewrite_literal: 'only-host',
    timeout: '0s',
    retry_policy: RETRY,
  });
});

test('redirect: path, host, port, scheme and response codes', () => {
  const redirect = (r: HttpRoute['redirect']) => build([H({ redirect: r })]);
  assert.equal(redirect({ uri: '/new', authority: 'example.com', port: 8443, scheme: 'https', redirectCode: 302 }).routes[0], {
    name: 'vs.0',
    match: { prefix: '/' },
    redirect: {
      scheme_redirect: 'https',
      host_redirect: 'example.com',
      port_redirect: 8443,
      path_redirect: '/new',
      response_code: 'FOUND',
    },
  });
  assert.equal(
    redirect({ uri: '/moved' }).routes[0]!.redirect,
    { path_redirect: '/moved' },
    '301 is the default (MOVED_PERMANENTLY, omitted)',
  );
  assert.equal(redirect({ scheme: 'https', port: 443 }).routes[0]!.redirect, { scheme_redirect: 'https' }, 'no explicit default port');
  const codes = [301, 302, 303, 307, 308].map((c) => redirect({ authority: 'a', redirectCode: c }).routes[0]!.redirect.response_code);
  assert.equal(codes, [undefined, 'FOUND', 'SEE_OTHER', 'TEMPORARY_REDIRECT', 'PERMANENT_REDIRECT']);
  const bad = redirect({ uri: '/x', redirectCode: 305 });
  assert.equal(bad.routes, []);
  assert.equal(bad.warnings, ['vs.0: redirect code 305 is not one Envoy supports (301, 302, 303, 307, 308); route skipped']);
});

test('directResponse: status and inline body; an impossible status skips the route', () => {
  assert.equal(only([H({ directResponse: { status: 418, body: 'teapot' } })]).direct_response, {
    status: 418,
    body: { inline_string: 'teapot' },
  });
  assert.equal(only([H({ directResponse: { status: 204 } })]).direct_response, { status: 204 });
  const bad = build([H({ directResponse: { status: 700 } })]);
  assert.equal([bad.routes, bad.warnings], [[], ['vs.0: directResponse.status 700 is outside 200-599; route skipped']]);
});

test('timeout and retries: Istio durations; explicit retries over the default; attempts 0 turns retries off', () => {
  assert.equal(action({ timeout: '100ms' }).timeout, '0.100s');
  assert.equal(action({ timeout: '1m30s' }).timeout, '90s');
  assert.equal(action({ retries: { attempts: 3, perTryTimeout: '2s' } }).retry_policy, {
    retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
    num_retries: 3,
    per_try_timeout: '2s',
    retry_host_predicate: PREVIOUS_HOSTS,
    host_selection_retry_max_attempts: '5',
  });
  assert.equal(action({ retries: { attempts: 2, retryOn: 'gateway-error, 503,reset,429' } }).retry_policy, {
    retry_on: 'gateway-error,reset,retriable-status-codes',
    num_retries: 2,
    retry_host_predicate: PREVIOUS_HOSTS,
    host_selection_retry_max_attempts: '5',
    retriable_status_codes: [503, 429],
  });
  assert.is(action({ retries: { attempts: 0, retryOn: '5xx' } }).retry_policy, undefined);
  assert.is(action({ retries: { attempts: 0 } }).retry_policy, undefined, 'attempts 0: no policy at all');
});

test("no retries field: Istio's default policy (2 retries on connection-level failures, on other endpoints)", () => {
  assert.equal(action({}).retry_policy, {
    retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
    num_retries: 2,
    retry_host_predicate: [
      {
        name: 'envoy.retry_host_predicates.previous_hosts',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' },
      },
    ],
    host_selection_retry_max_attempts: '5',
  });
  assert.equal(action({ timeout: '3s' }).retry_policy, RETRY, 'a timeout alone keeps the default retries');
  const split = action({ route: [to('httpbin', { subset: 'v1', weight: 50 }), to('httpbin', { subset: 'v2', weight: 50 })] });
  assert.equal(split.retry_policy, RETRY, 'a split gets it too');
  const noAction = build([
    H({ name: 'd', directResponse: { status: 204 }, match: [M({ uri: { exact: '/d' } })] }),
    H({ name: 'r', redirect: { uri: '/x' } }),
  ]);
  assert.equal(
    noAction.routes.map((r) => r.name),
    ['vs.d', 'vs.r'],
  );
  for (const r of noAction.routes) assert.is(r.route, undefined, 'redirects and direct responses forward nothing, so retry nothing');
});

test('fault: delay and abort as per-route HTTPFault with percentages out of a million; filter required', () => {
  const r = only([H({ fault: { delay: { fixedDelay: '5s', percentage: 0.1 }, abort: { httpStatus: 503, percentage: 12.3456 } } })]);
  assert.equal(r.typed_per_filter_config, {
    'envoy.filters.http.fault': {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
      delay: { fixed_delay: '5s', percentage: { numerator: 1000, denominator: 'MILLION' } },
      abort: { http_status: 503, percentage: { numerator: 123456, denominator: 'MILLION' } },
    },
  });
  assert.equal(requiredHttpFilters([r]), ['envoy.filters.http.fault']);
  assert.equal(requiredHttpFilters(build([H(), H({ redirect: { uri: '/' } })]).routes), []);
  const unset = build([H({ fault: { delay: { fixedDelay: '1s' }, abort: { httpStatus: 500, percentage: 0 } } })]);
  assert.is(unset.routes[0]!.typed_per_filter_config, undefined, 'no percentage (or 0%) injects nothing');
  assert.equal(unset.warnings, ['vs.0: fault.delay has no percentage, so it delays no request']);
});

test('mirror: request_mirror_policies with a runtime fraction; default 100%, 0 or unknown -> none', () => {
  assert.equal(action({ mirror: { host: 'shadow' } }).request_mirror_policies, [
    {
      cluster: CLUSTERS['shadow|']!,
      runtime_fraction: { default_value: { numerator: 1000000, denominator: 'MILLION' } },
      trace_sampled: false,
    },
  ]);
  assert.equal(action({ mirror: { host: 'shadow' }, mirrorPercentage: 2.5 }).request_mirror_policies[0].runtime_fraction, {
    default_value: { numerator: 25000, denominator: 'MILLION' },
  });
  assert.is(action({ mirror: { host: 'shadow' }, mirrorPercentage: 0 }).request_mirror_policies, undefined);
  const unknown = build([H({ mirror: { host: 'ghost' } })]);
  assert.is(unknown.routes[0]!.route.request_mirror_policies, undefined);
  assert.equal(unknown.warnings, ['vs.0: no cluster for mirror ghost; not mirroring']);
});

test('route headers: set overwrites, add appends, remove; Host becomes a host rewrite; pseudo-headers dropped', () => {
  const r = build([
    H({
      headers: {
        request: {
          set: { 'x-b': '2', 'x-a': '1', Host: 'from-set' },
          add: { 'x-c': '3', ':authority': 'from-add' },
          remove: ['x-gone', ':path'],
        },
        response: { set: { 'cache-control': 'no-store' }, add: { 'x-trace': 't' }, remove: ['server'] },
      },
    }),
  ]);
  assert.equal(r.routes[0], {
    name: 'vs.0',
    match: { prefix: '/' },
    route: { cluster: C0, host_rewrite_literal: 'from-set', timeout: '0s', retry_policy: RETRY },
    request_headers_to_add: [
      { header: { key: 'x-a', value: '1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-b', value: '2' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-c', value: '3' } },
    ],
    request_headers_to_remove: ['x-gone'],
    response_headers_to_add: [
      { header: { key: 'cache-control', value: 'no-store' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-trace', value: 't' } },
    ],
    response_headers_to_remove: ['server'],
  });
  assert.equal(r.warnings, ['vs.0: headers.request.remove of ":path" dropped: Envoy does not allow removing it']);
  assert.equal(
    action({ rewrite: { authority: 'wins' }, headers: { request: { set: { host: 'loses' }, add: {}, remove: [] } } }).host_rewrite_literal,
    'wins',
  );
});

test('JWT claim conditions (@request.auth.claims) are not supported: that match is skipped', () => {
  const r = build([
    H({ name: 'jwt', match: [M({ headers: { '@request.auth.claims.group': { exact: 'admin' } } }), M({ uri: { prefix: '/open' } })] }),
  ]);
  assert.equal(
    r.routes.map((x) => x.name),
    ['vs.jwt.1'],
  );
  assert.equal(r.warnings, ['vs.jwt.0: match skipped: conditions on @request.auth.claims.group (JWT claims) are not supported']);
});

/** Every feature at once, on several routes. */
function kitchenSink(): HttpRoute[] {
  const ops = {
    request: { set: { 'x-set': 's', host: 'rewritten' }, add: { 'x-add': 'a' }, remove: ['x-rm'] },
    response: { set: { 'x-resp': 'r' }, add: {}, remove: ['x-powered-by'] },
  };
  return [
    H({
      name: 'redirect',
      match: [M({ uri: { exact: '/old' }, scheme: { exact: 'http' } })],
      redirect: { uri: '/new', authority: 'example.com', port: 8443, scheme: 'https', redirectCode: 308 },
    }),
    H({
      name: 'teapot',
      match: [M({ uri: { regex: '/tea(pot)?' }, method: { exact: 'BREW' } })],
      directResponse: { status: 418, body: "I'm a teapot" },
    }),
    H({
      name: 'canary',
      match: [
        M({
          uri: { prefix: '/api/' },
          ignoreUriCase: true,
          headers: { 'x-canary': { regex: 'yes|true' } },
          withoutHeaders: { 'x-block': { prefix: 'b' } },
          queryParams: { v: { exact: '2' } },
          authority: { regex: 'httpbin(:8000)?' },
        }),
      ],
      route: [to('httpbin', { subset: 'v1', weight: 90, headers: ops }), to('httpbin', { subset: 'v2', weight: 10 })],
      rewrite: { uri: '/', authority: 'httpbin.internal' },
      timeout: '2.5s',
      retries: { attempts: 3, perTryTimeout: '500ms', retryOn: '5xx,503' },
      fault: { delay: { fixedDelay: '100ms', percentage: 10.5 }, abort: { httpStatus: 503, percentage: 0.01 } },
      mirror: { host: 'shadow' },
      mirrorPercentage: 33.3,
      headers: ops,
    }),
    H({ name: 'regex-rewrite', match: [M({ uri: { regex: '/users/[0-9]+' }, ignoreUriCase: true })], rewrite: { uri: '/user' } }),
    H({ name: 'missing', match: [M({ uri: { prefix: '/missing' } })], route: [to('nowhere')] }),
    H({ name: 'rest', route: [to('httpbin', { subset: 'v1', headers: ops })], headers: ops }),
  ];
}

test('deterministic: the same input gives byte-identical output', () => {
  assert.is(JSON.stringify(build(kitchenSink())), JSON.stringify(build(kitchenSink())));
  assert.equal(
    build(kitchenSink()).routes.map((r) => r.name),
    ['vs.redirect', 'vs.teapot', 'vs.canary', 'vs.regex-rewrite', 'vs.missing', 'vs.rest'],
  );
});

const run = promisify(execFile);

function staticBootstrap(routes: Json[], filters: string[]): Obj {
  const clusterNames = [...new Set(JSON.stringify(routes).match(/outbound\|[^"]+/g) ?? [])];
  const hcm = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'http-route-test',
    route_config: { name: 'vs-routes', virtual_hosts: [{ name: 'httpbin', domains: ['*'], routes }] },
    http_filters: [
      ...filters.map((name) => ({
        name,
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault' },
      })),
      {
        name: 'envoy.filters.http.router',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
      },
    ],
  };
  return {
    node: { id: 'http-route-test', cluster: 'meshlite-validate' },
    static_resources: {
      listeners: [
        {
          name: 'http',
          address: { socket_address: { address: '127.0.0.1', port_value: 18000 } },
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
        },
      ],
      clusters: clusterNames.map((name) => ({
        name,
        type: 'STATIC',
        load_assignment: {
          cluster_name: name,
          endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 18080 } } } }] }],
        },
      })),
    },
  };
}

async function envoyValidate(bootstrap: Obj): Promise<string | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-http-route-'));
  try {
    const file = join(dir, 'bootstrap.json');
    writeFileSync(file, JSON.stringify(bootstrap));
    await run(envoyOrThrow(), ['--mode', 'validate', '-c', file, '--log-level', 'error', '--disable-hot-restart'], { timeout: 60_000 });
    return undefined;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return (e.stderr || e.stdout || e.message).trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('real Envoy accepts a route configuration with every feature (regexes, rewrites, fault, mirror, splits)', async () => {
  const { routes } = build(kitchenSink());
  const filters = requiredHttpFilters(routes);
  assert.equal(filters, ['envoy.filters.http.fault']);
  const failure = await envoyValidate(staticBootstrap(routes, filters));
  assert.is(failure, undefined, failure);
});

test('the Envoy check is real: it rejects a regex RE2 cannot compile', async () => {
  const { routes } = build([H({ match: [M({ uri: { regex: '/(unclosed' } })] })]);
  const failure = await envoyValidate(staticBootstrap(routes, []));
  assert.ok(failure, 'Envoy accepted an invalid regex');
  assert.match(failure!, /missing \)|regex/i);
});

test.run();
