// The policies and random requests of the evaluator-vs-Envoy property test
// (test/inspect/rbac-evaluator-envoy.test.ts): rich HTTP policies for a
// plaintext listener, peer-identity policies for an mTLS one, requests built
// from the policies' own values and mutations of them, and a sender that
// fixes the source address (and, over mTLS, the client certificate).
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import fc from 'fast-check';
import type { AuthorizationPolicy } from '../../src/config/authz-types.js';
import * as authz from './fixtures/authz-resources.js';

const { rule, operation: op, condition: when, source } = authz;

/** Plaintext: paths, templates, methods, hosts, headers, source IP, port; an AUDIT and a dry-run DENY that decide nothing. */
export function plaintextPolicies(port: number, allowedClient: string): AuthorizationPolicy[] {
  return [
    authz.policy('foo/audit', { action: 'AUDIT', rules: [rule({ when: [when('request.headers[x-debug]', ['*'])] })] }),
    authz.policy('foo/deny', {
      action: 'DENY',
      rules: [
        rule({ to: [op({ paths: ['/admin/*', '*/private'], methods: ['DELETE', 'POST'] })] }),
        rule({ when: [when('request.headers[x-block]', ['yes', 'y*'])] }),
        rule({ to: [op({ hosts: ['evil.example.com', '*.bad.test'] })] }),
        rule({ to: [op({ notMethods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'] })] }),
        rule({ to: [op({ ports: [String(port)], paths: ['/port-check'] })] }),
      ],
    }),
    authz.policy('foo/deny-dry-run', { action: 'DENY', dryRun: true, rules: [rule({ to: [op({ paths: ['/api/*'] })] })] }),
    authz.policy('foo/allow', {
      action: 'ALLOW',
      rules: [
        rule({ to: [op({ paths: ['/api/*'], methods: ['GET', 'HEAD'] })] }),
        rule({ to: [op({ paths: ['/status/{*}', '/files/{**}'] })] }),
        rule({ to: [op({ notPaths: ['/admin/*', '/admin'] })], when: [when('request.headers[x-token]', ['*'])] }),
        rule({ from: [source({ ipBlocks: [allowedClient] })], to: [op({ paths: ['/ip-only'] })] }),
        rule({ to: [op({ hosts: ['app.example.com'], notMethods: ['DELETE'] })] }),
        rule({ when: [when('request.headers[x-user]', ['alice', 'adm*'], ['admin-root'])] }),
      ],
    }),
  ];
}

/** The SPIFFE IDs the mTLS clients' certificates carry. */
export const PEERS = ['shop/sa/checkout', 'shop/sa/blocked', 'web/sa/frontend', 'web/sa/admin', 'other/sa/x'].map(
  (p) => `spiffe://cluster.local/ns/${p}`,
);

/** mTLS: principals, notPrincipals, namespaces, notNamespaces, service accounts, combined with paths and methods. */
export function mtlsPolicies(): AuthorizationPolicy[] {
  return [
    authz.policy('shop/deny', {
      action: 'DENY',
      rules: [
        rule({ from: [source({ principals: ['cluster.local/ns/shop/sa/blocked'] })] }),
        rule({ from: [source({ notNamespaces: ['shop', 'web'] })], to: [op({ paths: ['/secret/*'] })] }),
      ],
    }),
    authz.policy('shop/allow', {
      action: 'ALLOW',
      rules: [
        rule({ from: [source({ namespaces: ['shop'] })] }),
        rule({ from: [source({ serviceAccounts: ['web/frontend'] })], to: [op({ methods: ['GET'] })] }),
        rule({ from: [source({ principals: ['cluster.local/ns/web/sa/*'] })], to: [op({ paths: ['/public/*'] })] }),
        rule({ from: [source({ notPrincipals: ['cluster.local/ns/web/*'] })], to: [op({ paths: ['/open'] })] }),
      ],
    }),
  ];
}

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
  // Dodges that the enforcing HCM's path hygiene undoes before RBAC runs.
  (p) => `/x/..${p}`,
  (p) => `/.${p}`,
  (p) => `/${p}`,
  (p) => p.replace(/(.)\/([^/]*)$/, '$1%2F$2'),
  (p) => p.replace(/a/, '%61'),
  (p) => p.replace(/(.)\/([^/]*)$/, '$1%2f..%2f$2'),
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

/** A random request: method, path, host and headers from the policies' values; one of `clients` as source (and `peers` over mTLS). */
export function arbRequest(clients: readonly string[], peers: readonly string[] = []) {
  return fc.record({
    method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
    path: fc.tuple(fc.constantFrom(...SEED_PATHS), fc.constantFrom(...MUTATIONS)).map(([p, m]) => m(p)),
    host: fc.constantFrom(...HOSTS),
    client: fc.constantFrom(...clients),
    peer: peers.length > 0 ? fc.constantFrom(...peers) : fc.constant(undefined),
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
}
export type PropertyRequest = ReturnType<typeof arbRequest> extends fc.Arbitrary<infer T> ? T : never;

export interface Target {
  address: string;
  port: number;
  /** Over mTLS: the CA that signed the server, and each peer's client certificate. */
  tls?: { ca: string; clients: ReadonlyMap<string, { certPem: string; keyPem: string }> };
}

/** Sends the request as written (no path normalization), from its source address; the status and body. */
export function send(to: Target, r: PropertyRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const common = {
      host: to.address,
      port: to.port,
      method: r.method,
      path: r.path,
      localAddress: r.client,
      headers: { ...r.headers, host: r.host },
      agent: false as const,
    };
    const onResponse = (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    };
    const client = to.tls && r.peer ? to.tls.clients.get(r.peer) : undefined;
    const req = client
      ? httpsRequest(
          { ...common, ca: to.tls!.ca, cert: client.certPem, key: client.keyPem, checkServerIdentity: () => undefined },
          onResponse,
        )
      : httpRequest(common, onResponse);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Requests that only a path-normalizing evaluator gets right (each runs first, besides the random ones). */
export function dodges(client: string): PropertyRequest[] {
  const base = { method: 'POST' as const, host: 'app.example.com', client, peer: undefined, headers: {} };
  return ['/x/../admin/x', '//admin/x', '/admin%2Fx', '/%61dmin/x', '/api/..%2fadmin/x', '/./admin/x'].map((path) => ({ ...base, path }));
}

/** Requests the policies allow, so every run covers both verdicts however the random draw falls. */
export function allowedExamples(client: string, peers: readonly string[] = []): PropertyRequest[] {
  const base = { method: 'GET' as const, host: 'other.test', client, headers: {} };
  if (peers.length === 0)
    return [
      { ...base, path: '/api/v1', peer: undefined },
      { ...base, path: '/status/200', peer: undefined },
      { ...base, path: '/x', peer: undefined, headers: { 'x-user': 'alice' } },
    ];
  return peers
    .filter((p) => p.includes('/ns/shop/sa/checkout') || p.includes('/ns/web/sa/frontend'))
    .map((peer) => ({ ...base, path: '/x', peer }));
}
