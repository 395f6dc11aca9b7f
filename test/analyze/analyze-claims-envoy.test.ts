// What two findings claim about Envoy, checked on a real one: listeners
// holding exactly the filters meshlite builds for the policy.
// ML0401: a principal written with spiffe:// never matches the peer it names
// (a DENY lets it through, an ALLOW keeps it out), while the same principal
// without the scheme does. ML0403: without a client certificate (a gateway
// server that asks for none) a rule on peer identity never matches, so an
// ALLOW on namespaces denies, while an ALLOW on request paths works.
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuthorizationPolicy } from '../../src/config/authz-types.js';
import { authzFilters } from '../../src/xds/authz-filters.js';
import { authzHttpListener, startAppEnvoy } from '../support/authz-http-listener.js';

import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { TestCa } from '../support/e2e/test-pki.js';
import { authz } from '../support/fixtures/index.js';
import { REPO_ROOT } from '../support/paths.js';

type Obj = Record<string, any>;
const HTTPBIN = join(REPO_ROOT, 'dist/test/support/apps/httpbin.js');
const LOOPBACK = loopbackAddress('analyze/analyze-claims-envoy.test.ts');
const APP_PORT = 8000;
const PORTS = { spiffeDeny: 10000, plainDeny: 10001, spiffeAllow: 10002, gatewayNamespaces: 10003, gatewayPaths: 10004 } as const;
const SLEEP = 'cluster.local/ns/foo/sa/sleep';

function listener(name: string, port: number, policy: AuthorizationPolicy, tls?: Obj): Obj {
  const built = authzFilters({
    key: name,
    authorizationPolicies: [policy],
    requestAuthentications: [],
    trustDomains: ['cluster.local'],
    providers: [],
    jwks: {},
  });
  assert.equal(built.warnings.http, [], name);
  const plain = authzHttpListener(name, LOOPBACK, port, built);
  if (!tls) return plain;
  const [chain] = plain.filter_chains as Obj[];
  return { ...plain, filter_chains: [{ ...chain, transport_socket: tls }] };
}

async function plainStatus(port: number, path: string): Promise<number> {
  const res = await fetch(`http://${LOOPBACK}:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
  await res.text();
  return res.status;
}

function mtlsStatus(port: number, ca: string, client: { certPem: string; keyPem: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: LOOPBACK, port, path: '/ip', ca: readFileSync(ca), cert: client.certPem, key: client.keyPem, timeout: 10_000 },
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

test('real Envoy: spiffe:// principals never match (ML0401); peer identities never match without a client certificate (ML0403)', async () => {
  await withProcesses('analyze-claims', async (pm) => {
    const app = pm.start('httpbin', process.execPath, [HTTPBIN, LOOPBACK, String(APP_PORT)]);
    await app.waitForLog(/httpbin listening/);
    const ca = await TestCa.create(join(pm.dir, 'pki'), 'analyze-claims');
    const server = await ca.issue('server', { commonName: 'server', ips: [LOOPBACK], usage: 'server' });
    const sleep = await ca.issue('sleep', { commonName: 'sleep', uris: [`spiffe://${SLEEP}`], usage: 'client' });
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
    const from = (action: 'ALLOW' | 'DENY', principals: string[]) =>
      authz.policy(`foo/${action.toLowerCase()}`, { action, rules: [authz.rule({ from: [authz.source({ principals })] })] });
    const gatewayNamespaces = authz.policy('istio-system/gw', { rules: [authz.rule({ from: [authz.source({ namespaces: ['foo'] })] })] });
    const gatewayPaths = authz.policy('istio-system/gw', { rules: [authz.rule({ to: [authz.operation({ paths: ['/ip'] })] })] });

    await startAppEnvoy(pm, 'analyze-claims', {
      address: LOOPBACK,
      app: { address: LOOPBACK, port: APP_PORT },
      listeners: [
        listener('spiffeDeny', PORTS.spiffeDeny, from('DENY', [`spiffe://${SLEEP}`]), tls),
        listener('plainDeny', PORTS.plainDeny, from('DENY', [SLEEP]), tls),
        listener('spiffeAllow', PORTS.spiffeAllow, from('ALLOW', [`spiffe://${SLEEP}`]), tls),
        listener('gatewayNamespaces', PORTS.gatewayNamespaces, gatewayNamespaces),
        listener('gatewayPaths', PORTS.gatewayPaths, gatewayPaths),
      ],
    });

    assert.is(await mtlsStatus(PORTS.plainDeny, ca.caFile, sleep), 403, 'written without the scheme, the DENY denies sleep');
    assert.is(await mtlsStatus(PORTS.spiffeDeny, ca.caFile, sleep), 200, 'with spiffe://, the same DENY never denies');
    assert.is(await mtlsStatus(PORTS.spiffeAllow, ca.caFile, sleep), 403, 'with spiffe://, the ALLOW never allows');
    assert.is(await plainStatus(PORTS.gatewayNamespaces, '/ip'), 403, 'no client certificate: an ALLOW on namespaces denies');
    assert.is(await plainStatus(PORTS.gatewayPaths, '/ip'), 200, 'an ALLOW on request paths works there');
  });
});

test.run();
