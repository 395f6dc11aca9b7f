// The control plane fetches every jwksUri before applying a config and inlines
// the document; a changed document refreshes exactly the proxies verifying it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SnapshotCache } from '../../src/cache/snapshot-cache.js';
import type { LoadResult } from '../../src/config/load-config.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import type { WorkloadCredentialSource } from '../../src/control-plane/workload-credentials.js';
import { Registry } from 'prom-client';
import { registerJwksMetrics } from '../../src/credentials/credential-metrics.js';
import { JwksFetcher } from '../../src/credentials/jwks-fetcher.js';
import { FAIL_CLOSED_JWKS } from '../../src/xds/jwt-authn.js';
import { loadManifests, requestAuthentication, serviceEntry, workloadEntry } from '../support/fixtures/index.js';

const silent = { info() {}, warn() {}, debug() {} };
const credentials: WorkloadCredentialSource = {
  rootCertPem: () => 'ROOT',
  async certificateFor() {
    return { certChainPem: 'CERT', privateKeyPem: 'KEY', serialNumber: '1', notAfter: new Date() };
  },
  onRotated() {},
};

const jwk = (x: string) =>
  JSON.stringify({
    keys: [
      {
        kty: 'EC',
        crv: 'P-256',
        kid: x,
        x: 'q8J6jZHcsyuHxD_GnY91-0mkhxv6CspfPVFC9y-yRSo',
        y: 'vdgRecl1o2Ooy8qqUi74x3c-95pzlsNRhIkAA4RCQWM',
      },
    ],
  });

/** httpbin in foo and bar; foo's verifies JWTs against the JWKS at `jwksUri`. */
function meshVerifyingJwtsFrom(jwksUri: string): LoadResult {
  return loadManifests([
    serviceEntry('foo/httpbin'),
    serviceEntry('bar/httpbin'),
    workloadEntry('foo/httpbin', { address: '127.0.1.1' }),
    workloadEntry('bar/httpbin', { address: '127.0.2.1' }),
    requestAuthentication('foo/jwt', { jwtRules: [{ issuer: 'https://idp', jwksUri }] }),
  ]);
}

/** The inline JWKS of the jwt_authn filter in a proxy's inbound listener, if any. */
function inlinedJwks(cache: SnapshotCache, proxy: string): string | undefined {
  const text = JSON.stringify([...cache.get(proxy)!.listeners.resources.values()].map((r) => r.json));
  const m = /"inline_string":"((?:[^"\\]|\\.)*)"/.exec(text);
  return m ? (JSON.parse(`"${m[1]}"`) as string) : undefined;
}

test('jwksUri: fetched before the config applies, inlined, and a change refreshes only the proxies that verify it', async () => {
  let served = jwk('one');
  let requests = 0;
  const server = createServer((_req, res) => {
    requests += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(served);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  const changed: string[][] = [];
  let cp: ControlPlane | undefined;
  const fetcher = new JwksFetcher({ refreshMillis: 60_000, onChange: (u, t) => void cp?.jwksChanged(u, t).then((p) => changed.push(p)) });
  try {
    const cache = new SnapshotCache();
    cp = new ControlPlane(cache, credentials, silent, {}, undefined, fetcher);
    await cp.applyConfig(meshVerifyingJwtsFrom(uri), 'start');
    await cp.proxyConnected('httpbin.foo');
    await cp.proxyConnected('httpbin.bar');
    assert.is(inlinedJwks(cache, 'httpbin.foo'), jwk('one'), 'the fetched document is inlined from the first snapshot on');
    assert.is(inlinedJwks(cache, 'httpbin.bar'), undefined, 'bar has no RequestAuthentication');
    assert.is(requests, 1);
    const registry = new Registry();
    registerJwksMetrics(registry, fetcher);
    assert.match(await registry.metrics(), `meshlite_jwks_available{uri="${uri}"} 1`);

    const barVersion = cache.get('httpbin.bar')!.listeners.version;
    served = jwk('two');
    await fetcher.refresh(uri);
    await cp.idle();
    assert.equal(changed.at(-1), ['httpbin.foo']);
    assert.is(inlinedJwks(cache, 'httpbin.foo'), jwk('two'));
    assert.is(cache.get('httpbin.bar')!.listeners.version, barVersion, 'unaffected proxy not rebuilt');

    // The identity provider goes down: the last good document stays.
    server.close();
    served = 'not json';
    await fetcher.refresh(uri);
    await cp.idle();
    assert.is(inlinedJwks(cache, 'httpbin.foo'), jwk('two'));
  } finally {
    fetcher.close();
    server.close();
  }
});

test('a jwksUri that cannot be fetched fails closed: its issuer gets a JWKS no token verifies against', async () => {
  const fetcher = new JwksFetcher({ timeoutMillis: 500 });
  try {
    const cache = new SnapshotCache();
    const cp = new ControlPlane(cache, credentials, silent, {}, undefined, fetcher);
    await cp.applyConfig(meshVerifyingJwtsFrom('http://127.0.0.1:9/jwks'), 'start');
    await cp.proxyConnected('httpbin.foo');
    assert.is(inlinedJwks(cache, 'httpbin.foo'), FAIL_CLOSED_JWKS);
    assert.ok(cp.proxyWarnings('httpbin.foo').some((w) => w.includes('is not available; its tokens will be rejected')));
    const registry = new Registry();
    registerJwksMetrics(registry, fetcher);
    assert.match(await registry.metrics(), 'meshlite_jwks_available{uri="http://127.0.0.1:9/jwks"} 0');
  } finally {
    fetcher.close();
  }
});

test.run();
