// The offline RBAC evaluator on the examples' real translations (in config_dump
// shape, as `meshlite generate` prints them): each matcher kind meshlite
// emits, ALLOW, DENY, AUDIT and dry-run filters, and fail-closed answers for
// what it cannot evaluate.
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { httpConnectionManager, networkFiltersOf, routeConfigOf } from '../../src/inspect/dump-index.js';
import { chooseFilterChain } from '../../src/inspect/filter-chain-choice.js';
import { inboundListenerFor } from '../../src/inspect/inbound-listeners.js';
import { evaluateHttpFilters, evaluateNetworkFilters, type RequestFacts } from '../../src/inspect/rbac-evaluator.js';
import { uriTemplateRegex } from '../../src/inspect/rbac-matchers.js';
import { canonicalPath, normalizeRequest } from '../../src/inspect/request-normalization.js';
import { perFilterConfigFor } from '../../src/inspect/route-match.js';
import { re2FullMatch } from '../../src/inspect/string-matcher.js';
import { dumpProxyConfig } from '../../src/translate/proxy-config-dump.js';
import { exampleMesh } from '../support/fixtures/index.js';

type Obj = Record<string, any>;
const SPIFFE = (ns: string, sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;

function dumpOf(example: string, proxy: string): unknown {
  const r = dumpProxyConfig(exampleMesh(example), proxy);
  if (!r.ok) throw new Error(r.error);
  return r.dump;
}

/** The inbound chain a sidecar client (mTLS, ALPN istio) or a plaintext client reaches on `port`. */
function chainOf(dump: unknown, port: number, tls: boolean): Obj {
  const listener = inboundListenerFor(dump, port);
  assert.ok(listener, `an inbound listener for ${port}`);
  const choice = chooseFilterChain(listener!, { destinationIp: '', destinationPort: port, tls, alpn: tls ? ['istio'] : [] });
  assert.ok(choice.kind === 'chain', `a chain for ${tls ? 'mTLS' : 'plaintext'} on ${port}`);
  return choice.chain;
}

function http(example: string, proxy: string, port: number, facts: Partial<RequestFacts> = {}, tls = true) {
  const dump = dumpOf(example, proxy);
  const hcm = httpConnectionManager(chainOf(dump, port, tls))!;
  assert.ok(hcm, 'an HTTP chain');
  const f: RequestFacts = { destinationPort: port, ...facts };
  const perFilterConfig = perFilterConfigFor(routeConfigOf(dump, hcm)!, f.host ?? 'svc', f.path ?? '/');
  return evaluateHttpFilters(hcm.http_filters as unknown[], f, { perFilterConfig });
}

test('s5: the DENY rule on principal and method (authenticated.principal_name, header :method)', () => {
  const sleepFull = { peerPrincipal: SPIFFE('full', 'sleep'), sourceIp: '127.0.5.3' };
  const denied = http('s5-authz-principal', 'httpbin.mtls-test', 80, { ...sleepFull, method: 'GET' });
  assert.is(denied.verdict, 'deny');
  assert.equal(denied.decidedBy, {
    filter: 'meshlite.rbac.deny',
    action: 'DENY',
    policy: 'ns[mtls-test]-policy[deny-full-sleep-get]-rule[0]',
  });
  assert.is(denied.reason, 'denied by DENY policy ns[mtls-test]-policy[deny-full-sleep-get]-rule[0]');
  assert.is(http('s5-authz-principal', 'httpbin.mtls-test', 80, { ...sleepFull, method: 'POST' }).verdict, 'allow');
  const other = http('s5-authz-principal', 'httpbin.mtls-test', 80, { peerPrincipal: SPIFFE('mtls-test', 'sleep') });
  assert.is(other.verdict, 'allow');
  assert.is(other.reason, 'allowed: no DENY policy matched');
  // STRICT: no plaintext chain at all.
  const strict = inboundListenerFor(dumpOf('s5-authz-principal', 'httpbin.mtls-test'), 80)!;
  assert.is(chooseFilterChain(strict, { destinationIp: '', destinationPort: 80, tls: false, alpn: [] }).kind, 'none');
});

test('authz-fields: path templates (uri_template), service accounts, not_id, DENY before ALLOW', () => {
  const frontDesk = { peerPrincipal: SPIFFE('library', 'front-desk') };
  const members = { peerPrincipal: SPIFFE('library', 'members') };
  const run = (facts: Partial<RequestFacts>) => http('authz-fields', 'catalog.library', 8080, facts);
  assert.is(run({ ...frontDesk, path: '/books/42' }).verdict, 'allow');
  assert.is(run({ ...frontDesk, path: '/books/42?x=1' }).verdict, 'allow', 'the query is not part of the path');
  assert.is(run({ ...frontDesk, path: '/books/42/copies/a/b' }).verdict, 'allow', '** takes several segments');
  const extra = run({ ...frontDesk, path: '/books/42/extra' });
  assert.is(extra.reason, 'no ALLOW policy matched');
  assert.equal(extra.candidates, ['ns[library]-policy[catalog-readers]-rule[0]']);
  assert.is(run({ ...frontDesk, path: '/books/42', method: 'POST' }).verdict, 'deny');
  assert.is(run({ peerPrincipal: SPIFFE('library', 'stranger'), path: '/books/42' }).verdict, 'deny');
  assert.is(run({ path: '/books/42' }).verdict, 'deny', 'no client certificate: no service account');
  // The drafts DENY applies to everyone but front-desk (notServiceAccounts -> not_id).
  const drafts = run({ ...members, path: '/books/7/drafts' });
  assert.is(drafts.verdict, 'deny');
  assert.is(drafts.decidedBy?.policy, 'ns[library]-policy[catalog-drafts]-rule[0]');
  assert.is(run({ ...frontDesk, path: '/books/7/drafts' }).reason, 'no ALLOW policy matched');
});

test('request principals and claims (metadata of jwt_authn, list values)', () => {
  const run = (jwtPayload?: Record<string, unknown>) => http('authz-fields', 'members.library', 8080, jwtPayload ? { jwtPayload } : {});
  const iss = 'https://accounts.library.test';
  assert.is(run({ iss, sub: 'patron-17' }).verdict, 'allow');
  assert.is(run({ iss, sub: 'patron-suspended' }).verdict, 'deny');
  assert.is(run({ iss: 'https://other.test', sub: 'patron-17' }).verdict, 'deny');
  assert.is(run().verdict, 'deny', 'no token');

  const bar = (facts: Partial<RequestFacts>) => http('authz-policy-kinds', 'httpbin.bar', 80, facts);
  const good: Partial<RequestFacts> = {
    peerPrincipal: SPIFFE('foo', 'sleep'),
    headers: { 'x-user': 'bob' },
    jwtPayload: { iss: 'https://idp.example.com', sub: 'u1', groups: ['writers', 'readers'] },
  };
  assert.is(bar(good).verdict, 'allow');
  assert.is(bar({ ...good, jwtPayload: { ...good.jwtPayload, groups: 'readers' } }).verdict, 'allow', 'a string claim');
  assert.is(bar({ ...good, jwtPayload: { ...good.jwtPayload, groups: ['writers'] } }).verdict, 'deny');
  assert.is(bar({ ...good, headers: { 'x-user': 'carol' } }).verdict, 'deny');
  assert.is(bar({ ...good, peerPrincipal: SPIFFE('bar', 'sleep') }).verdict, 'deny', 'namespaces: safe_regex on the SAN');
  const admin = bar({ ...good, path: '/admin/x' });
  assert.is(admin.decidedBy?.policy, 'ns[bar]-policy[deny-admin]-rule[0]', 'destination_port and url_path prefix');
  assert.is(bar({ ...good, path: '/admin;v=1' }).verdict, 'deny', 'path parameters: the safe_regex variant');
  assert.is(bar({ ...good, path: '/administrator' }).verdict, 'allow');
});

test('authz-policy-kinds: an ALLOW with no rules denies all; AUDIT never decides', () => {
  const denied = http('authz-policy-kinds', 'httpbin.foo', 80, { peerPrincipal: SPIFFE('foo', 'sleep'), headers: { 'x-debug': '1' } });
  assert.is(denied.verdict, 'deny');
  assert.is(denied.reason, 'an ALLOW filter without policies denies all');
});

test('dry run: shadow rules are reported and never decide', () => {
  const run = (facts: Partial<RequestFacts>) => http('authz-dry-run', 'orders.shop', 8080, facts);
  const shop = SPIFFE('shop', 'frontend');
  const admin = run({ peerPrincipal: shop, path: '/admin/users', method: 'DELETE' });
  assert.is(admin.verdict, 'allow');
  assert.is(admin.decidedBy?.policy, 'ns[shop]-policy[orders-from-shop]-rule[0]');
  assert.equal(admin.shadow, [
    { action: 'DENY', policy: 'ns[shop]-policy[orders-no-admin]-rule[0]', wouldDeny: true },
    { action: 'ALLOW', policy: 'ns[shop]-policy[orders-read-only]-rule[1]', wouldDeny: false },
  ]);
  const other = run({ peerPrincipal: SPIFFE('shop', 'cart'), path: '/', method: 'POST' });
  assert.is(other.verdict, 'allow');
  assert.equal(other.shadow, [
    { action: 'DENY', wouldDeny: false },
    { action: 'ALLOW', wouldDeny: true },
  ]);
  assert.is(run({ peerPrincipal: SPIFFE('web', 'x') }).verdict, 'deny', 'the enforced ALLOW still decides');
});

test('network RBAC on TCP chains: principals and shadow rules', () => {
  const echo = dumpOf('authz-policy-kinds', 'echo.bar');
  const filters = networkFiltersOf(chainOf(echo, 9000, true));
  const fromFoo = evaluateNetworkFilters(filters, { destinationPort: 9000, peerPrincipal: SPIFFE('foo', 'sleep') });
  assert.is(fromFoo.verdict, 'deny');
  assert.is(fromFoo.decidedBy?.policy, 'ns[bar]-policy[echo-deny-foo]-rule[0]');
  assert.is(evaluateNetworkFilters(filters, { destinationPort: 9000, peerPrincipal: SPIFFE('bar', 'sleep') }).verdict, 'allow');
  // The GET-only rule is HTTP-only: on TCP it is dropped, so another peer is not allowed.
  assert.is(evaluateNetworkFilters(filters, { destinationPort: 9000, peerPrincipal: SPIFFE('baz', 'x') }).verdict, 'deny');

  const ledger = networkFiltersOf(chainOf(dumpOf('authz-dry-run', 'ledger.shop'), 7000, true));
  const r = evaluateNetworkFilters(ledger, { destinationPort: 7000, peerPrincipal: SPIFFE('shop', 'web') });
  assert.is(r.verdict, 'allow');
  assert.equal(r.shadow, [{ action: 'DENY', policy: 'ns[shop]-policy[ledger-only-orders]-rule[0]', wouldDeny: true }]);
});

const rbac = (rules: Obj, extra: Obj = {}) => ({
  name: 'envoy.filters.http.rbac',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC', rules, ...extra },
});
const policy = (permissions: Obj[], principals: Obj[] = [{ any: true }]) => ({ permissions, principals });
const facts: RequestFacts = { destinationPort: 8080, sourceIp: '10.1.2.3', destinationIp: '10.9.0.1', serverName: 'api.test' };
const decide = (permissions: Obj[], f: Partial<RequestFacts> = {}, principals?: Obj[]) =>
  evaluateHttpFilters([rbac({ action: 'DENY', policies: { p: policy(permissions, principals) } })], { ...facts, ...f }).verdict;

test('matchers built by hand: CIDRs, ports, SNI, headers, string forms', () => {
  assert.is(decide([{ any: true }], {}, [{ direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } }]), 'deny');
  assert.is(decide([{ any: true }], {}, [{ remote_ip: { address_prefix: '10.1.3.0', prefix_len: 24 } }]), 'allow');
  assert.is(
    decide([{ any: true }], { sourceIp: '2001:db8::5' }, [{ remote_ip: { address_prefix: '2001:db8::', prefix_len: 32 } }]),
    'deny',
  );
  assert.is(decide([{ destination_ip: { address_prefix: '10.9.0.1', prefix_len: 32 } }]), 'deny');
  assert.is(decide([{ destination_port_range: { start: 8000, end: 8080 } }]), 'allow', 'the end is exclusive');
  assert.is(decide([{ requested_server_name: { suffix: '.TEST', ignore_case: true } }]), 'deny');
  assert.is(decide([{ header: { name: 'x-a', present_match: true, invert_match: true } }]), 'deny', 'missing, inverted presence');
  assert.is(decide([{ header: { name: 'x-a', string_match: { exact: 'v' }, invert_match: true } }]), 'allow', 'missing: no match');
  assert.is(decide([{ header: { name: 'x-a', string_match: { contains: 'b' } } }], { headers: { 'x-a': 'abc' } }), 'deny');
  assert.is(decide([{ header: { name: 'x-a', string_match: { exact: 'v' }, invert_match: true } }], { headers: { 'x-a': 'w' } }), 'deny');
  assert.is(
    decide([{ header: { name: ':authority', string_match: { safe_regex: { regex: '(?i).*\\.test:[0-9]+' } } } }], { host: 'A.TEST:80' }),
    'deny',
  );
  assert.is(decide([{ not_rule: { url_path: { path: { prefix: '/a' } } } }], { path: '/b' }), 'deny');
  assert.is(decide([{ and_rules: { rules: [{ any: true }, { destination_port: 1 }] } }]), 'allow');
});

test('what cannot be evaluated denies, and says so', () => {
  const unknown = evaluateHttpFilters([rbac({ action: 'DENY', policies: { p: policy([{ filter_state: { key: 'k' } }]) } })], facts);
  assert.is(unknown.verdict, 'deny');
  assert.match(unknown.reason, /cannot evaluate .*unknown permission matcher "filter_state"/);
  assert.ok(unknown.undetermined);
  const allow = evaluateHttpFilters([rbac({ policies: { p: policy([{ any: true }], [{ custom: {} }]) } })], facts);
  assert.is(allow.verdict, 'deny', 'an ALLOW that cannot be evaluated fails closed too');
  const lookahead = evaluateHttpFilters(
    [rbac({ action: 'DENY', policies: { p: policy([{ url_path: { path: { safe_regex: { regex: '\\C' } } } }]) } })],
    facts,
  );
  assert.is(lookahead.verdict, 'deny');
  const ecds = evaluateHttpFilters([{ name: 'envoy.filters.http.rbac', config_discovery: {} }], facts);
  assert.is(ecds.verdict, 'deny');
  assert.is(evaluateHttpFilters([], facts).reason, 'allowed: no RBAC filter enforces a policy on this chain');
});

test('RE2 and URI template translation', () => {
  assert.ok(re2FullMatch('.*/ns/foo/.*').test('spiffe://td/ns/foo/sa/x'));
  assert.not.ok(re2FullMatch('abc').test('xabcx'), 'full match');
  assert.ok(re2FullMatch('(?i)abc').test('ABC'));
  assert.throws(() => re2FullMatch('(?P<n>a)'));
  const t = uriTemplateRegex('/books/*/copies/**', 'test');
  assert.ok(t.test('/books/1/copies/'));
  assert.ok(t.test('/books/1/copies/a/b'));
  assert.not.ok(t.test('/books/1/copies'));
  assert.not.ok(t.test('/books//copies/a'));
});

test('any JSON as a matcher: never a crash, and what cannot be read denies', () => {
  const junk = fc.oneof(
    fc.jsonValue(),
    fc.record({ header: fc.jsonValue() }),
    fc.record({ url_path: fc.record({ path: fc.jsonValue() }) }),
    fc.record({ direct_remote_ip: fc.record({ address_prefix: fc.constantFrom('10.0.0.0', '::1', 'x'), prefix_len: fc.jsonValue() }) }),
    fc.record({ metadata: fc.record({ filter: fc.string(), path: fc.jsonValue(), value: fc.jsonValue() }) }),
    fc.record({ and_rules: fc.record({ rules: fc.array(fc.jsonValue()) }) }),
  );
  fc.assert(
    fc.property(junk, fc.boolean(), (m, deny) => {
      const rules = { ...(deny ? { action: 'DENY' } : {}), policies: { p: policy([m as Obj]) } };
      const d = evaluateHttpFilters([rbac(rules)], { ...facts, headers: { 'x-a': '1' }, jwtPayload: { a: [1, 'b'] } });
      assert.ok(d.verdict === 'allow' || d.verdict === 'deny');
      if (d.undetermined) assert.is(d.verdict, 'deny');
    }),
    { numRuns: 500 },
  );
});

test('the request as the enforcing HCM hands it to RBAC: escaped slashes, dot segments, merged slashes, host dot', () => {
  const hcm = {
    normalize_path: true,
    merge_slashes: true,
    path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD',
    strip_trailing_host_dot: true,
  };
  const seen = (path: string, host?: string) => normalizeRequest(hcm, { path, ...(host ? { host } : {}) });
  assert.equal(seen('/x/../admin/y?next=/a/../b', 'Secret.com.:80'), { path: '/admin/y?next=/a/../b', host: 'Secret.com:80' });
  assert.is(seen('/api/..%2Fadmin//x').path, '/admin/x');
  assert.is(seen('/%61dmin/%7e/%3b').path, '/admin/~/%3B');
  assert.is(seen('/../..').path, '/');
  assert.is(canonicalPath('/a/./b/.'), '/a/b/');
  assert.equal(normalizeRequest({}, { path: '/x/../admin' }), { path: '/x/../admin' }, 'an HCM without hygiene changes nothing');
});

test.run();
