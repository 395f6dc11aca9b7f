// MeshConfig extensionProviders (Istio's meshConfig.extensionProviders, the
// ext_authz kinds): the typed shape, every schema and semantic error at its
// file:line:col, and the cross-check that a CUSTOM AuthorizationPolicy names a
// declared provider.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configOf, expectIssues, yaml } from '../support/fixtures/index.js';

const MESH = (providers: string) => yaml`
  apiVersion: meshlite.io/v1alpha1
  kind: MeshConfig
  metadata:
    name: mesh
  spec:
    extensionProviders:
${providers}
`;

const indent = (text: string) => text.replace(/^/gm, '    ');

const CUSTOM = (provider: string, name = 'ext') => yaml`
  apiVersion: security.istio.io/v1
  kind: AuthorizationPolicy
  metadata:
    name: ${name}
    namespace: foo
  spec:
    action: CUSTOM
    provider:
      name: ${provider}
    rules:
    - to:
      - operation:
          paths: ["/admin*"]
`;

test('providers of both kinds load into the typed shape', () => {
  const config = configOf({
    'mesh.yaml': MESH(
      indent(yaml`
      - name: http-authz
        envoyExtAuthzHttp:
          service: ext-authz.foo.svc.cluster.local
          port: 8000
          timeout: 250ms
          pathPrefix: /check
          failOpen: true
          statusOnError: "503"
          includeRequestHeadersInCheck: [x-ext-authz, "x-trace-*"]
          includeAdditionalHeadersInCheck: {x-z: last, x-a: first}
          headersToUpstreamOnAllow: [x-user]
          headersToDownstreamOnDeny: [x-reason]
          headersToDownstreamOnAllow: [set-cookie]
          includeRequestBodyInCheck: {maxRequestBytes: 4096, allowPartialMessage: true}
      - name: grpc-authz
        envoyExtAuthzGrpc:
          service: foo/ext-authz.foo.svc.cluster.local
          port: 9000
          statusOnError: 401
    `),
    ),
  });
  assert.equal(config.mesh.extensionProviders, [
    {
      name: 'http-authz',
      kind: 'envoyExtAuthzHttp',
      http: {
        service: 'ext-authz.foo.svc.cluster.local',
        port: 8000,
        timeout: '250ms',
        failOpen: true,
        statusOnError: 503,
        pathPrefix: '/check',
        includeRequestHeadersInCheck: ['x-ext-authz', 'x-trace-*'],
        includeAdditionalHeadersInCheck: { 'x-a': 'first', 'x-z': 'last' },
        headersToUpstreamOnAllow: ['x-user'],
        headersToDownstreamOnDeny: ['x-reason'],
        headersToDownstreamOnAllow: ['set-cookie'],
        includeRequestBodyInCheck: { maxRequestBytes: 4096, allowPartialMessage: true },
      },
    },
    {
      name: 'grpc-authz',
      kind: 'envoyExtAuthzGrpc',
      grpc: { service: 'foo/ext-authz.foo.svc.cluster.local', port: 9000, timeout: undefined, failOpen: false, statusOnError: 401 },
    },
  ]);
});

test('no MeshConfig, or none declared: no providers', () => {
  assert.equal(
    configOf(yaml`
    apiVersion: meshlite.io/v1alpha1
    kind: MeshConfig
    metadata: {name: mesh}
    spec: {trustDomain: example.org}
  `).mesh.extensionProviders,
    [],
  );
});

test('schema errors name the field, at its line', () => {
  expectIssues(
    {
      'mesh.yaml': MESH(
        indent(yaml`
      - name: a
        envoyExtAuthzHTTP:
          service: x.foo
          port: 80
      - name: b
        envoyExtAuthzGrpc:
          service: Not_A_Host
          port: 0
          timeout: 5 seconds
      - envoyExtAuthzGrpc:
          port: 70000
      - name: c
        envoyExtAuthzHttp:
          service: c.foo
          port: 80
          includeRequestBodyInCheck: {allowPartialMessage: true}
          failOpen: "yes"
    `),
      ),
    },
    [
      'mesh.yaml:8:5: spec.extensionProviders[0].envoyExtAuthzHTTP: unknown field "envoyExtAuthzHTTP" (did you mean "envoyExtAuthzHttp"?)',
      'mesh.yaml:13:16: spec.extensionProviders[1].envoyExtAuthzGrpc.service: invalid value "Not_A_Host": expected a service host name such as "ext-authz.foo.svc.cluster.local" (or "<namespace>/<host>")',
      'mesh.yaml:14:13: spec.extensionProviders[1].envoyExtAuthzGrpc.port: must be >= 1, got 0',
      'mesh.yaml:15:16: spec.extensionProviders[1].envoyExtAuthzGrpc.timeout: invalid value "5 seconds": expected a duration such as "5s", "100ms" or "1m30s"',
      'mesh.yaml:16:5: spec.extensionProviders[2].name: required field is missing',
      'mesh.yaml:17:7: spec.extensionProviders[2].envoyExtAuthzGrpc.service: required field is missing',
      'mesh.yaml:17:13: spec.extensionProviders[2].envoyExtAuthzGrpc.port: must be <= 65535, got 70000',
      'mesh.yaml:22:34: spec.extensionProviders[3].envoyExtAuthzHttp.includeRequestBodyInCheck.maxRequestBytes: required field is missing',
      'mesh.yaml:23:17: spec.extensionProviders[3].envoyExtAuthzHttp.failOpen: expected true or false, got string "yes"',
    ],
  );
});

test('semantic errors: duplicate names, kinds, status codes, pathPrefix, header names', () => {
  expectIssues(
    {
      'mesh.yaml': MESH(
        indent(yaml`
      - name: a
        envoyExtAuthzGrpc: {service: a.foo, port: 9000, statusOnError: 418}
      - name: a
        envoyExtAuthzGrpc: {service: a.foo, port: 9000, statusOnError: "forbidden"}
      - name: both
        envoyExtAuthzGrpc: {service: a.foo, port: 9000}
        envoyExtAuthzHttp: {service: a.foo, port: 8000}
      - name: neither
      - name: h
        envoyExtAuthzHttp:
          service: h.foo
          port: 8000
          pathPrefix: check
          includeRequestHeadersInCheck: ["x-*-y", "bad header"]
          includeAdditionalHeadersInCheck: {"x a": "1", x-ok: "a\\nb"}
    `),
      ),
    },
    [
      'mesh.yaml:8:68: spec.extensionProviders[0].envoyExtAuthzGrpc.statusOnError: 418 is not an HTTP status code Envoy accepts here',
      'mesh.yaml:9:11: spec.extensionProviders[1].name: duplicate extension provider "a" (first at extensionProviders[0])',
      'mesh.yaml:10:68: spec.extensionProviders[1].envoyExtAuthzGrpc.statusOnError: expected an HTTP status code such as 403 or "503", got "forbidden"',
      'mesh.yaml:11:5: spec.extensionProviders[2]: set only one of envoyExtAuthzHttp or envoyExtAuthzGrpc',
      'mesh.yaml:14:5: spec.extensionProviders[3]: needs envoyExtAuthzHttp or envoyExtAuthzGrpc (the provider kinds meshlite supports)',
      'mesh.yaml:19:19: spec.extensionProviders[4].envoyExtAuthzHttp.pathPrefix: "check" must start with "/" and hold no spaces, "?" or "#"',
      'mesh.yaml:20:38: spec.extensionProviders[4].envoyExtAuthzHttp.includeRequestHeadersInCheck[0]: "x-*-y" is not a header name (or a "prefix*" / "*suffix" pattern)',
      'mesh.yaml:20:47: spec.extensionProviders[4].envoyExtAuthzHttp.includeRequestHeadersInCheck[1]: "bad header" is not a header name (or a "prefix*" / "*suffix" pattern)',
      'mesh.yaml:21:48: spec.extensionProviders[4].envoyExtAuthzHttp.includeAdditionalHeadersInCheck["x a"]: "x a" is not a header name',
      'mesh.yaml:21:59: spec.extensionProviders[4].envoyExtAuthzHttp.includeAdditionalHeadersInCheck.x-ok: a header value cannot hold NUL, CR or LF',
    ],
  );
});

const PROVIDERS = MESH(
  indent(yaml`
  - name: authz
    envoyExtAuthzHttp: {service: ext-authz.foo.svc.cluster.local, port: 8000}
  - name: grpc-authz
    envoyExtAuthzGrpc: {service: ext-authz.foo.svc.cluster.local, port: 9000}
`),
);

test('cross-check: a CUSTOM policy names a declared provider', () => {
  const config = configOf({ 'mesh.yaml': PROVIDERS, 'policy.yaml': CUSTOM('authz') });
  assert.equal(
    config.authorizationPolicies.map((p) => [p.meta.name, p.spec.action, p.spec.provider]),
    [['ext', 'CUSTOM', 'authz']],
  );
  expectIssues({ 'mesh.yaml': PROVIDERS, 'policy.yaml': CUSTOM('authz-typo') }, [
    'policy.yaml:9:11: spec.provider.name: extension provider "authz-typo" is not declared in the MeshConfig\'s extensionProviders (declared: "authz", "grpc-authz")',
  ]);
});

test('cross-check without a MeshConfig: every CUSTOM provider is unknown', () => {
  expectIssues({ 'policy.yaml': CUSTOM('authz') }, [
    'policy.yaml:9:11: spec.provider.name: extension provider "authz" is not declared in the MeshConfig\'s extensionProviders (it declares none)',
  ]);
});

test('an invalid MeshConfig reports its own errors, not every CUSTOM policy', () => {
  expectIssues(
    {
      'mesh.yaml': MESH(
        indent(yaml`
    - name: authz
      envoyExtAuthzHttp: {service: ext-authz.foo, port: nope}
  `),
      ),
      'policy.yaml': CUSTOM('authz'),
    },
    ['mesh.yaml:8:55: spec.extensionProviders[0].envoyExtAuthzHttp.port: expected an integer, got string "nope"'],
  );
});

test('a MeshConfig whose schema holds but whose meaning does not: its error once, and no CUSTOM policy blamed for it', () => {
  expectIssues(
    {
      'mesh.yaml': MESH(
        indent(yaml`
    - name: other
      envoyExtAuthzHttp: {service: ext-authz.foo, port: 8000, pathPrefix: nope}
  `),
      ),
      'policy.yaml': CUSTOM('authz'),
    },
    ['mesh.yaml:8:73: spec.extensionProviders[0].envoyExtAuthzHttp.pathPrefix: "nope" must start with "/" and hold no spaces, "?" or "#"'],
  );
});

test.run();
