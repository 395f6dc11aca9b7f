// The offline RBAC evaluator against real Envoy: one Envoy whose plaintext
// HTTP listener holds what meshlite builds for a set of rich HTTP policies
// (DENY and ALLOW on paths, path templates, methods, notMethods, hosts,
// headers with values and notValues, source IPs, the port; an AUDIT and a
// dry-run DENY that must not decide), random requests built from the
// policies' own values and mutations of them, and for each the evaluator's
// verdict, computed from Envoy's own /config_dump, must equal Envoy's answer.
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { httpConnectionManager, listenersOf, perFilterConfigFor, routeConfigOf } from '../../src/inspect/inbound-chain.js';
import { evaluateHttpFilters, type RequestFacts } from '../../src/inspect/rbac-evaluator.js';
import type { AuthorizationPolicy } from '../../src/config/authz-types.js';
import { authzFilters } from '../../src/xds/authz-filters.js';
import { authzHttpListener } from '../support/authz-http-listener.js';
import { startEnvoyFromFile, waitEnvoyReady } from '../support/e2e/envoy.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { authz } from '../support/fixtures/index.js';

type Obj = Record<string, any>;
const LISTEN = loopbackAddress('inspect/rbac-evaluator-envoy.test.ts');
const CLIENTS = [loopbackAddress('inspect/rbac-evaluator-envoy.test.ts', 2), loopbackAddress('inspect/rbac-evaluator-envoy.test.ts', 3)];
const PORT = 10000;
const RUNS = Number(process.env.RBAC_PROPERTY_RUNS ?? 60);

const { rule, operation: op, condition: when, source } = authz;
const POLICIES: AuthorizationPolicy[] = [
  authz.policy('foo/audit', { action: 'AUDIT', rules: [rule({ when: [when('request.headers[x-debug]', ['*'])] })] }),
  authz.policy('foo/deny', {
    action: 'DENY',
    rules: [
      rule({ to: [op({ paths: ['/admin/*', '*/private'], methods: ['DELETE', 'POST'] })] }),
      rule({ when: [when('request.headers[x-block]', ['yes', 'y*'])] }),
      rule({ to: [op({ hosts: ['evil.example.com', '*.bad.test'] })] }),
      rule({ to: [op({ notMethods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'] })] }),
      rule({ to: [op({ ports: [String(PORT)], paths: ['/port-check'] })] }),
    ],
  }),
  authz.policy('foo/deny-dry-run', { action: 'DENY', dryRun: true, rules: [rule({ to: [op({ paths: ['/api/*'] })] })] }),
  authz.policy('foo/allow', {
    action: 'ALLOW',
    rules: [
      rule({ to: [op({ paths: ['/api/*'], methods: ['GET', 'HEAD'] })] }),
      rule({ to: [op({ paths: ['/status/{*}', '/files/{**}'] })] }),
      rule({ to: [op({ notPaths: ['/admin/*', '/admin'] })], when: [when('request.headers[x-token]', ['*'])] }),
      rule({ from: [source({ ipBlocks: [CLIENTS[1]!] })], to: [op({ paths: ['/ip-only'] })] }),
      rule({ to: [op({ hosts: ['app.example.com'], notMethods: ['DELETE'] })] }),
      rule({ when: [when('request.headers[x-user]', ['alice', 'adm*'], ['admin-root'])] }),
    ],
  }),
];

const SEED_PATHS = [
  '/',
  '/admin',
  '/admin/x',
  '/api',
  '/api/v1',
  '/api/v1/x',
  '/status/200',
  '/status/200/x',
  '/status/',
  '/files/a',
  '/files/a/b/c',
  '/files',
  '/x/private',
  '/private',
  '/ip-only',
  '/port-check',
  '/public',
];
const MUTATIONS: ((p: string) => string)[] = [
  (p) => p,
  (p) => `${p};v=1`,
  (p) => p.toUpperCase(),
  (p) => `${p}?next=/admin/x`,
  (p) => `${p}/`,
  (p) => `/admin${p}`,
  (p) => p.replace(/\/([^/]*)$/, '/$1;x/y'),
];
const HOSTS = [
  'app.example.com',
  'APP.example.com:8080',
  'evil.example.com',
  'x.bad.test',
  'x.BAD.test:80',
  'other.test',
  'app.example.com.evil',
];

const arbRequest = fc.record({
  method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
  path: fc.tuple(fc.constantFrom(...SEED_PATHS), fc.constantFrom(...MUTATIONS)).map(([p, m]) => m(p)),
  host: fc.constantFrom(...HOSTS),
  client: fc.constantFrom(...CLIENTS),
  headers: fc.record(
    {
      'x-block': fc.constantFrom('yes', 'yup', 'no', 'Yes'),
      'x-token': fc.constantFrom('', 'abc'),
      'x-user': fc.constantFrom('alice', 'admin-root', 'admin', 'bob', 'Alice'),
      'x-debug': fc.constant('1'),
    },
    { requiredKeys: [] },
  ),
});
type Req = typeof arbRequest extends fc.Arbitrary<infer T> ? T : never;

function send(r: Req): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: LISTEN,
        port: PORT,
        method: r.method,
        path: r.path,
        localAddress: r.client,
        headers: { ...r.headers, host: r.host },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

test(`the evaluator's verdict equals real Envoy's for ${RUNS} random requests`, async () => {
  const upstream = createServer((_req, res) => res.writeHead(200).end('upstream'));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  try {
    await withProcesses('rbac-evaluator-envoy', async (pm) => {
      const built = authzFilters({
        key: 't',
        authorizationPolicies: POLICIES,
        requestAuthentications: [],
        trustDomains: ['cluster.local'],
        providers: [],
        jwks: {},
      });
      assert.equal(built.warnings.http, []);
      const appPort = (upstream.address() as AddressInfo).port;
      const bootstrap = {
        admin: { address: { socket_address: { address: LISTEN, port_value: 0 } } },
        static_resources: {
          clusters: [
            {
              name: 'app',
              type: 'STATIC',
              connect_timeout: '1s',
              load_assignment: {
                cluster_name: 'app',
                endpoints: [
                  { lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: appPort } } } }] },
                ],
              },
            },
          ],
          listeners: [authzHttpListener('rich', LISTEN, PORT, built)],
        },
      };
      const file = join(pm.dir, 'bootstrap.json');
      writeFileSync(file, JSON.stringify(bootstrap));
      const envoy = await startEnvoyFromFile(pm, 'rbac-evaluator', file);
      await waitEnvoyReady(envoy);

      // Evaluate what Envoy itself reports it runs, not what the test handed it.
      const dump = await envoy.getJson('/config_dump');
      const listener = listenersOf(dump).find((l) => l.name === 'rich')!;
      const hcm = httpConnectionManager((listener.filter_chains as Obj[])[0]!)!;
      const routes = routeConfigOf(dump, hcm)!;

      const seen = { allow: 0, deny: 0, shadowDeny: 0 };
      await fc.assert(
        fc.asyncProperty(arbRequest, async (r) => {
          const facts: RequestFacts = {
            method: r.method,
            path: r.path,
            host: r.host,
            headers: r.headers,
            sourceIp: r.client,
            destinationIp: LISTEN,
            destinationPort: PORT,
          };
          const decision = evaluateHttpFilters(hcm.http_filters as unknown[], facts, {
            perFilterConfig: perFilterConfigFor(routes, r.host, r.path),
          });
          const answer = await send(r);
          const envoyVerdict = answer.status === 403 ? 'deny' : answer.status === 200 ? 'allow' : `status ${answer.status}`;
          seen[decision.verdict]++;
          if (decision.shadow?.some((s) => s.wouldDeny)) seen.shadowDeny++;
          assert.is(envoyVerdict, decision.verdict, `${JSON.stringify(r)}: evaluator says ${decision.reason}`);
          if (answer.status === 403 && r.method !== 'HEAD') assert.match(answer.body, 'RBAC: access denied');
        }),
        { numRuns: RUNS, includeErrorInReport: true },
      );
      // The run exercised both answers (and a dry-run rule that would have denied), not one side only.
      assert.ok(seen.allow > 5 && seen.deny > 5 && seen.shadowDeny > 0, JSON.stringify(seen));
    });
  } finally {
    upstream.close();
  }
});

test.run();
