// The offline RBAC evaluator against real Envoy. One Envoy, two listeners
// holding what meshlite builds: a plaintext one for rich HTTP policies
// (paths, path templates, methods, hosts, headers with values and notValues,
// source IPs, the port; an AUDIT and a dry-run DENY that must not decide) and
// an mTLS one for peer-identity policies (principals, namespaces, service
// accounts and their negations). Random requests from the policies' own
// values and mutations of them; for each, the evaluator's verdict, computed
// from Envoy's own /config_dump, must equal Envoy's answer (403 or 200).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuthorizationPolicy } from '../../src/config/authz-types.js';
import { httpConnectionManager, listenersOf, routeConfigOf } from '../../src/inspect/dump-index.js';
import { perFilterConfigFor } from '../../src/inspect/route-match.js';
import { evaluateHttpFilters, type RequestFacts } from '../../src/inspect/rbac-evaluator.js';
import { normalizeRequest } from '../../src/inspect/request-normalization.js';
import { ENFORCING_PATH_HYGIENE } from '../../src/xds/http-connection-manager.js';
import { authzFilters } from '../../src/xds/authz-filters.js';
import { authzHttpListener, startAppEnvoy } from '../support/authz-http-listener.js';
import type { Envoy } from '../support/e2e/envoy.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { TestCa } from '../support/e2e/test-pki.js';
import {
  allowedExamples,
  arbRequest,
  dodges,
  mtlsPolicies,
  PEERS,
  type PropertyRequest,
  plaintextPolicies,
  send,
  type Target,
} from '../support/rbac-property-cases.js';

type Obj = Record<string, any>;
const LISTEN = loopbackAddress('inspect/rbac-evaluator-envoy.test.ts');
const CLIENTS = [loopbackAddress('inspect/rbac-evaluator-envoy.test.ts', 2), loopbackAddress('inspect/rbac-evaluator-envoy.test.ts', 3)];
const PORTS = { plaintext: 10000, mtls: 10001 } as const;
const RUNS = Number(process.env.RBAC_PROPERTY_RUNS ?? 60);

function filtersOf(policies: AuthorizationPolicy[]) {
  const built = authzFilters({
    key: 't',
    authorizationPolicies: policies,
    requestAuthentications: [],
    trustDomains: ['cluster.local'],
    providers: [],
    jwks: {},
  });
  assert.equal(built.warnings.http, []);
  return built;
}

/** Runs the property on one listener of the running Envoy. */
async function agrees(envoy: Envoy, name: string, target: Target, peers: readonly string[], examples: PropertyRequest[]): Promise<void> {
  const runs = RUNS;
  // Evaluate what Envoy itself reports it runs, not what the test handed it.
  const dump = await envoy.getJson('/config_dump');
  const listener = listenersOf(dump).find((l) => l.name === name)!;
  const hcm = httpConnectionManager((listener.filter_chains as Obj[])[0]!)!;
  const routes = routeConfigOf(dump, hcm)!;
  const seen = { allow: 0, deny: 0, shadowDeny: 0 };
  await fc.assert(
    fc.asyncProperty(arbRequest(CLIENTS, peers), async (r) => {
      const norm = normalizeRequest(hcm, { path: r.path, host: r.host });
      const facts: RequestFacts = {
        method: r.method,
        path: norm.path,
        host: norm.host!,
        headers: r.headers,
        sourceIp: r.client,
        destinationIp: target.address,
        destinationPort: target.port,
        ...(r.peer ? { peerPrincipal: r.peer } : {}),
      };
      const decision = evaluateHttpFilters(hcm.http_filters as unknown[], facts, {
        perFilterConfig: perFilterConfigFor(routes, norm.host!, norm.path),
      });
      const answer = await send(target, r);
      const envoyVerdict = answer.status === 403 ? 'deny' : answer.status === 200 ? 'allow' : `status ${answer.status}`;
      seen[decision.verdict]++;
      if (decision.shadow?.some((s) => s.wouldDeny)) seen.shadowDeny++;
      assert.is(envoyVerdict, decision.verdict, `${name} ${JSON.stringify(r)}: evaluator says ${decision.reason}`);
      if (answer.status === 403 && r.method !== 'HEAD') assert.match(answer.body, 'RBAC: access denied');
    }),
    { numRuns: runs, includeErrorInReport: true, examples: examples.map((r) => [r] as [PropertyRequest]) },
  );
  // The run exercised both answers, not one side only (the examples guarantee a floor; the random draw adds to it).
  assert.ok(seen.allow >= 2 && seen.deny >= 2, `${name}: ${JSON.stringify(seen)}`);
  if (name === 'plaintext') assert.ok(seen.shadowDeny > 0, 'a dry-run rule would have denied some request');
}

test(`the evaluator's verdict equals real Envoy's on random requests (${RUNS} plaintext, ${RUNS} mTLS)`, async () => {
  const upstream = createServer((_req, res) => res.writeHead(200).end('upstream'));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  try {
    await withProcesses('rbac-evaluator-envoy', async (pm) => {
      const ca = await TestCa.create(join(pm.dir, 'pki'), 'rbac-evaluator');
      const server = await ca.issue('server', { commonName: 'server', ips: [LISTEN], usage: 'server' });
      const clients = new Map<string, { certPem: string; keyPem: string }>();
      for (const [i, uri] of PEERS.entries())
        clients.set(uri, await ca.issue(`peer-${i}`, { commonName: `peer-${i}`, uris: [uri], usage: 'client' }));
      const mtls = authzHttpListener('mtls', LISTEN, PORTS.mtls, filtersOf(mtlsPolicies()));
      (mtls.filter_chains as Obj[])[0]!.transport_socket = {
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
      // The plaintext listener's HCM gets the request hygiene of meshlite's inbound HCMs: the evaluator must see what Envoy sees.
      const plaintext = authzHttpListener('plaintext', LISTEN, PORTS.plaintext, filtersOf(plaintextPolicies(PORTS.plaintext, CLIENTS[1]!)));
      Object.assign((plaintext.filter_chains as Obj[])[0]!.filters[0].typed_config, ENFORCING_PATH_HYGIENE);
      const appPort = (upstream.address() as AddressInfo).port;
      const envoy = await startAppEnvoy(pm, 'rbac-evaluator', {
        address: LISTEN,
        app: { address: '127.0.0.1', port: appPort },
        listeners: [plaintext, mtls],
      });

      await agrees(
        envoy,
        'plaintext',
        { address: LISTEN, port: PORTS.plaintext },
        [],
        [...dodges(CLIENTS[0]!), ...allowedExamples(CLIENTS[0]!)],
      );
      const tls = { ca: readFileSync(ca.caFile, 'utf8'), clients };
      await agrees(envoy, 'mtls', { address: LISTEN, port: PORTS.mtls, tls }, PEERS, allowedExamples(CLIENTS[0]!, PEERS));
    });
  } finally {
    upstream.close();
  }
});

test.run();
