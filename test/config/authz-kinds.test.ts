// AuthorizationPolicy and RequestAuthentication schemas and checks, driven
// through their handlers directly, and through the loader.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIssue, joinPath, type PathSegment } from '../../src/config/diagnostics.js';
import { authorizationPolicy } from '../../src/config/kinds/authorization-policy.js';
import type { KindHandler } from '../../src/config/kinds/kind-handler.js';
import { requestAuthentication } from '../../src/config/kinds/request-authentication.js';
import { validateSchema } from '../../src/config/schema.js';
import * as documents from '../support/fixtures/documents.js';
import { jwksTimeoutsOf } from '../../src/model/authorization.js';
import { configOf, loadManifests } from '../support/fixtures/index.js';

function check(handler: KindHandler, spec: unknown, annotations: Record<string, string> = {}) {
  const problems = validateSchema(handler.specSchema, spec, ['spec']).map((p) => `${joinPath(p.path)}: ${p.message}`);
  if (problems.length) return { problems, built: undefined };
  const reported: string[] = [];
  const built = handler.build(spec as Record<string, unknown>, {
    meta: { name: 'p', namespace: 'foo', labels: {}, annotations },
    source: { file: 't.yaml', line: 1 },
    rootNamespace: 'istio-system',
    report: (path: PathSegment[], message: string) => reported.push(`${joinPath(path)}: ${message}`),
  });
  return { problems: reported, built };
}

test('S5 DENY policy converts to typed rules', () => {
  const { problems, built } = check(authorizationPolicy, {
    selector: { matchLabels: { app: 'httpbin' } },
    action: 'DENY',
    rules: [{ from: [{ source: { principals: ['cluster.local/ns/full/sa/sleep'] } }], to: [{ operation: { methods: ['GET'] } }] }],
  });
  assert.equal(problems, []);
  const spec = (built as { spec: any }).spec;
  assert.is(spec.action, 'DENY');
  assert.equal(spec.selector, { app: 'httpbin' });
  assert.equal(spec.rules[0].from[0].source.principals, ['cluster.local/ns/full/sa/sleep']);
  assert.equal(spec.rules[0].to[0].operation.methods, ['GET']);
  assert.equal(spec.rules[0].when, []);
});

test('an ALLOW policy with no rules is kept as such (deny all), defaulting the action', () => {
  const { problems, built } = check(authorizationPolicy, {});
  assert.equal(problems, []);
  assert.equal((built as { spec: any }).spec, { selector: undefined, action: 'ALLOW', provider: undefined, rules: [] });
});

test('authorization policy errors name the field', () => {
  const { problems } = check(authorizationPolicy, {
    action: 'CUSTOM',
    rules: [
      {
        from: [{ source: {} }, { source: { principals: ['a*b*'], ipBlocks: ['10.0.0.0/33'] } }],
        to: [{ operation: { ports: ['http'] } }],
        when: [{ key: 'request.header[x]', values: ['1'] }, { key: 'source.ip' }],
      },
    ],
  });
  assert.equal(problems, [
    'spec.provider: action CUSTOM needs provider.name (an extension provider of the mesh config)',
    'spec.rules[0].from[0].source: a source needs at least one field',
    'spec.rules[0].from[1].source.principals[0]: "a*b*": a wildcard may only be "*", a prefix "x*" or a suffix "*x"',
    problems[3]!,
    'spec.rules[0].to[0].operation.ports[0]: "http" is not a port number',
    'spec.rules[0].when[0].key: unknown condition key "request.header[x]"',
    'spec.rules[0].when[1]: a condition needs values or notValues',
  ]);
  assert.match(problems[3]!, /^spec\.rules\[0\]\.from\[1\]\.source\.ipBlocks\[0\]: /);
  const typo = check(authorizationPolicy, { rules: [{ from: [{ source: { principal: ['x'] } }] }] });
  assert.match(typo.problems[0]!, 'unknown field "principal" (did you mean "principals"?)');
});

test('RequestAuthentication: inline JWKS or jwksUri, one of them, valid, issuers unique', () => {
  const ok = check(requestAuthentication, {
    jwtRules: [
      {
        issuer: 'https://issuer.example',
        jwks: '{"keys":[]}',
        fromHeaders: [{ name: 'x-jwt', prefix: 'Bearer ' }],
        forwardOriginalToken: true,
      },
    ],
  });
  assert.equal(ok.problems, []);
  assert.equal((ok.built as { spec: any }).spec.jwtRules[0].fromHeaders, [{ name: 'x-jwt', prefix: 'Bearer ' }]);
  const bad = check(requestAuthentication, {
    jwtRules: [{ issuer: 'a', jwks: 'not json' }, { issuer: 'a', jwks: '{"keys":[]}', jwksUri: 'https://x/jwks' }, { issuer: 'b' }],
  });
  assert.equal(bad.problems, [
    'spec.jwtRules[0].jwks: is not valid JSON',
    'spec.jwtRules[1].jwks: give jwks or jwksUri, not both',
    'spec.jwtRules[2]: a JWT rule needs jwks (inline) or jwksUri (fetched by meshlite)',
    'spec.jwtRules[1].issuer: issuer "a" appears twice',
  ]);
  const scheme = check(requestAuthentication, { jwtRules: [{ issuer: 'a', jwksUri: 'file:///etc/jwks.json' }] });
  assert.match(scheme.problems[0]!, 'spec.jwtRules[0].jwksUri: invalid value "file:///etc/jwks.json": expected an http:// or https:// URL');
});

test('RequestAuthentication claim headers: Istio header names (lower-cased), nested claims, no reserved or repeated headers; timeout', () => {
  const ok = check(requestAuthentication, {
    jwtRules: [
      {
        issuer: 'a',
        jwksUri: 'https://idp/jwks',
        timeout: '1m30s',
        fromCookies: ['session'],
        outputClaimToHeaders: [
          { header: 'X-Jwt_Sub', claim: 'sub' },
          { header: 'x-team', claim: 'org.team.name' },
        ],
      },
    ],
  });
  assert.equal(ok.problems, []);
  const rule = (ok.built as { spec: any }).spec.jwtRules[0];
  assert.equal(rule.outputClaimToHeaders, [
    { header: 'x-jwt_sub', claim: 'sub' },
    { header: 'x-team', claim: 'org.team.name' },
  ]);
  assert.equal([rule.timeout, rule.fromCookies], ['1m30s', ['session']]);
  const badName = check(requestAuthentication, {
    jwtRules: [{ issuer: 'a', jwks: '{"keys":[]}', outputClaimToHeaders: [{ header: 'x:y', claim: 'c' }] }],
  });
  assert.match(badName.problems[0]!, 'spec.jwtRules[0].outputClaimToHeaders[0].header: invalid value "x:y"');
  const bad = check(requestAuthentication, {
    jwtRules: [
      {
        issuer: 'a',
        jwksUri: 'https://idp/jwks',
        timeout: '0s',
        outputClaimToHeaders: [
          { header: 'Host', claim: 'c' },
          { header: 'x-a', claim: 'a..b' },
          { header: 'X-A', claim: 'b' },
        ],
      },
    ],
  });
  assert.equal(bad.problems, [
    'spec.jwtRules[0].timeout: must be greater than zero',
    'spec.jwtRules[0].outputClaimToHeaders[0].header: "host" cannot carry a claim',
    'spec.jwtRules[0].outputClaimToHeaders[1].claim: a nested claim is written "outer.inner" with no empty part',
    'spec.jwtRules[0].outputClaimToHeaders[2].header: header "x-a" is written twice',
  ]);
});

test('jwksUri fetch timeouts: the rule timeout, else 5s; the longest wins when rules share a URI', () => {
  const config = configOf([
    documents.requestAuthentication('foo/one', {
      jwtRules: [
        { issuer: 'a', jwksUri: 'https://x/jwks', timeout: '200ms' },
        { issuer: 'b', jwksUri: 'https://y/jwks' },
      ],
    }),
    documents.requestAuthentication('foo/two', {
      jwtRules: [
        { issuer: 'c', jwksUri: 'https://x/jwks', timeout: '1m' },
        { issuer: 'd', jwks: '{"keys":[]}', timeout: '9s' },
      ],
    }),
  ]);
  assert.equal([...jwksTimeoutsOf(config)].sort(), [
    ['https://x/jwks', 60_000],
    ['https://y/jwks', 5_000],
  ]);
});

test('the loader accepts both kinds (v1 and v1beta1) into the config set; an empty AuthorizationPolicy is ALLOW with no rules', () => {
  const allowGet = documents.authorizationPolicy('foo/allow-get', { rules: [{ to: [{ operation: { methods: ['GET'] } }] }] });
  const result = loadManifests([
    documents.authorizationPolicy('foo/deny-all'),
    { ...allowGet, apiVersion: 'security.istio.io/v1beta1' },
    documents.requestAuthentication('foo/jwt', { jwtRules: [{ issuer: 'a', jwksUri: 'https://idp.example/jwks' }] }),
  ]);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
  if (!result.ok) return;
  assert.equal(
    result.config.authorizationPolicies.map((p) => [p.meta.name, p.spec.action, p.spec.rules.length]),
    [
      ['allow-get', 'ALLOW', 1],
      ['deny-all', 'ALLOW', 0],
    ],
  );
  assert.equal(
    result.config.requestAuthentications.map((r) => r.spec.jwtRules.map((j) => j.jwksUri)),
    [['https://idp.example/jwks']],
  );
});

/** One AuthorizationPolicy document, its `istio.io/dry-run` annotation on line 7 (value at column 23). */
const dryRunPolicy = (value: string) =>
  `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: shadow
  namespace: foo
  annotations:
    istio.io/dry-run: ${value}
spec:
  action: ALLOW
  rules: [{from: [{source: {namespaces: [foo]}}]}]
`;

const loadPolicy = (text: string) => loadManifests({ 'authz.yaml': text });

test('istio.io/dry-run: the boolean spellings Istio accepts mark (or not) the policy dry-run; any other value is an error naming the annotation', () => {
  const specOf = (value: string) => {
    const r = loadPolicy(dryRunPolicy(value));
    assert.ok(r.ok, `${value}: ${JSON.stringify(!r.ok && r.issues)}`);
    return r.ok ? r.config.authorizationPolicies.map((p) => [p.meta.name, p.spec.action, p.spec.rules.length, p.spec.dryRun]) : [];
  };
  for (const value of ['"true"', '"True"', '"TRUE"', '"t"', '"1"']) assert.equal(specOf(value), [['shadow', 'ALLOW', 1, true]], value);
  for (const value of ['"false"', '"False"', '"FALSE"', '"f"', '"0"'])
    assert.equal(specOf(value), [['shadow', 'ALLOW', 1, undefined]], value);
  for (const [value, shown] of [
    ['"yes"', 'yes'],
    ['"tRuE"', 'tRuE'],
    ['"on"', 'on'],
    ['""', ''],
  ] as const) {
    const bad = loadPolicy(dryRunPolicy(value));
    assert.equal(
      bad.ok ? [] : bad.issues.map(formatIssue),
      [`authz.yaml:7:23: metadata.annotations["istio.io/dry-run"]: expected a boolean ("true" or "false"), got "${shown}"`],
      value,
    );
  }
  // Unquoted YAML booleans are not strings: the annotation schema refuses them first.
  const unquoted = loadPolicy(dryRunPolicy('true'));
  assert.equal(unquoted.ok ? [] : unquoted.issues.map(formatIssue), [
    'authz.yaml:7:23: metadata.annotations["istio.io/dry-run"]: expected a string, got boolean true',
  ]);
});

test('the handler accepts dry-run on every action, and only reads its own annotation', () => {
  for (const action of ['ALLOW', 'DENY', 'AUDIT'] as const) {
    const { problems, built } = check(authorizationPolicy, { action }, { 'istio.io/dry-run': 'true' });
    assert.equal(problems, [], action);
    assert.is((built as { spec: { dryRun?: true } }).spec.dryRun, true, action);
  }
  const other = check(authorizationPolicy, { action: 'DENY' }, { 'istio.io/other': 'true', 'example.com/dry-run': 'true' });
  assert.equal(other.problems, []);
  assert.is((other.built as { spec: { dryRun?: true } }).spec.dryRun, undefined, 'only istio.io/dry-run counts');
});

test.run();
