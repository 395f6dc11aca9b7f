// AuthorizationPolicy and RequestAuthentication schemas and checks. The kinds
// are not registered yet, so they are driven here directly; the loader itself
// must keep refusing them until enforcement lands (checked below too).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { joinPath, type PathSegment } from '../../src/config/diagnostics.js';
import { authorizationPolicy } from '../../src/config/kinds/authorization-policy.js';
import type { KindHandler } from '../../src/config/kinds/kind-handler.js';
import { requestAuthentication } from '../../src/config/kinds/request-authentication.js';
import { buildConfigSet } from '../../src/config/load-config.js';
import { validateSchema } from '../../src/config/schema.js';
import { parseYamlText } from '../../src/config/yaml-files.js';

function check(handler: KindHandler, spec: unknown) {
  const problems = validateSchema(handler.specSchema, spec, ['spec']).map((p) => `${joinPath(p.path)}: ${p.message}`);
  if (problems.length) return { problems, built: undefined };
  const reported: string[] = [];
  const built = handler.build(spec as Record<string, unknown>, {
    meta: { name: 'p', namespace: 'foo', labels: {}, annotations: {} },
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
  const ok = check(requestAuthentication, { jwtRules: [{ issuer: 'https://issuer.example', jwks: '{"keys":[]}', fromHeaders: [{ name: 'x-jwt', prefix: 'Bearer ' }], forwardOriginalToken: true }] });
  assert.equal(ok.problems, []);
  assert.equal((ok.built as { spec: any }).spec.jwtRules[0].fromHeaders, [{ name: 'x-jwt', prefix: 'Bearer ' }]);
  const bad = check(requestAuthentication, {
    jwtRules: [
      { issuer: 'a', jwks: 'not json' },
      { issuer: 'a', jwks: '{"keys":[]}', jwksUri: 'https://x/jwks' },
      { issuer: 'b' },
    ],
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

test('until enforcement lands, the loader refuses both kinds (fail closed)', () => {
  const text = ['AuthorizationPolicy', 'RequestAuthentication'].map((k) => `apiVersion: security.istio.io/v1\nkind: ${k}\nmetadata: {name: p, namespace: foo}\nspec: {}\n`).join('---\n');
  const parsed = parseYamlText(text, 'authz.yaml');
  const result = buildConfigSet(parsed.documents, parsed.issues);
  assert.not.ok(result.ok);
  if (result.ok) return;
  assert.equal(result.issues.map((i) => i.message), [
    'AuthorizationPolicy (security.istio.io) is not supported by meshlite yet; refusing it rather than ignoring it',
    'RequestAuthentication (security.istio.io) is not supported by meshlite yet; refusing it rather than ignoring it',
  ]);
});

test.run();
