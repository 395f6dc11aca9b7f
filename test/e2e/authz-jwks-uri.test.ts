// RequestAuthentication with a jwksUri, end to end: meshlite fetches the JWKS
// from an identity provider (a loopback HTTP server here), inlines it for
// Envoy, follows a key rotation without any config change, and keeps the last
// good document when the provider fails.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  authorizationPolicy,
  documents,
  HTTPBIN_SELECTOR,
  ISTIO_LIKE_DRAIN_ARGS,
  JwtIssuer,
  PolicyChecker,
  requestAuthentication,
} from '../support/e2e/authz.js';
import { adminJson } from '../support/e2e/meshlite.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { startWorld } from '../support/e2e/world.js';

const ISSUER = 'https://idp.meshlite.test';

test('jwksUri: fetched and inlined, a rotated key is followed without a config change, the last good JWKS survives an outage', async () => {
  const first = await JwtIssuer.create(ISSUER, 'key-1');
  const second = await JwtIssuer.create(ISSUER, 'key-2');
  let served: { status: number; body: string } = { status: 200, body: first.jwks };
  const idp = createServer((_req, res) => {
    res.writeHead(served.status, { 'content-type': 'application/json' });
    res.end(served.body);
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  const jwksUri = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/.well-known/jwks.json`;
  try {
    await withProcesses('authz-jwks-uri', async (pm) => {
      // jwt_authn providers live in the listener: Istio's drain flags let old filter chains go at once.
      const world = await startWorld(pm, { jwksRefresh: '1s', envoyArgs: ISTIO_LIKE_DRAIN_ARGS });
      const c = new PolicyChecker(world);
      await c.apply(
        documents(
          requestAuthentication('foo', 'jwt', { selector: HTTPBIN_SELECTOR, jwtRules: [{ issuer: ISSUER, jwksUri }] }),
          authorizationPolicy('foo', 'require-jwt', {
            selector: HTTPBIN_SELECTOR,
            rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }],
          }),
        ),
      );
      const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
      const [tokenOne, tokenTwo] = [await first.sign(), await second.sign()];
      await c.expect('JWKS fetched from the jwksUri', [
        { from: 'bar', to: 'foo', path: '/headers', want: '200', label: 'key-1 token', opts: bearer(tokenOne) },
        { from: 'bar', to: 'foo', path: '/headers', want: '401', label: 'key-2 token (not published yet)', opts: bearer(tokenTwo) },
        { from: 'bar', to: 'foo', path: '/headers', want: '403', label: 'no token' },
      ]);
      const report = await adminJson<Record<string, { requestAuthentications: { issuers: { jwks: string; available: boolean }[] }[] }>>(
        world.meshlite.adminUrl,
        '/debug/authorizationz?proxy=httpbin.foo',
      );
      assert.equal(report['httpbin.foo']!.requestAuthentications[0]!.issuers, [{ issuer: ISSUER, jwks: jwksUri, available: true }]);

      // The provider rotates its key: meshlite's next fetch picks it up and pushes it, with no config edit.
      served = { status: 200, body: second.jwks };
      const deadline = Date.now() + 20_000;
      for (;;) {
        const r = await c.call('bar', 'foo', '/headers', bearer(tokenTwo));
        if (r.code === '200') break;
        if (Date.now() > deadline) assert.unreachable(`the rotated key was not followed: still ${r.code}`);
        await sleep(200);
      }
      await c.expect('after the rotation', [
        { from: 'bar', to: 'foo', path: '/headers', want: '200', label: 'key-2 token', opts: bearer(tokenTwo) },
        { from: 'bar', to: 'foo', path: '/headers', want: '401', label: 'key-1 token (key withdrawn)', opts: bearer(tokenOne) },
      ]);

      // The provider breaks: the last good document stays in force.
      served = { status: 500, body: 'oops' };
      await world.meshlite.process.waitForLog(/JWKS fetch failed/, 10_000);
      await c.expect('provider failing', [
        { from: 'bar', to: 'foo', path: '/headers', want: '200', label: 'key-2 token', opts: bearer(tokenTwo) },
      ]);
      assert.not.match(world.meshlite.logs(), /"d":"/, 'no private key material in the logs');
    });
  } finally {
    idp.close();
  }
});

test.run();
