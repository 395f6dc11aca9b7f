// Proxyless security, judged by grpc-js-xds itself: the server Listener
// (address, STRICT mTLS from the bootstrap certificate provider, inline route
// table with non_forwarding_action, RBAC then router) and the mTLS cluster
// decode without error in its validators, and the RBAC filter, parsed by its
// own filter registry, allows exactly what the AuthorizationPolicy allows.
import { Metadata } from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { authorizationReport } from '../../src/translate/authorization-report.js';
import { Translator } from '../../src/translate/translator.js';
import type { MeshModel } from '../../src/model/mesh-model.js';
import { encodeAny, encodeJson } from '../../src/proto/json-to-binary.js';
import { lookupMessage } from '../../src/proto/envoy-root.js';
import type { Json } from '../../src/proto/proto-json.js';
import {
  authorizationPolicy,
  exampleMesh,
  meshConfig,
  meshOf,
  mtlsPolicy,
  requestAuthentication,
  serviceEntry,
  workloadEntry,
} from '../support/fixtures/index.js';

// grpc-js-xds registers its RBAC filter only with this set, read when its modules load: hence the dynamic imports.
process.env.GRPC_XDS_EXPERIMENTAL_RBAC = 'true';
const xds = await import('@grpc/grpc-js-xds');
const { validateBootstrapConfig } = await import('@grpc/grpc-js-xds/build/src/xds-bootstrap.js');
const { ListenerResourceType } = await import('@grpc/grpc-js-xds/build/src/xds-resource-type/listener-resource-type.js');
const { ClusterResourceType } = await import('@grpc/grpc-js-xds/build/src/xds-resource-type/cluster-resource-type.js');
const { parseTopLevelFilterConfig } = await import('@grpc/grpc-js-xds/build/src/http-filter.js');
xds.register();

type Obj = Record<string, any>;
const SERVER = 'grpc/server?xds.resource.listening_address=127.0.60.1:50051';
const SAY_HELLO = '/meshlite.examples.greeter.v1.Greeter/SayHello';

function bootstrap(providers: boolean) {
  return validateBootstrapConfig({
    xds_servers: [{ server_uri: '127.0.0.1:15010', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'greeter-1.bar', locality: {} },
    server_listener_resource_name_template: 'grpc/server?xds.resource.listening_address=%s',
    ...(providers
      ? {
          certificate_providers: {
            default: {
              plugin_name: 'file_watcher',
              config: {
                certificate_file: '/dev/null',
                private_key_file: '/dev/null',
                ca_certificate_file: '/dev/null',
                refresh_interval: '600s',
              },
            },
          },
        }
      : {}),
  });
}

function resources(model: MeshModel, id: string, proxylessSecurity = true) {
  const r = new Translator(model, { proxylessSecurity }).translate(id);
  if (!r.ok) throw new Error(r.error);
  return r.resources;
}

/** grpc-js-xds's verdict on one resource: undefined when valid, else its error. */
function grpcVerdict(kind: 'Listener' | 'Cluster', resource: object, providers = true): string | undefined {
  const full = kind === 'Listener' ? 'envoy.config.listener.v3.Listener' : 'envoy.config.cluster.v3.Cluster';
  const value = Buffer.from(encodeJson(lookupMessage(full), resource as Json, kind));
  const config = bootstrap(providers);
  const decoder = kind === 'Listener' ? ListenerResourceType.get() : ClusterResourceType.get();
  return decoder.decode({ server: config.xdsServers[0]!, bootstrap: config }, { type_url: `type.googleapis.com/${full}`, value }).error;
}

function serverListener(model: MeshModel, id = 'greeter-1.bar', secure = true): Obj {
  const l = resources(model, id, secure).listeners.find((x) => x.name?.startsWith('grpc/server?'));
  assert.ok(l, 'a server listener');
  return l as Obj;
}

const hcmOf = (l: Obj) => l.filter_chains[0].filters[0].typed_config;

/** The RBAC filters of a server listener as grpc-js-xds parses them (null: it could not). */
function grpcRbac(l: Obj) {
  return hcmOf(l)
    .http_filters.slice(0, -1)
    .map((f: Obj) => {
      const any = encodeAny(f.typed_config, 'rbac')!;
      return parseTopLevelFilterConfig({ type_url: any.type_url, value: Buffer.from(any.value) }, false);
    });
}

/** Every RBAC filter of the chain lets the call through (what the server's interceptors do in turn). */
function allowed(l: Obj, caller: string | undefined, path: string): boolean {
  const info = {
    destinationIp: '127.0.60.1',
    destinationPort: 50051,
    sourceIp: '127.0.60.10',
    headers: new Metadata(),
    tls: caller !== undefined,
    peerCertificate: caller ? { subjectaltname: `URI:${caller}`, subject: {} } : null,
    urlPath: path,
  };
  return grpcRbac(l).every((parsed: Obj | null) => {
    assert.ok(parsed, 'grpc-js-xds parses the RBAC config (an unparsable one would be skipped: open)');
    return parsed!.config.apply(info);
  });
}

test('the example: the Greeter server gets a STRICT mTLS listener with the RBAC of its ALLOW policy, and grpc-js-xds accepts it', () => {
  const l = serverListener(exampleMesh('proxyless-grpc'));
  assert.is(l.name, SERVER);
  assert.equal(l.address, { socket_address: { address: '127.0.60.1', port_value: 50051 } });
  const tls = l.filter_chains[0].transport_socket.typed_config;
  assert.is(tls.require_client_certificate, true);
  assert.equal(tls.common_tls_context.tls_certificate_provider_instance.instance_name, 'default');
  assert.equal(tls.common_tls_context.validation_context.ca_certificate_provider_instance.instance_name, 'default');
  const hcm = hcmOf(l);
  assert.equal(hcm.route_config.virtual_hosts[0].routes[0].non_forwarding_action, {});
  assert.equal(
    hcm.http_filters.map((f: Obj) => f.name),
    ['meshlite.rbac.allow', 'envoy.filters.http.router'],
  );
  assert.is(grpcVerdict('Listener', l), undefined);
  assert.match(grpcVerdict('Listener', l, false) ?? '', 'Unmatched', 'without the provider in the bootstrap grpc refuses it');
});

test("grpc-js-xds's own RBAC engine: only greeter-client's identity may call the Greeter", () => {
  const l = serverListener(exampleMesh('proxyless-grpc'));
  assert.is(allowed(l, 'spiffe://cluster.local/ns/foo/sa/greeter-client', SAY_HELLO), true);
  assert.is(allowed(l, 'spiffe://cluster.local/ns/foo/sa/other', SAY_HELLO), false);
  assert.is(allowed(l, 'spiffe://cluster.local/ns/foo/sa/greeter-client', '/grpc.health.v1.Health/Check'), false);
  assert.is(allowed(l, undefined, SAY_HELLO), false, 'no certificate, no identity');
});

test('the client cluster carries mTLS with the server SPIFFE id, and grpc-js-xds accepts it', () => {
  const cluster = resources(exampleMesh('proxyless-grpc'), 'greeter-client.foo').clusters[0] as Obj;
  const ctx = cluster.transport_socket.typed_config.common_tls_context;
  assert.equal(ctx.validation_context.match_subject_alt_names, [{ exact: 'spiffe://cluster.local/ns/bar/sa/greeter' }]);
  assert.is(grpcVerdict('Cluster', cluster), undefined);
  assert.match(grpcVerdict('Cluster', cluster, false) ?? '', 'Unmatched');
});

test('proxylessSecurity off (serve --insecure): plaintext cluster and server chain, RBAC kept, a warning for STRICT', () => {
  const model = exampleMesh('proxyless-grpc');
  const client = resources(model, 'greeter-client.foo', false);
  assert.is((client.clusters[0] as Obj).transport_socket, undefined);
  assert.not.match(client.warnings.join('\n'), 'require mTLS', 'the server is plaintext too: no conflict to report');
  const l = serverListener(model, 'greeter-1.bar', false);
  assert.is(l.filter_chains[0].transport_socket, undefined);
  assert.is(grpcVerdict('Listener', l, false), undefined);
  assert.match(resources(model, 'greeter-1.bar', false).warnings.join('\n'), 'served in plaintext');
});

const proxylessServer = (extra: ReturnType<typeof authorizationPolicy>[]) =>
  meshOf([
    serviceEntry('bar/greeter', { ports: [{ name: 'grpc', number: 50051, protocol: 'GRPC' }] }),
    workloadEntry(
      'bar/greeter',
      { address: '127.0.60.1', sidecar: false, ports: { grpc: 7070 } },
      { annotations: { 'proxyless.meshlite.io/grpc': 'true' } },
    ),
    workloadEntry('foo/caller', { address: '127.0.60.10', sidecar: false }, { annotations: { 'proxyless.meshlite.io/grpc': 'true' } }),
    ...extra,
  ]);

test('PERMISSIVE: plaintext server chain (grpc cannot sniff TLS) with a warning; clients call it in plaintext', () => {
  const model = proxylessServer([mtlsPolicy('istio-system/default', 'PERMISSIVE')]);
  const l = serverListener(model, 'greeter.bar');
  assert.is(l.name, 'grpc/server?xds.resource.listening_address=127.0.60.1:7070', 'the endpoint port');
  assert.is(l.filter_chains[0].transport_socket, undefined);
  assert.match(resources(model, 'greeter.bar').warnings.join('\n'), 'PERMISSIVE is served as plaintext');
  assert.is((resources(model, 'caller.foo').clusters[0] as Obj).transport_socket, undefined);
});

test('what gRPC cannot enforce fails closed, with warnings: CUSTOM denies, AUDIT left out, JWT rules dropped', () => {
  const model = proxylessServer([
    mtlsPolicy('istio-system/default', 'STRICT'),
    meshConfig({
      extensionProviders: [{ name: 'nowhere', envoyExtAuthzHttp: { service: 'ext-authz.foo.svc.cluster.local', port: 8000 } }],
    }),
    authorizationPolicy('bar/custom', {
      selector: { matchLabels: { app: 'greeter' } },
      action: 'CUSTOM',
      provider: { name: 'nowhere' },
      rules: [{ to: [{ operation: { paths: ['/admin.*'] } }] }],
    }),
    authorizationPolicy('bar/audit', { selector: { matchLabels: { app: 'greeter' } }, action: 'AUDIT', rules: [{}] }),
    authorizationPolicy('bar/jwt', {
      selector: { matchLabels: { app: 'greeter' } },
      rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }],
    }),
    requestAuthentication('bar/jwt', { selector: { matchLabels: { app: 'greeter' } }, jwtRules: [{ issuer: 'x', jwks: '{"keys":[]}' }] }),
  ]);
  const r = resources(model, 'greeter.bar');
  const warnings = r.warnings.join('\n');
  assert.match(warnings, 'AuthorizationPolicy bar/custom (CUSTOM) cannot call an external authorizer');
  assert.match(warnings, 'AuthorizationPolicy bar/audit (AUDIT) is not audited');
  assert.match(warnings, 'RequestAuthentication bar/jwt is not enforced');
  assert.match(warnings, 'AuthorizationPolicy bar/jwt rule 0: rule dropped');
  const l = serverListener(model, 'greeter.bar');
  assert.equal(
    hcmOf(l).http_filters.map((f: Obj) => f.name),
    ['meshlite.rbac.deny', 'meshlite.rbac.allow', 'envoy.filters.http.router'],
  );
  assert.is(grpcVerdict('Listener', l), undefined);
  const caller = 'spiffe://cluster.local/ns/foo/sa/caller';
  assert.is(allowed(l, caller, '/admin.Admin/Drop'), false, 'CUSTOM-matched: denied');
  assert.is(allowed(l, caller, SAY_HELLO), false, 'the only ALLOW rule needs a JWT gRPC cannot verify: nothing is allowed');
});

test('/debug/authorizationz shows the proxyless RBAC like a sidecar', () => {
  const model = exampleMesh('proxyless-grpc');
  const report = authorizationReport(model, 'greeter-1.bar');
  assert.ok(report.ok);
  if (!report.ok) return;
  assert.is(report.report.enforced, true);
  assert.equal(
    report.report.authorizationPolicies.map((p) => p.policy),
    ['bar/greeter-callers'],
  );
  assert.equal(report.report.httpFilters, hcmOf(serverListener(model)).http_filters.slice(0, -1));
  const client = authorizationReport(model, 'greeter-client.foo');
  assert.ok(client.ok && !client.report.enforced && client.report.httpFilters.length === 0, 'no server port: nothing to enforce on');
});

test.run();
