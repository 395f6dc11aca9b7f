// runner: long
// AuthorizationPolicy and RequestAuthentication on the S1 world (foo and bar
// with sidecars, legacy without), real Envoys, one world, policies applied
// live: ALLOW by namespace, DENY by path, `when` on a request header, then
// JWT (inline JWKS, jose-signed ES256 tokens) with requestPrincipals and a
// claim condition. Every 403 must be Envoy's RBAC answer and never reach
// httpbin (each request carries a probe id that httpbin logs).
// Envoys run with Istio's drain strategy; see support/e2e/authz.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expectedMatrix, type Namespace } from '../support/e2e/client.js';
import {
  authorizationPolicy,
  documents,
  HTTPBIN_SELECTOR,
  ISTIO_LIKE_DRAIN_ARGS,
  JwtIssuer,
  PolicyChecker,
  type PolicyProbe,
  requestAuthentication,
} from '../support/e2e/authz.js';
import { assertDiffMatches } from '../support/e2e/diff-check.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { describeResponse, type MeshRequestOptions } from '../support/e2e/raw-http.js';
import { startWorld } from '../support/e2e/world.js';

const ISSUER = 'https://issuer.meshlite.test';

const paths = (from: Namespace, to: Namespace, list: Record<string, string>): PolicyProbe[] =>
  Object.entries(list).map(([path, want]) => ({ from, to, path, want }));

test('S1 world, live: ALLOW by namespace, DENY by path, when on a header, RequestAuthentication + requestPrincipals + claims', async () => {
  await withProcesses('authz-policies', async (pm) => {
    const world = await startWorld(pm, { envoyArgs: ISTIO_LIKE_DRAIN_ARGS });
    const c = new PolicyChecker(world);
    const diff = (step: string) => assertDiffMatches({ ...world, proxies: world.sidecarProxies }, step);
    await c.matrix('S1, no policy', expectedMatrix());

    // ALLOW by namespace: httpbin.bar accepts only peers whose SPIFFE ID is in namespace foo.
    await c.apply(
      authorizationPolicy('bar', 'allow-foo', {
        selector: HTTPBIN_SELECTOR,
        action: 'ALLOW',
        rules: [{ from: [{ source: { namespaces: ['foo'] } }] }],
      }),
    );
    await c.matrix('ALLOW namespaces [foo] on httpbin.bar', expectedMatrix({ 'bar->bar': '403', 'legacy->bar': '403' }));
    await diff('ALLOW by namespace');

    // DENY by path on httpbin.bar (the ALLOW is gone): /admin and below, nothing else.
    await c.apply(
      authorizationPolicy('bar', 'deny-admin', {
        selector: HTTPBIN_SELECTOR,
        action: 'DENY',
        rules: [{ to: [{ operation: { paths: ['/admin', '/admin/*'] } }] }],
      }),
    );
    const admin = {
      '/admin': '403',
      '/admin/': '403',
      '/admin/users': '403',
      '/admin?x=1': '403',
      '/headers': '200',
      '/administrator': '404',
      '/x/admin': '404',
    };
    await c.expect('DENY paths [/admin, /admin/*] on httpbin.bar', [
      ...paths('foo', 'bar', admin),
      ...paths('bar', 'bar', admin),
      ...paths('legacy', 'bar', admin),
    ]);
    await c.expect('the DENY is on httpbin.bar only', paths('foo', 'foo', { '/admin': '404' }));

    // ALLOW when a request header has one of the values (httpbin.foo; the path DENY is gone).
    await c.apply(
      authorizationPolicy('foo', 'allow-users', {
        selector: HTTPBIN_SELECTOR,
        action: 'ALLOW',
        rules: [{ when: [{ key: 'request.headers[x-user]', values: ['alice', 'bob'] }] }],
      }),
    );
    const user = (from: Namespace, value: string | undefined, want: string): PolicyProbe => ({
      from,
      to: 'foo',
      path: '/headers',
      want,
      label: `x-user ${value ?? 'absent'}`,
      opts: value === undefined ? {} : { headers: { 'x-user': value } },
    });
    await c.expect('ALLOW when request.headers[x-user] in [alice, bob] on httpbin.foo', [
      user('foo', 'alice', '200'),
      user('foo', 'bob', '200'),
      user('foo', 'mallory', '403'),
      user('foo', undefined, '403'),
      user('bar', 'bob', '200'),
      user('legacy', 'alice', '200'),
      user('legacy', 'Alice', '403'),
      user('legacy', undefined, '403'),
      { from: 'foo', to: 'bar', path: '/admin', want: '404', label: 'httpbin.bar has no policy now' },
    ]);

    // JWT: RequestAuthentication alone verifies tokens that are present (invalid -> 401) but lets requests without one pass.
    const issuer = await JwtIssuer.create(ISSUER);
    const forger = await JwtIssuer.create(ISSUER); // same issuer and kid, another key: a bad signature
    const stranger = await JwtIssuer.create('https://other.meshlite.test');
    const bearer = (token: string): MeshRequestOptions => ({ headers: { authorization: `Bearer ${token}` } });
    const now = Math.floor(Date.now() / 1000);
    const tokens = {
      valid: await issuer.sign(),
      banned: await issuer.sign({ sub: 'mallory', claims: { groups: ['staff', 'banned'] } }),
      badSignature: await forger.sign(),
      wrongIssuer: await issuer.sign({ iss: 'https://other.meshlite.test' }),
      unknownIssuer: await stranger.sign(),
      expired: await issuer.sign({ exp: now - 3600 }),
    };
    const requestAuthn = requestAuthentication('foo', 'jwt', {
      selector: HTTPBIN_SELECTOR,
      jwtRules: [{ issuer: ISSUER, jwks: issuer.jwks }],
    });
    await c.apply(requestAuthn);
    const jwt = (from: Namespace, label: string, want: string, token?: string, path = '/headers'): PolicyProbe => ({
      from,
      to: 'foo',
      path,
      want,
      label,
      opts: token === undefined ? {} : bearer(token),
    });
    await c.expect('RequestAuthentication only on httpbin.foo', [
      jwt('foo', 'valid', '200', tokens.valid),
      jwt('foo', 'no token', '200'),
      jwt('foo', 'bad signature', '401', tokens.badSignature),
      jwt('legacy', 'no token', '200'),
      jwt('legacy', 'expired', '401', tokens.expired),
    ]);

    // + ALLOW requestPrincipals ["*"] (a verified token is required) and DENY a claim value.
    await c.apply(
      documents(
        requestAuthn,
        authorizationPolicy('foo', 'require-jwt', {
          selector: HTTPBIN_SELECTOR,
          action: 'ALLOW',
          rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }],
        }),
        authorizationPolicy('foo', 'deny-banned', {
          selector: HTTPBIN_SELECTOR,
          action: 'DENY',
          rules: [{ when: [{ key: 'request.auth.claims[groups]', values: ['banned'] }] }],
        }),
      ),
    );
    const jwtProbes = (from: Namespace): PolicyProbe[] => [
      jwt(from, 'valid', '200', tokens.valid),
      jwt(from, 'no token', '403'),
      jwt(from, 'bad signature', '401', tokens.badSignature),
      jwt(from, 'wrong issuer', '401', tokens.wrongIssuer),
      jwt(from, 'issuer not configured', '401', tokens.unknownIssuer),
      jwt(from, 'expired', '401', tokens.expired),
      jwt(from, 'malformed', '401', 'not.a.jwt'),
      jwt(from, 'groups claim has banned', '403', tokens.banned),
      jwt(from, 'bad signature, /headers?', '401', tokens.badSignature, '/headers?'),
      jwt(from, 'bad signature, /headers?x=1', '401', tokens.badSignature, '/headers?x=1'),
      jwt(from, 'token in ?access_token=, no header', '200', undefined, `/headers?access_token=${tokens.valid}`),
    ];
    await c.expect('ALLOW requestPrincipals [*] + DENY claims[groups]=banned on httpbin.foo', [
      ...jwtProbes('foo'),
      ...jwtProbes('bar'),
      ...jwtProbes('legacy'),
    ]);
    await c.expect('httpbin.bar needs no token', [
      { from: 'foo', to: 'bar', path: '/headers', want: '200', label: 'no token' },
      { from: 'legacy', to: 'bar', path: '/headers', want: '200', label: 'no token' },
    ]);

    // The verified token is not forwarded to the app (forwardOriginalToken is false); the caller's identity still is.
    const forwarded = await c.call('foo', 'foo', '/headers', bearer(tokens.valid));
    assert.is(forwarded.code, '200', describeResponse(forwarded));
    const seenHeaders = Object.keys((JSON.parse(forwarded.body) as { headers: Record<string, string> }).headers).map((h) =>
      h.toLowerCase(),
    );
    assert.not.ok(seenHeaders.includes('authorization'), `httpbin must not see the token: ${seenHeaders.join(', ')}`);
    assert.ok(seenHeaders.includes('x-forwarded-client-cert'), 'foo->foo is still mutual TLS');
    await diff('JWT');

    await c.apply(undefined);
    await c.matrix('all policies removed', expectedMatrix());
  });
});

test.run();
