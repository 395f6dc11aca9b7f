// Legacy Policy/MeshPolicy `origins` (end-user JWT) converted into a
// RequestAuthentication plus a DENY AuthorizationPolicy, and what is refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configOf, documentText, expectIssues } from '../support/fixtures/index.js';

const policy = (name: string, spec: string) => documentText('Policy', `foo/${name}`, spec);
const meshPolicy = (spec: string) => documentText('MeshPolicy', 'default', spec);
const ORIGIN = '  - jwt:\n      issuer: https://idp.example\n      jwksUri: https://idp.example/jwks\n';

const NO_END_USER = {
  principals: [],
  notPrincipals: [],
  requestPrincipals: [],
  notRequestPrincipals: ['*'],
  serviceAccounts: [],
  notServiceAccounts: [],
  namespaces: [],
  notNamespaces: [],
  ipBlocks: [],
  notIpBlocks: [],
  remoteIpBlocks: [],
  notRemoteIpBlocks: [],
};

test('origins become a RequestAuthentication and a DENY policy for requests with no verified end user', () => {
  const config = configOf(
    policy(
      'jwt',
      `  peers:\n  - mtls: {}\n  origins:\n${ORIGIN}      audiences: [books]\n      jwtHeaders: [X-Token]\n      jwtParams: [tok]\n  - jwt: {issuer: other, jwksUri: "http://other.example/keys"}\n  principalBinding: USE_ORIGIN\n`,
    ),
  );
  assert.equal(
    config.peerAuthentications.map((p) => [p.meta.name, p.spec.mtlsMode]),
    [['jwt', 'STRICT']],
    'the peer half is unchanged',
  );
  assert.is(config.requestAuthentications.length, 1);
  const ra = config.requestAuthentications[0]!;
  assert.equal([ra.meta.namespace, ra.meta.name, ra.spec.selector], ['foo', 'jwt-origins', undefined]);
  assert.equal(ra.spec.jwtRules, [
    {
      issuer: 'https://idp.example',
      audiences: ['books'],
      jwksUri: 'https://idp.example/jwks',
      fromHeaders: [{ name: 'x-token' }],
      fromParams: ['tok'],
      fromCookies: [],
      outputClaimToHeaders: [],
      forwardOriginalToken: false,
    },
    {
      issuer: 'other',
      audiences: [],
      jwksUri: 'http://other.example/keys',
      fromHeaders: [],
      fromParams: [],
      fromCookies: [],
      outputClaimToHeaders: [],
      forwardOriginalToken: false,
    },
  ]);
  assert.is(config.authorizationPolicies.length, 1);
  const ap = config.authorizationPolicies[0]!;
  assert.equal([ap.meta.namespace, ap.meta.name], ['foo', 'jwt-origins']);
  assert.equal(ap.spec, { action: 'DENY', rules: [{ from: [{ source: NO_END_USER }], to: [], when: [] }] });
});

test('originIsOptional: only the RequestAuthentication (a missing token passes, a bad one does not)', () => {
  const config = configOf(policy('opt', `  origins:\n${ORIGIN}  originIsOptional: true\n`));
  assert.is(config.requestAuthentications.length, 1);
  assert.equal(config.authorizationPolicies, []);
});

test('triggerRules: one DENY rule per trigger, included paths minus excluded ones', () => {
  const triggers =
    '      triggerRules:\n      - includedPaths: [{prefix: /api/}, {exact: /login}]\n        excludedPaths: [{suffix: /health}]\n      - excludedPaths: [{exact: /public}]\n';
  const config = configOf(policy('t', `  origins:\n${ORIGIN}${triggers}`));
  const rules = config.authorizationPolicies[0]!.spec.rules;
  assert.equal(
    rules.map((r) => r.to.map((t) => [t.operation.paths, t.operation.notPaths])),
    [[[['/api/*', '/login'], ['*/health']]], [[[], ['/public']]]],
  );
  for (const r of rules) assert.equal(r.from, [{ source: NO_END_USER }]);
});

test('MeshPolicy origins are mesh-wide: converted into the root namespace', () => {
  const config = configOf(meshPolicy(`  origins:\n${ORIGIN}`));
  assert.equal(
    [...config.requestAuthentications, ...config.authorizationPolicies].map((r) => `${r.kind} ${r.meta.namespace}/${r.meta.name}`),
    ['RequestAuthentication istio-system/default-origins', 'AuthorizationPolicy istio-system/default-origins'],
  );
});

test('what cannot be converted is refused at its path', () => {
  expectIssues(
    {
      'a.yaml': policy('regex', `  origins:\n${ORIGIN}      triggerRules:\n      - includedPaths: [{regex: "/a.*"}, {exact: /x*}, {}]\n`),
      'b.yaml': policy(
        'differ',
        `  origins:\n${ORIGIN}      triggerRules: [{includedPaths: [{prefix: /a}]}]\n  - jwt: {issuer: b, jwksUri: "https://b/jwks"}\n`,
      ),
      'c.yaml': policy('targets', `  targets: [{name: books}]\n  origins:\n${ORIGIN}`),
      'd.yaml': policy('binding', '  principalBinding: USE_ORIGIN\n'),
      'e.yaml': policy('nouri', '  origins:\n  - jwt: {issuer: x}\n  - jwt: {issuer: x, jwksUri: "https://x/jwks"}\n'),
    },
    [
      'a.yaml:12:33: spec.origins[0].jwt.triggerRules[0].includedPaths[0].regex: a regex path cannot be converted (AuthorizationPolicy paths are exact, prefix or suffix)',
      'a.yaml:12:50: spec.origins[0].jwt.triggerRules[0].includedPaths[1].exact: a path containing "*" cannot be converted (it would read as a wildcard)',
      'a.yaml:12:56: spec.origins[0].jwt.triggerRules[0].includedPaths[2]: give exactly one of exact, prefix, suffix or regex',
      'b.yaml:12:10: spec.origins[1].jwt.triggerRules: origins with different triggerRules cannot be converted (a RequestAuthentication accepts every issuer on every path)',
      'c.yaml:9:3: spec.origins: origins on a Policy with targets cannot be converted (end-user authentication selects workloads by label): write a RequestAuthentication with a selector and an AuthorizationPolicy',
      'd.yaml:7:21: spec.principalBinding: USE_ORIGIN binds the principal to the end user, but the policy lists no origins',
      'e.yaml:8:10: spec.origins[0].jwt.jwksUri: is required: meshlite fetches the JWKS itself and does no OpenID discovery',
      'e.yaml:9:19: spec.origins[1].jwt.issuer: issuer "x" appears twice',
    ],
  );
});

test.run();
