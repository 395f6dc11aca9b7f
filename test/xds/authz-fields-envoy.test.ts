// The AuthorizationPolicy fields of Istio's current API against real Envoy:
// one static bootstrap whose listeners hold exactly what authzFilters builds,
// each proving one field family's effect on real requests (path templates,
// filter-metadata conditions, request principals, service accounts over mTLS).
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuthorizationPolicy, RequestAuthentication } from '../../src/config/authz-types.js';
import type { AuthzView } from '../../src/model/view-types.js';
import { authzFilters } from '../../src/xds/authz-filters.js';

import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { TestCa } from '../support/e2e/test-pki.js';
import { authz } from '../support/fixtures/index.js';
import { startAppEnvoy } from '../support/authz-http-listener.js';
import { REPO_ROOT } from '../support/paths.js';

type Obj = Record<string, any>;
const HTTPBIN = join(REPO_ROOT, 'dist/test/support/apps/httpbin.js');
const LOOPBACK = loopbackAddress('xds/authz-fields-envoy.test.ts');
const APP_PORT = 8000;
const PORTS = { templates: 10000, metadata: 10001, jwt: 10002, anyJwt: 10003, mtls: 10004 } as const;
const ISSUER = 'https://idp.test';
const TIER_FILTER = 'envoy.filters.http.tier';

function view(policies: AuthorizationPolicy[], requestAuthentications: RequestAuthentication[] = []): AuthzView {
  return { key: 't', authorizationPolicies: policies, requestAuthentications, trustDomains: ['cluster.local'], providers: [], jwks: {} };
}

const ROUTER = {
  name: 'envoy.filters.http.router',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
};

/** Copies the x-tier request header into dynamic metadata of the `envoy.filters.http.tier` namespace, key `tier`. */
const TIER_TO_METADATA = {
  name: 'envoy.filters.http.header_to_metadata',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.header_to_metadata.v3.Config',
    request_rules: [{ header: 'x-tier', on_header_present: { metadata_namespace: TIER_FILTER, key: 'tier', type: 'STRING' } }],
  },
};

function listener(name: string, port: number, v: AuthzView, extra: { before?: Obj[]; tls?: Obj } = {}): Obj {
  const built = authzFilters(v);
  assert.equal(built.warnings.http, [], name);
  return {
    name,
    address: { socket_address: { address: LOOPBACK, port_value: port } },
    filter_chains: [
      {
        ...(extra.tls ? { transport_socket: extra.tls } : {}),
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: name,
              route_config: {
                virtual_hosts: [
                  {
                    name: 'app',
                    domains: ['*'],
                    routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }],
                    typed_per_filter_config: built.httpPerRoute,
                  },
                ],
              },
              http_filters: [...(extra.before ?? []), ...built.http, ROUTER],
            },
          },
        ],
      },
    ],
  };
}

async function status(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`http://${LOOPBACK}:${port}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
  await res.text();
  return res.status;
}

function mtlsStatus(port: number, ca: string, client: { certPem: string; keyPem: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: LOOPBACK,
        port,
        path: '/ip',
        ca: readFileSync(ca),
        cert: client.certPem,
        key: client.keyPem,
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

test('real Envoy: path templates, filter-metadata conditions, request principals and service accounts', async () => {
  await withProcesses('authz-fields', async (pm) => {
    const app = pm.start('httpbin', process.execPath, [HTTPBIN, LOOPBACK, String(APP_PORT)]);
    await app.waitForLog(/httpbin listening/);

    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] });
    const token = (claims: Obj) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuedAt().setExpirationTime('1h').sign(privateKey);
    const ra = authz.requestAuthentication('foo/jwt', authz.jwtRule(ISSUER, { jwks }));

    const ca = await TestCa.create(join(pm.dir, 'pki'), 'authz-fields');
    const server = await ca.issue('server', { commonName: 'server', ips: [LOOPBACK], usage: 'server' });
    const checkout = await ca.issue('checkout', {
      commonName: 'checkout',
      uris: ['spiffe://cluster.local/ns/shop/sa/checkout'],
      usage: 'client',
    });
    const other = await ca.issue('other', {
      commonName: 'other',
      uris: ['spiffe://cluster.local/ns/shop/sa/checkout-v2'],
      usage: 'client',
    });
    const tls = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        require_client_certificate: true,
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { filename: server.cert }, private_key: { filename: server.key } }],
          validation_context: { trusted_ca: { filename: ca.caFile } },
        },
      },
    };

    const allowPaths = authz.policy('foo/templates', {
      rules: [authz.rule({ to: [authz.operation({ paths: ['/status/{*}', '/anything/{**}'] })] })],
    });
    const denyTier = authz.policy('foo/tier', {
      action: 'DENY',
      rules: [authz.rule({ when: [authz.condition(`experimental.${TIER_FILTER}[tier]`, ['blocked', 'ban*'])] })],
    });
    const alice = authz.policy('foo/alice', { rules: [authz.rule({ from: [authz.source({ requestPrincipals: [`${ISSUER}/alice`] })] })] });
    const anyone = authz.policy('foo/anyone', { rules: [authz.rule({ from: [authz.source({ requestPrincipals: ['*'] })] })] });
    const sa = authz.policy('foo/sa', { rules: [authz.rule({ from: [authz.source({ serviceAccounts: ['shop/checkout'] })] })] });

    await startAppEnvoy(pm, 'authz-fields', {
      address: LOOPBACK,
      app: { address: LOOPBACK, port: APP_PORT },
      listeners: [
        listener('templates', PORTS.templates, view([allowPaths])),
        listener('metadata', PORTS.metadata, view([denyTier]), { before: [TIER_TO_METADATA] }),
        listener('jwt', PORTS.jwt, view([alice], [ra])),
        listener('anyJwt', PORTS.anyJwt, view([anyone], [ra])),
        listener('mtls', PORTS.mtls, view([sa]), { tls }),
      ],
    });

    // {*} is exactly one segment; {**} is everything below.
    assert.is(await status(PORTS.templates, '/status/200'), 200);
    assert.is(await status(PORTS.templates, '/status/200/201'), 403, '{*} does not span two segments');
    assert.is(await status(PORTS.templates, '/anything/a/b/c'), 200);
    assert.is(await status(PORTS.templates, '/ip'), 403);

    // The DENY reads the metadata another filter wrote.
    assert.is(await status(PORTS.metadata, '/ip', { 'x-tier': 'blocked' }), 403);
    assert.is(await status(PORTS.metadata, '/ip', { 'x-tier': 'banned-user' }), 403, 'prefix form');
    assert.is(await status(PORTS.metadata, '/ip', { 'x-tier': 'gold' }), 200);
    assert.is(await status(PORTS.metadata, '/ip'), 200, 'no metadata: the condition does not match');

    // iss/sub, both exact.
    const bearer = async (claims: Obj) => ({ authorization: `Bearer ${await token(claims)}` });
    assert.is(await status(PORTS.jwt, '/ip', await bearer({ iss: ISSUER, sub: 'alice' })), 200);
    assert.is(await status(PORTS.jwt, '/ip', await bearer({ iss: ISSUER, sub: 'alice2' })), 403);
    assert.is(await status(PORTS.jwt, '/ip'), 403, 'no token, no request principal');
    // `*` needs a non-empty issuer and subject: a verified token without `sub` is not enough.
    assert.is(await status(PORTS.anyJwt, '/ip', await bearer({ iss: ISSUER, sub: 'bob' })), 200);
    assert.is(await status(PORTS.anyJwt, '/ip', await bearer({ iss: ISSUER })), 403);

    // The peer's SPIFFE ID must be exactly the service account's.
    assert.is(await mtlsStatus(PORTS.mtls, ca.caFile, checkout), 200);
    assert.is(await mtlsStatus(PORTS.mtls, ca.caFile, other), 403, 'a longer name with the same prefix is another account');
  });
});

test.run();
