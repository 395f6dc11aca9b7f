import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { JwtRule, RequestAuthentication } from '../../src/config/authz-types.js';
import { canonicalJson, type Json } from '../../src/proto/proto-json.js';
import { buildJwtAuthnFilter, FAIL_CLOSED_JWKS, JWT_AUTHN_TYPE_URL, jwksFrom, jwksProblem } from '../../src/xds/jwt-authn.js';
import { envoyOrThrow } from '../support/envoy-binary.js';
import { authz } from '../support/fixtures/index.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';

type Obj = Record<string, any>;
const run = promisify(execFile);
const JWKS_A =
  '{"keys":[{"kty":"EC","crv":"P-256","kid":"a","x":"onFRiccxMO1LewSLLz3PGdSBXRb3C9OX7DdLp_vLgEg","y":"NvM3HVuBuetn08PKvQ37pu_H0cvHABMYkQnIJh0f0qs"}]}';
const JWKS_B = JWKS_A.replace('"kid":"a"', '"kid":"b"');
const ENVOY_ADDRESS = loopbackAddress('xds/jwt-authn.test.ts');
const LISTENER_PORT = 10000;
const ADMIN_PORT = 9901;

/** A RequestAuthentication of namespace foo. */
const requestAuthn = (name: string, ...jwtRules: JwtRule[]): RequestAuthentication =>
  authz.requestAuthentication(`foo/${name}`, ...jwtRules);

const inline = jwksFrom(() => undefined);
const build = (...policies: RequestAuthentication[]) => buildJwtAuthnFilter(policies, inline);

const providersOf = (filter: Obj | undefined): Obj => (filter as Obj).typed_config.providers as Obj;

function checkProto(filter: Obj | undefined): void {
  const config = filter!.typed_config as Obj;
  const { '@type': type, ...fields } = config;
  assert.is(type, JWT_AUTHN_TYPE_URL);
  const canonical = canonicalJson('envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication', fields as Json);
  assert.equal(canonical, fields, 'the config is already canonical proto3 JSON');
}

test('no rules: no filter', () => {
  assert.equal(build(), { warnings: [] });
  assert.equal(build(requestAuthn('empty')), { warnings: [] });
});

test('one issuer: exact JSON', () => {
  const { filter, warnings } = build(requestAuthn('one', authz.jwtRule('https://a.example', { jwks: JWKS_A, audiences: ['svc'] })));
  assert.equal(warnings, []);
  assert.equal(filter, {
    name: 'envoy.filters.http.jwt_authn',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
      providers: {
        'origins-0': {
          issuer: 'https://a.example',
          audiences: ['svc'],
          local_jwks: { inline_string: JWKS_A },
          payload_in_metadata: 'payload',
        },
      },
      rules: [
        {
          match: { prefix: '/' },
          requires: { requires_any: { requirements: [{ provider_name: 'origins-0' }, { allow_missing: {} }] } },
        },
      ],
      bypass_cors_preflight: true,
    },
  });
  checkProto(filter);
});

test('two issuers across policies: sorted by issuer, origins-<i>, deterministic', () => {
  const p1 = requestAuthn('p1', authz.jwtRule('https://z.example', { jwks: JWKS_B }));
  const p2 = requestAuthn('p2', authz.jwtRule('https://a.example', { jwks: JWKS_A }));
  const { filter, warnings } = build(p1, p2);
  assert.equal(warnings, []);
  assert.equal(filter!.typed_config, {
    '@type': JWT_AUTHN_TYPE_URL,
    providers: {
      'origins-0': { issuer: 'https://a.example', local_jwks: { inline_string: JWKS_A }, payload_in_metadata: 'payload' },
      'origins-1': { issuer: 'https://z.example', local_jwks: { inline_string: JWKS_B }, payload_in_metadata: 'payload' },
    },
    rules: [
      {
        match: { prefix: '/' },
        requires: {
          requires_any: { requirements: [{ provider_name: 'origins-0' }, { provider_name: 'origins-1' }, { allow_missing: {} }] },
        },
      },
    ],
    bypass_cors_preflight: true,
  });
  assert.equal(JSON.stringify(build(p2, p1)), JSON.stringify({ filter, warnings }), 'input order does not matter');
  checkProto(filter);
});

test('headers, params, cookies, forward, payload header, claim headers', () => {
  const { filter, warnings } = build(
    requestAuthn(
      'custom',
      authz.jwtRule('iss', {
        jwks: JWKS_A,
        audiences: ['a1', 'a2'],
        fromHeaders: [{ name: 'x-jwt' }, { name: 'authorization', prefix: 'Token ' }],
        fromParams: ['token'],
        fromCookies: ['session'],
        forwardOriginalToken: true,
        outputPayloadToHeader: 'x-jwt-payload',
        outputClaimToHeaders: [
          { header: 'x-sub', claim: 'sub' },
          { header: 'x-group', claim: 'groups' },
        ],
      }),
    ),
  );
  assert.equal(warnings, []);
  assert.equal(providersOf(filter)['origins-0'], {
    issuer: 'iss',
    audiences: ['a1', 'a2'],
    local_jwks: { inline_string: JWKS_A },
    forward: true,
    from_headers: [{ name: 'x-jwt' }, { name: 'authorization', value_prefix: 'Token ' }],
    from_params: ['token'],
    from_cookies: ['session'],
    forward_payload_header: 'x-jwt-payload',
    payload_in_metadata: 'payload',
    claim_to_headers: [
      { header_name: 'x-sub', claim_name: 'sub' },
      { header_name: 'x-group', claim_name: 'groups' },
    ],
  });
  checkProto(filter);
});

test('jwksUri: the fetched document is inlined', () => {
  const fetched = new Map([['https://idp/jwks', JWKS_B]]);
  const { filter, warnings } = buildJwtAuthnFilter(
    [requestAuthn('uri', authz.jwtRule('iss', { jwksUri: 'https://idp/jwks' }))],
    jwksFrom((u) => fetched.get(u)),
  );
  assert.equal(warnings, []);
  assert.equal(providersOf(filter)['origins-0'].local_jwks, { inline_string: JWKS_B });
});

test('JWKS unavailable or unusable: provider kept with a JWKS that verifies nothing, and a warning', () => {
  const { filter, warnings } = build(
    requestAuthn(
      'bad',
      authz.jwtRule('https://b.example', { jwksUri: 'https://idp/jwks' }),
      authz.jwtRule('https://c.example', { jwks: 'nope' }),
      authz.jwtRule('https://d.example', { jwks: '{"keys":[]}' }),
      authz.jwtRule('https://e.example'),
    ),
    requestAuthn('good', authz.jwtRule('https://a.example', { jwks: JWKS_A })),
  );
  const providers = providersOf(filter) as Obj;
  assert.equal(Object.keys(providers), ['origins-0', 'origins-1', 'origins-2', 'origins-3', 'origins-4']);
  assert.is(providers['origins-0'].local_jwks.inline_string, JWKS_A);
  for (const i of [1, 2, 3, 4]) assert.is(providers[`origins-${i}`].local_jwks.inline_string, FAIL_CLOSED_JWKS);
  assert.is(jwksProblem(FAIL_CLOSED_JWKS), undefined);
  assert.equal(warnings, [
    'RequestAuthentication foo/bad jwtRules[0] (issuer "https://b.example"): JWKS from jwksUri https://idp/jwks is not available; its tokens will be rejected',
    'RequestAuthentication foo/bad jwtRules[1] (issuer "https://c.example"): JWKS from inline jwks is not valid JSON; its tokens will be rejected',
    'RequestAuthentication foo/bad jwtRules[2] (issuer "https://d.example"): JWKS from inline jwks has no keys; its tokens will be rejected',
    'RequestAuthentication foo/bad jwtRules[3] (issuer "https://e.example"): neither jwks nor jwksUri is set; its tokens will be rejected',
  ]);
  checkProto(filter);
});

// ---- real Envoy -----------------------------------------------------------

function bootstrap(filter: Obj, port: number, adminPort: number): Obj {
  return {
    admin: { address: { socket_address: { address: ENVOY_ADDRESS, port_value: adminPort } } },
    static_resources: {
      listeners: [
        {
          name: 'http',
          address: { socket_address: { address: ENVOY_ADDRESS, port_value: port } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'http',
                    route_config: {
                      virtual_hosts: [
                        {
                          name: 'all',
                          domains: ['*'],
                          routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'ok' } } }],
                        },
                      ],
                    },
                    http_filters: [
                      filter,
                      {
                        name: 'envoy.filters.http.router',
                        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    },
  };
}

async function signer(issuer: string, kid: string): Promise<{ jwks: string; sign: (iss?: string) => Promise<string> }> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] });
  const sign = (iss = issuer) =>
    new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(iss)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
  return { jwks, sign };
}

test('real Envoy validates the filter (envoy --mode validate)', async () => {
  const envoy = envoyOrThrow();
  const { filter } = build(
    requestAuthn(
      'v',
      authz.jwtRule('https://a.example', {
        jwks: JWKS_A,
        fromHeaders: [{ name: 'x-jwt' }],
        forwardOriginalToken: true,
        outputPayloadToHeader: 'x-payload',
        outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }],
      }),
      authz.jwtRule('https://b.example'),
    ),
  );
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-jwt-'));
  try {
    const file = join(dir, 'bootstrap.json');
    writeFileSync(file, JSON.stringify(bootstrap(filter!, 10000, 10001)));
    await run(envoy, ['--mode', 'validate', '-c', file, '--log-level', 'error', '--disable-hot-restart'], { timeout: 60_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function waitReady(adminPort: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Envoy exited: ${log().slice(-2000)}`);
    try {
      const res = await fetch(`http://${ENVOY_ADDRESS}:${adminPort}/ready`);
      if (res.ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Envoy not ready: ${log().slice(-2000)}`);
}

test('real Envoy enforces it: valid 200, bad signature 401, wrong issuer 401, no token 200, unavailable JWKS 401', async () => {
  const envoy = envoyOrThrow();
  const a = await signer('https://a.example', 'ka');
  const forger = await signer('https://a.example', 'ka'); // same kid, different key
  const c = await signer('https://c.example', 'kc'); // JWKS unavailable for this issuer
  const { filter, warnings } = build(
    requestAuthn(
      'e2e',
      authz.jwtRule('https://a.example', { jwks: a.jwks }),
      authz.jwtRule('https://c.example', { jwksUri: 'https://idp/jwks' }),
    ),
  );
  assert.is(warnings.length, 1);
  const [port, adminPort] = [LISTENER_PORT, ADMIN_PORT];
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-jwt-'));
  const file = join(dir, 'bootstrap.json');
  writeFileSync(file, JSON.stringify(bootstrap(filter!, port, adminPort)));
  let output = '';
  const child = spawn(envoy, ['-c', file, '--log-level', 'warn', '--disable-hot-restart', '--base-id', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  try {
    await waitReady(adminPort, child, () => output);
    const get = async (path: string, token?: string, header = 'authorization') => {
      const headers: Record<string, string> = token ? { [header]: header === 'authorization' ? `Bearer ${token}` : token } : {};
      return (await fetch(`http://${ENVOY_ADDRESS}:${port}${path}`, { headers })).status;
    };
    const valid = await a.sign();
    assert.is(await get('/', valid), 200, 'valid token');
    assert.is(await get('/x', await forger.sign()), 401, 'bad signature');
    assert.is(await get('/', await a.sign('https://other.example')), 401, 'unknown issuer');
    assert.is(await get('/'), 200, 'no token: allow_missing');
    assert.is(await get('/', await c.sign()), 401, 'JWKS unavailable: fail closed');
    assert.is(await get('/', 'garbage'), 401, 'malformed token');
    // `/path?` must not skip verification: the rule matches every path, query included.
    assert.is(await get('/path?', await forger.sign()), 401, '/path?');
    assert.is(await get('/path?x=1', await forger.sign()), 401, '/path?x=1');
    assert.is(await get(`/?access_token=${await forger.sign()}`), 401, 'default access_token param');
    assert.is(await get(`/?access_token=${valid}`), 200, 'default access_token param, valid');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
