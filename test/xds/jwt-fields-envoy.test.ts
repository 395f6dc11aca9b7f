// RequestAuthentication fields and legacy Policy origins against real Envoy:
// config text is loaded as users write it, translated by authzFilters into the
// HCM of a static bootstrap, and requests go through Envoy to an httpbin that
// echoes the headers it received.

import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConfigSet } from '../../src/config/types.js';
import type { AuthzView } from '../../src/model/view-types.js';
import { authzFilters } from '../../src/xds/authz-filters.js';

import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { configOf, documentText } from '../support/fixtures/index.js';
import { REPO_ROOT } from '../support/paths.js';
import { authzHttpListener, startAppEnvoy } from '../support/authz-http-listener.js';

type Obj = Record<string, any>;
const HTTPBIN = join(REPO_ROOT, 'dist/test/support/apps/httpbin.js');
const LOOPBACK = loopbackAddress('xds/jwt-fields-envoy.test.ts');
const APP_PORT = 8000;
const PORTS = { fields: 10000, legacy: 10001 } as const;
const JWKS_URI = 'https://idp.example/jwks';

async function issuer(iss: string, kid: string) {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] });
  const sign = (claims: Obj = {}) =>
    new SignJWT({ sub: 'alice', org: { team: 'payments' }, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(iss)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
  return { jwks, sign };
}

function view(config: ConfigSet, jwks: Record<string, string>): AuthzView {
  return {
    key: 'test',
    authorizationPolicies: config.authorizationPolicies,
    requestAuthentications: config.requestAuthentications,
    trustDomains: ['cluster.local'],
    providers: [],
    jwks,
  };
}

function httpListener(name: string, port: number, authz: AuthzView): Obj {
  const built = authzFilters(authz);
  assert.equal(built.warnings.http, [], name);
  return authzHttpListener(name, LOOPBACK, port, built);
}

/** Status and (for 200s from /headers) the lower-cased headers the app received. */
async function call(port: number, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`http://${LOOPBACK}:${port}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  const received: Record<string, string> = {};
  if (res.status === 200 && path === '/headers') {
    for (const [k, v] of Object.entries((JSON.parse(text) as { headers: Record<string, string> }).headers)) received[k.toLowerCase()] = v;
  }
  return { status: res.status, received };
}

const FIELDS_YAML = (jwksA: string, jwksB: string) =>
  documentText(
    'RequestAuthentication',
    'foo/fields',
    `  jwtRules:
  - issuer: https://a.example
    jwks: '${jwksA}'
    fromCookies: [session]
    fromHeaders: [{name: authorization, prefix: "Bearer "}]
    forwardOriginalToken: true
    outputClaimToHeaders:
    - {header: X-User, claim: sub}
    - {header: x-team, claim: org.team}
  - issuer: https://b.example
    jwks: '${jwksB}'
`,
  );

const LEGACY_YAML = documentText(
  'Policy',
  'foo/books',
  `  origins:
  - jwt:
      issuer: https://a.example
      jwksUri: ${JWKS_URI}
      triggerRules:
      - excludedPaths: [{exact: /ip}]
  principalBinding: USE_ORIGIN
`,
);

test('real Envoy: cookie tokens, claims (nested too) as headers, forwardOriginalToken, legacy origins', async () => {
  const a = await issuer('https://a.example', 'ka');
  const b = await issuer('https://b.example', 'kb');
  const forger = await issuer('https://a.example', 'ka');
  const fields = configOf(FIELDS_YAML(a.jwks, b.jwks));
  const legacy = configOf(LEGACY_YAML);
  assert.equal(
    [...legacy.requestAuthentications, ...legacy.authorizationPolicies].map((r) => `${r.kind} ${r.meta.name}`),
    ['RequestAuthentication books-origins', 'AuthorizationPolicy books-origins'],
  );
  await withProcesses('jwt-fields-envoy', async (pm) => {
    const app = pm.start('httpbin', process.execPath, [HTTPBIN, LOOPBACK, String(APP_PORT)]);
    await app.waitForLog(/httpbin listening/);
    await startAppEnvoy(pm, 'jwt-fields', {
      address: LOOPBACK,
      app: { address: LOOPBACK, port: APP_PORT },
      listeners: [
        httpListener('fields', PORTS.fields, view(fields, {})),
        httpListener('legacy', PORTS.legacy, view(legacy, { [JWKS_URI]: a.jwks })),
      ],
    });

    // fromCookies: the token in the `session` cookie is verified; claims become headers.
    const tokenA = await a.sign();
    const cookie = await call(PORTS.fields, '/headers', { cookie: `theme=dark; session=${tokenA}` });
    assert.is(cookie.status, 200, 'a valid token in the cookie');
    assert.is(cookie.received['x-user'], 'alice', 'claim sub -> X-User');
    assert.is(cookie.received['x-team'], 'payments', 'nested claim org.team -> x-team');
    assert.is((await call(PORTS.fields, '/headers', { cookie: `session=${await forger.sign()}` })).status, 401, 'a forged cookie token');
    // A client cannot pose as someone by sending the claim header itself.
    const spoof = await call(PORTS.fields, '/headers', { cookie: `session=${tokenA}`, 'x-user': 'mallory' });
    assert.is(spoof.received['x-user'], 'alice', 'the claim header replaces what the client sent');

    // forwardOriginalToken: issuer a keeps the Authorization header upstream, issuer b (default) strips it.
    const forwarded = await call(PORTS.fields, '/headers', { authorization: `Bearer ${tokenA}` });
    assert.is(forwarded.status, 200);
    assert.is(forwarded.received.authorization, `Bearer ${tokenA}`, 'forwardOriginalToken keeps the token');
    const stripped = await call(PORTS.fields, '/headers', { authorization: `Bearer ${await b.sign()}` });
    assert.is(stripped.status, 200);
    assert.is(stripped.received.authorization, undefined, 'without forwardOriginalToken the token is removed');
    assert.is(stripped.received['x-user'], undefined, 'issuer b has no claim headers');

    // Legacy origins: a token is required (except on the excluded /ip), a bad one is refused.
    assert.is((await call(PORTS.legacy, '/headers')).status, 403, 'no token: denied by the converted DENY policy');
    assert.is((await call(PORTS.legacy, '/ip')).status, 200, 'an excluded trigger path needs no token');
    assert.is((await call(PORTS.legacy, '/headers', { authorization: `Bearer ${tokenA}` })).status, 200, 'a valid token');
    assert.is((await call(PORTS.legacy, '/headers', { authorization: `Bearer ${await forger.sign()}` })).status, 401, 'a forged token');
    assert.is((await call(PORTS.legacy, '/headers?x=1', { authorization: 'Bearer nonsense' })).status, 401, 'a malformed token');
  });
});

test.run();
