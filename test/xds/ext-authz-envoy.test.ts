// AuthorizationPolicy CUSTOM against real Envoy: a static bootstrap whose
// listeners hold the filters buildExtAuthzFilters returns (plus the router, or
// tcp_proxy), an upstream httpbin, and test/support/apps/ext-authz-server.ts
// as the HTTP and gRPC authorization service. It proves the shadow-RBAC /
// filter_enabled_metadata pairing Envoy actually honours: only requests the
// CUSTOM rules match reach the service, its answer decides, an unreachable
// service fails closed, and what cannot be delegated is denied.
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuthorizationPolicy, AuthzRule } from '../../src/config/authz-types.js';
import type { ExtensionProvider } from '../../src/config/types.js';
import { buildExtAuthzFilters, type ExtAuthzContext } from '../../src/xds/ext-authz.js';
import { startEnvoyFromFile, waitEnvoyReady } from '../support/e2e/envoy.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { authz } from '../support/fixtures/index.js';
import { REPO_ROOT } from '../support/paths.js';

type Obj = Record<string, any>;
const HTTPBIN = join(REPO_ROOT, 'dist/test/support/apps/httpbin.js');
const EXT_AUTHZ = join(REPO_ROOT, 'dist/test/support/apps/ext-authz-server.js');
const LOOPBACK = loopbackAddress('xds/ext-authz-envoy.test.ts');
/** The apps' ports; nothing listens on DOWN_PORT (the unreachable authorization service). */
const [APP_PORT, AUTHZ_HTTP_PORT, AUTHZ_GRPC_PORT, DOWN_PORT] = [8000, 8001, 9000, 9001];
const LISTENER_NAMES = [
  'http',
  'grpc',
  'down',
  'down503',
  'downOpen',
  'grpcDown',
  'unknown',
  'nocluster',
  'two',
  'tcpA',
  'tcpB',
  'tcpC',
  'tcpHttp',
];
/** Envoy's listener ports, from 10000 on. */
const LISTENER_PORTS: Record<string, number> = Object.fromEntries(LISTENER_NAMES.map((name, i) => [name, 10000 + i]));

const CUSTOM = (name: string, provider: string, rules: AuthzRule[]): AuthorizationPolicy =>
  authz.policy(`foo/${name}`, { action: 'CUSTOM', provider, rules });
const paths = (...requestPaths: string[]) => authz.rule({ to: [authz.operation({ paths: requestPaths })] });
const ports = (...listenerPorts: number[]) => authz.rule({ to: [authz.operation({ ports: listenerPorts.map(String) })] });

const PROVIDERS: ExtensionProvider[] = [
  authz.httpProvider('http', {
    service: 'authz.foo.svc.cluster.local',
    pathPrefix: '/check',
    timeout: '2s',
    includeRequestHeadersInCheck: ['x-ext-authz'],
    includeAdditionalHeadersInCheck: { 'x-added': 'by-envoy' },
    headersToUpstreamOnAllow: ['x-ext-authz-upstream'],
    headersToDownstreamOnDeny: ['x-ext-authz-check-result'],
    headersToDownstreamOnAllow: ['x-ext-authz-check-result'],
  }),
  authz.grpcProvider('grpc', { service: 'authz.foo.svc.cluster.local', timeout: '2s' }),
  authz.httpProvider('down', { service: 'down.foo.svc.cluster.local', timeout: '1s' }),
  authz.httpProvider('down-503', { service: 'down.foo.svc.cluster.local', timeout: '1s', statusOnError: 503 }),
  authz.httpProvider('down-open', { service: 'down.foo.svc.cluster.local', timeout: '1s', failOpen: true }),
  authz.grpcProvider('grpc-down', { service: 'down.foo.svc.cluster.local', timeout: '1s' }),
  authz.httpProvider('nowhere', { service: 'nowhere.foo.svc.cluster.local' }),
];

/** The provider services the "registry" knows: `nowhere` is not one of them. */
const CLUSTERS: Record<string, string> = {
  'authz.foo.svc.cluster.local:8000': 'authz-http',
  'authz.foo.svc.cluster.local:9000': 'authz-grpc',
  'down.foo.svc.cluster.local:8000': 'down',
  'down.foo.svc.cluster.local:9000': 'down',
};

function filters(protocol: 'http' | 'tcp', policies: AuthorizationPolicy[]): { filters: Obj[]; warnings: string[] } {
  const ctx: ExtAuthzContext = { trustDomains: ['cluster.local'], protocol };
  const providers = PROVIDERS.map((p) => {
    const { service, port } = p.kind === 'envoyExtAuthzHttp' ? p.http : p.grpc;
    const cluster = CLUSTERS[`${service}:${port}`];
    return cluster === undefined ? p : { ...p, cluster };
  });
  return buildExtAuthzFilters(policies, providers, ctx) as { filters: Obj[]; warnings: string[] };
}

const ROUTER = {
  name: 'envoy.filters.http.router',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
};

/** Echoes, as a response header, the dynamic metadata value ext_authz is enabled by (as Envoy itself reads it). */
const SHADOW_POLICY_HEADER = {
  header: { key: 'x-shadow-policy', value: '%DYNAMIC_METADATA(envoy.filters.http.rbac:istio_ext_authz_shadow_effective_policy_id)%' },
};

function httpListener(name: string, port: number, http_filters: Obj[]): Obj {
  return {
    name,
    address: { socket_address: { address: LOOPBACK, port_value: port } },
    filter_chains: [
      {
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
                    response_headers_to_add: [SHADOW_POLICY_HEADER],
                  },
                ],
              },
              http_filters: [...http_filters, ROUTER],
            },
          },
        ],
      },
    ],
  };
}

function tcpListener(name: string, port: number, network_filters: Obj[]): Obj {
  const tcpProxy = {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      stat_prefix: name,
      cluster: 'app',
    },
  };
  return {
    name,
    address: { socket_address: { address: LOOPBACK, port_value: port } },
    filter_chains: [{ filters: [...network_filters, tcpProxy] }],
  };
}

function cluster(name: string, port: number, http2 = false): Obj {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: LOOPBACK, port_value: port } } } }] }],
    },
    ...(http2
      ? {
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
        }
      : {}),
  };
}

interface Reply {
  status: number;
  headers: Headers;
  body: string;
}

async function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`http://${LOOPBACK}:${port}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** An HTTP request over a raw TCP connection: the response's status line, or `closed` when the proxy drops the connection. */
function overTcp(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, LOOPBACK);
    let data = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer on ${port}`)));
    socket.on('connect', () => socket.write(`GET /ip HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n`));
    socket.on('data', (d) => (data += d));
    socket.on('error', (err) =>
      (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve(data.split('\r\n')[0] || 'closed') : reject(err),
    );
    socket.on('close', () => resolve(data.split('\r\n')[0] || 'closed'));
  });
}

test('real Envoy: CUSTOM delegates exactly the requests its rules match, and fails closed', async () => {
  await withProcesses('ext-authz', async (pm) => {
    const [appPort, authzHttp, authzGrpc, downPort] = [APP_PORT, AUTHZ_HTTP_PORT, AUTHZ_GRPC_PORT, DOWN_PORT];
    const L = LISTENER_PORTS;

    const app = pm.start('httpbin', process.execPath, [HTTPBIN, LOOPBACK, String(appPort)]);
    const authz = pm.start('ext-authz', process.execPath, [EXT_AUTHZ, LOOPBACK, String(authzHttp), String(authzGrpc), String(L.tcpA)]);
    await Promise.all([app.waitForLog(/httpbin listening/), authz.waitForLog(/ext-authz listening/)]);

    const warnings: string[] = [];
    const http = (policies: AuthorizationPolicy[]) => {
      const built = filters('http', policies);
      warnings.push(...built.warnings);
      return built.filters;
    };
    const tcp = (policies: AuthorizationPolicy[]) => {
      const built = filters('tcp', policies);
      warnings.push(...built.warnings);
      return built.filters;
    };
    const protectedPaths = paths('/status/*', '/headers');
    const tcpRule = ports(L.tcpA!, L.tcpB!);
    const bootstrap = {
      admin: { address: { socket_address: { address: LOOPBACK, port_value: 0 } } },
      static_resources: {
        clusters: [
          cluster('app', appPort),
          cluster('authz-http', authzHttp),
          cluster('authz-grpc', authzGrpc, true),
          cluster('down', downPort, true),
        ],
        listeners: [
          httpListener('http', L.http!, http([CUSTOM('ext', 'http', [protectedPaths])])),
          httpListener('grpc', L.grpc!, http([CUSTOM('ext', 'grpc', [protectedPaths])])),
          httpListener('down', L.down!, http([CUSTOM('ext', 'down', [protectedPaths])])),
          httpListener('down503', L.down503!, http([CUSTOM('ext', 'down-503', [protectedPaths])])),
          httpListener('downOpen', L.downOpen!, http([CUSTOM('ext', 'down-open', [protectedPaths])])),
          httpListener('grpcDown', L.grpcDown!, http([CUSTOM('ext', 'grpc-down', [protectedPaths])])),
          httpListener('unknown', L.unknown!, http([CUSTOM('ext', 'no-such-provider', [protectedPaths])])),
          httpListener('nocluster', L.nocluster!, http([CUSTOM('ext', 'nowhere', [protectedPaths])])),
          httpListener('two', L.two!, http([CUSTOM('a', 'http', [paths('/status/201')]), CUSTOM('b', 'grpc', [paths('/status/202')])])),
          tcpListener('tcpA', L.tcpA!, tcp([CUSTOM('ext', 'grpc', [tcpRule])])),
          tcpListener('tcpB', L.tcpB!, tcp([CUSTOM('ext', 'grpc', [tcpRule])])),
          tcpListener('tcpC', L.tcpC!, tcp([CUSTOM('ext', 'grpc', [tcpRule])])),
          tcpListener('tcpHttp', L.tcpHttp!, tcp([CUSTOM('ext', 'http', [ports(L.tcpHttp!)])])),
        ],
      },
    };
    const file = join(pm.dir, 'ext-authz.bootstrap.json');
    writeFileSync(file, JSON.stringify(bootstrap, null, 2));
    const envoy = await startEnvoyFromFile(pm, 'ext-authz', file);
    await waitEnvoyReady(envoy);

    const checks = async (): Promise<Obj[]> =>
      (await get(authzHttp, '/__checks')).body ? JSON.parse((await get(authzHttp, '/__checks')).body) : [];
    const newChecks = async (fn: () => Promise<void>): Promise<Obj[]> => {
      const before = (await checks()).length;
      await fn();
      return (await checks()).slice(before);
    };
    const allow = { 'x-ext-authz': 'allow' };

    // HTTP provider: the rule's paths are checked, and the service decides.
    let reply: Reply | undefined;
    let seen = await newChecks(async () => void (reply = await get(L.http!, '/status/200', allow)));
    assert.is(reply!.status, 200, 'matching + allow header -> 200');
    assert.is(reply!.headers.get('x-ext-authz-check-result'), 'allowed', 'headersToDownstreamOnAllow');
    assert.is(
      reply!.headers.get('x-shadow-policy'),
      'istio-ext-authz-ns[foo]-policy[ext]-rule[0]',
      'the metadata key ext_authz is enabled by, as Envoy holds it',
    );
    assert.equal(
      seen.map((c) => [c.protocol, c.path, c.decision]),
      [['http', '/check/status/200', 'allow']],
      'pathPrefix + includeRequestHeadersInCheck',
    );

    seen = await newChecks(async () => void (reply = await get(L.http!, '/status/200')));
    assert.is(reply!.status, 403, 'matching, no allow header -> 403');
    assert.is(reply!.body, 'denied by ext_authz', "the service's denial body reaches the client");
    assert.is(reply!.headers.get('x-ext-authz-check-result'), 'denied', 'headersToDownstreamOnDeny');
    assert.is(seen.length, 1);

    seen = await newChecks(async () => void (reply = await get(L.http!, '/ip', allow)));
    assert.is(reply!.status, 200, 'not matching -> straight through');
    assert.ok([null, '', '-'].includes(reply!.headers.get('x-shadow-policy')), 'no shadow policy matched');
    assert.equal(seen, [], 'a request the CUSTOM rules do not match never reaches the service');
    seen = await newChecks(async () => void (reply = await get(L.http!, '/ip')));
    assert.is(reply!.status, 200);
    assert.equal(seen, []);

    reply = await get(L.http!, '/headers', allow);
    assert.is(reply.status, 200);
    const upstream = (JSON.parse(reply.body) as { headers: Record<string, string> }).headers;
    const lower = Object.fromEntries(Object.entries(upstream).map(([k, v]) => [k.toLowerCase(), v]));
    assert.is(lower['x-ext-authz-upstream'], 'ok', 'headersToUpstreamOnAllow');

    // gRPC provider on an HTTP chain.
    seen = await newChecks(async () => void (reply = await get(L.grpc!, '/status/200', allow)));
    assert.is(reply!.status, 200);
    assert.equal(
      seen.map((c) => [c.protocol, c.path, c.decision]),
      [['grpc', '/status/200', 'allow']],
    );
    seen = await newChecks(async () => void (reply = await get(L.grpc!, '/status/200')));
    assert.is(reply!.status, 403);
    assert.is(seen.length, 1);
    seen = await newChecks(async () => void (reply = await get(L.grpc!, '/healthz')));
    assert.is(reply!.status, 200);
    assert.equal(seen, []);

    // The service is unreachable.
    assert.is((await get(L.down!, '/status/200', allow)).status, 403, 'unreachable, failOpen false -> 403');
    assert.is((await get(L.down!, '/ip')).status, 200, 'unreachable but not asked');
    assert.is((await get(L.down503!, '/status/200', allow)).status, 503, 'statusOnError');
    assert.is((await get(L.downOpen!, '/status/200')).status, 200, 'failOpen');
    assert.is((await get(L.grpcDown!, '/status/200', allow)).status, 403, 'gRPC unreachable -> 403');

    // Nothing to delegate to: the rules' requests are denied, the rest pass.
    for (const name of ['unknown', 'nocluster']) {
      seen = await newChecks(async () => {
        assert.is((await get(L[name]!, '/status/200', allow)).status, 403, `${name}: fail closed`);
        assert.is((await get(L[name]!, '/ip')).status, 200, `${name}: other requests pass`);
      });
      assert.equal(seen, []);
    }

    // Two providers on one chain, each with its own rules.
    seen = await newChecks(async () => {
      assert.is((await get(L.two!, '/status/201', allow)).status, 201);
      assert.is((await get(L.two!, '/status/202', allow)).status, 202);
      assert.is((await get(L.two!, '/status/201')).status, 403);
      assert.is((await get(L.two!, '/status/202')).status, 403);
      assert.is((await get(L.two!, '/status/200')).status, 200);
    });
    assert.equal(
      seen.map((c) => [c.protocol, c.path ?? '']),
      [
        ['http', '/check/status/201'],
        ['grpc', '/status/202'],
        ['http', '/check/status/201'],
        ['grpc', '/status/202'],
      ],
    );

    // TCP: the network ext_authz filter (gRPC) checks the connections the rules match.
    seen = await newChecks(async () => void assert.match(await overTcp(L.tcpA!), /^HTTP\/1\.1 200/, 'tcpA: checked and allowed'));
    assert.equal(
      seen.map((c) => [c.protocol, c.destinationPort]),
      [['grpc', L.tcpA]],
    );
    seen = await newChecks(async () => void assert.is(await overTcp(L.tcpB!), 'closed', 'tcpB: checked and denied'));
    assert.equal(
      seen.map((c) => [c.protocol, c.destinationPort, c.allowed]),
      [['grpc', L.tcpB, false]],
    );
    seen = await newChecks(async () => void assert.match(await overTcp(L.tcpC!), /^HTTP\/1\.1 200/, 'tcpC: not matched, not checked'));
    assert.equal(seen, []);
    // An HTTP provider cannot check a TCP connection: denied.
    seen = await newChecks(async () => void assert.is(await overTcp(L.tcpHttp!), 'closed', 'HTTP provider on TCP: fail closed'));
    assert.equal(seen, []);

    // The shadow RBAC filter counts what it delegated, under Istio's stat prefix.
    assert.is(await envoy.stat('http.http.rbac.istio_ext_authz_.shadow_denied'), 3);
    assert.is(await envoy.stat('http.two.rbac.istio_ext_authz_http_.shadow_denied'), 2, 'one stat prefix per provider');
    assert.equal(
      [await envoy.stat('ext_authz.tcp..ok'), await envoy.stat('ext_authz.tcp..denied')],
      [1, 1],
      'TCP checks: tcpA allowed, tcpB denied',
    );

    assert.equal(
      warnings.filter((w) => !/no-such-provider|nowhere|HTTP ext_authz service/.test(w)),
      [],
      warnings.join('\n'),
    );
    assert.is(warnings.length, 3, warnings.join('\n'));
  });
});

test.run();
