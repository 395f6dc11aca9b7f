// The AuthorizationPolicy fields of Istio's current API as the loader checks
// them: service accounts, path templates, filter-metadata conditions and
// target references, each error naming its field; and which workloads a
// policy with targetRef applies to.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { joinPath, type PathSegment } from '../../src/config/diagnostics.js';
import { authorizationPolicy } from '../../src/config/kinds/authorization-policy.js';
import { validateSchema } from '../../src/config/schema.js';
import { authorizationPolicy as apDoc, issuesOf, meshOf, serviceEntry, workloadEntry } from '../support/fixtures/index.js';

function check(spec: unknown): { problems: string[]; spec: any } {
  const problems = validateSchema(authorizationPolicy.specSchema, spec, ['spec']).map((p) => `${joinPath(p.path)}: ${p.message}`);
  if (problems.length) return { problems, spec: undefined };
  const reported: string[] = [];
  const built = authorizationPolicy.build(spec as Record<string, unknown>, {
    meta: { name: 'p', namespace: 'foo', labels: {}, annotations: {} },
    source: { file: 't.yaml', line: 1 },
    rootNamespace: 'istio-system',
    report: (path: PathSegment[], message: string) => reported.push(`${joinPath(path)}: ${message}`),
  });
  return { problems: reported, spec: (built as { spec: unknown }).spec };
}

const from = (source: Record<string, unknown>) => ({ rules: [{ from: [{ source }] }] });
const to = (operation: Record<string, unknown>) => ({ rules: [{ to: [{ operation }] }] });
const when = (key: string, values: string[]) => ({ rules: [{ when: [{ key, values }] }] });

test('serviceAccounts / notServiceAccounts: <namespace>/<serviceaccount> kept as written', () => {
  const { problems, spec } = check(from({ serviceAccounts: ['shop/checkout'], notServiceAccounts: ['shop/legacy'] }));
  assert.equal(problems, []);
  assert.equal(spec.rules[0].from[0].source.serviceAccounts, ['shop/checkout']);
  assert.equal(spec.rules[0].from[0].source.notServiceAccounts, ['shop/legacy']);
});

test('serviceAccounts: malformed values, too many, and mixing with principals or namespaces are errors', () => {
  const bad = ['checkout', 'shop/*', '*', 'cluster.local/ns/shop/sa/checkout', '/checkout', 'Shop/checkout'];
  assert.equal(
    check(from({ serviceAccounts: bad })).problems,
    bad.map(
      (v, i) =>
        `spec.rules[0].from[0].source.serviceAccounts[${i}]: "${v}": a service account must be written <namespace>/<serviceaccount> (lower-case names, no wildcard)`,
    ),
  );
  const many = Array.from({ length: 17 }, (_, i) => `shop/sa${i}`);
  assert.equal(check(from({ notServiceAccounts: many })).problems, [
    'spec.rules[0].from[0].source.notServiceAccounts: at most 16 service accounts',
  ]);
  assert.equal(check(from({ serviceAccounts: ['shop/a'], principals: ['cluster.local/ns/shop/sa/a'] })).problems, [
    'spec.rules[0].from[0].source.serviceAccounts: cannot be set together with principals in the same source',
  ]);
  assert.equal(check(from({ notServiceAccounts: ['shop/a'], notNamespaces: ['dev'] })).problems, [
    'spec.rules[0].from[0].source.notServiceAccounts: cannot be set together with notNamespaces in the same source',
  ]);
});

test('path templates: {*} and {**} as whole segments, {**} last; anything else is a precise error', () => {
  const good = ['/api/{*}/orders', '/files/{**}', '/{*}/{*}/v1/{**}', '/static/{**}/', '/a/{*}'];
  assert.equal(check(to({ paths: good, notPaths: ['/admin/{**}'] })).problems, []);
  const cases: [string, string][] = [
    ['api/{*}', 'it must start with "/"'],
    ['/a/{**}/b/{*}', '"{**}" must be the last operator'],
    ['/a/{**}/{**}', '"{**}" must be the last operator'],
    ['/a/{*}.txt', '"{*}" and "{**}" must fill a whole segment, and no other "*" or "{...}" may appear'],
    ['/*/b/{*}', '"{*}" and "{**}" must fill a whole segment, and no other "*" or "{...}" may appear'],
    ['/{id}/{*}', '"{*}" and "{**}" must fill a whole segment, and no other "*" or "{...}" may appear'],
    [`/${'x'.repeat(256)}/{*}`, 'longer than 256 characters'],
  ];
  assert.equal(
    check(to({ notPaths: cases.map(([v]) => v) })).problems,
    cases.map(([v, why], i) => `spec.rules[0].to[0].operation.notPaths[${i}]: "${v}" is not a valid path template: ${why}`),
  );
  // Not a template: the usual wildcard rules still apply to other values.
  assert.equal(check(to({ paths: ['/a*b'] })).problems, [
    'spec.rules[0].to[0].operation.paths[0]: "/a*b": a wildcard may only be "*", a prefix "x*" or a suffix "*x"',
  ]);
});

test('experimental.envoy.filters.<filter>[<key>] conditions: valid keys and values pass, others are named', () => {
  assert.equal(check(when('experimental.envoy.filters.http.header_to_metadata[tier]', ['gold', '[beta]', 'pre*'])).problems, []);
  assert.equal(check(when('experimental.envoy.filters.network.mysql_proxy[db.table]', ['[update]'])).problems, []);
  for (const key of [
    'experimental.envoy.filters.http.x',
    'experimental.envoy.filters.[k]',
    'experimental.envoy.filters.http.x[a][b]',
    'experimental.envoy.filters.http.x[]',
  ]) {
    assert.equal(check(when(key, ['v'])).problems, [
      `spec.rules[0].when[0].key: "${key}": expected experimental.envoy.filters.<filter name>[<metadata key>]`,
    ]);
  }
  assert.equal(check(when('experimental.envoy.filters.http.x[k]', ['[]', 'a[b]', 'a*b'])).problems, [
    'spec.rules[0].when[0].values[0]: "[]": the value is empty',
    'spec.rules[0].when[0].values[1]: "a[b]": write a list value as [v], with no other brackets',
    'spec.rules[0].when[0].values[2]: "a*b": a wildcard may only be "*", a prefix "x*" or a suffix "*x"',
  ]);
});

test('targetRef / targetRefs: Service and ServiceEntry of the own namespace; Gateway refused with the reason', () => {
  assert.equal(check({ targetRef: { kind: 'Service', group: '', name: 'shop' } }).spec.targetRefs, [{ kind: 'Service', name: 'shop' }]);
  assert.equal(
    check({
      targetRefs: [
        { kind: 'ServiceEntry', group: 'networking.istio.io', name: 'a', namespace: 'foo' },
        { kind: 'Service', name: 'b' },
      ],
    }).spec.targetRefs,
    [
      { kind: 'ServiceEntry', name: 'a' },
      { kind: 'Service', name: 'b' },
    ],
  );
  assert.equal(check({ targetRef: { kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw' } }).problems, [
    "spec.targetRef.kind: kind Gateway cannot be targeted: there are no Gateway API objects outside Kubernetes: select the gateway's workloads with spec.selector instead",
  ]);
  assert.equal(
    check({
      targetRefs: [
        { kind: 'Service', name: 'x', namespace: 'bar' },
        { kind: 'ServiceEntry', name: 'y' },
      ],
    }).problems,
    [
      'spec.targetRefs[0].namespace: a policy can only target objects of its own namespace "foo"',
      'spec.targetRefs[1].group: kind ServiceEntry belongs to group "networking.istio.io", not ""',
    ],
  );
  assert.equal(check({ targetRef: { kind: 'Pod', name: 'x' } }).problems, [
    "spec.targetRef.kind: kind Pod cannot be targeted: only Service and ServiceEntry (a ServiceEntry of the policy's namespace) can be targeted",
  ]);
  assert.equal(check({ selector: { matchLabels: { a: 'b' } }, targetRef: { kind: 'Service', name: 'x' }, targetRefs: [] }).problems, [
    'spec.targetRefs: set targetRef or targetRefs, not both',
    'spec.selector: selector cannot be set together with targetRef or targetRefs',
    'spec.targetRefs: an empty list targets nothing: leave it out or name a target',
  ]);
});

test('the loader refuses a targetRef to a missing ServiceEntry or to one without workloadSelector', () => {
  const issues = issuesOf([
    serviceEntry('foo/inline', { workloadSelector: undefined, endpoints: [{ address: '127.0.1.9' }] }),
    apDoc('foo/missing', { targetRef: { kind: 'Service', name: 'nope' } }),
    apDoc('foo/no-selector', { targetRefs: [{ kind: 'ServiceEntry', group: 'networking.istio.io', name: 'inline' }] }),
  ]);
  assert.equal(
    issues.map((i) => i.replace(/^[^:]*:\d+:\d+: /, '')),
    [
      'spec.targetRef.name: no ServiceEntry "nope" in namespace "foo" (a Service target is the ServiceEntry of that name)',
      'spec.targetRefs[0].name: ServiceEntry "foo/inline" has no workloadSelector, so it selects no workload to apply the policy to',
    ],
  );
});

test("a targeted policy applies to the ServiceEntry's selected workloads of its namespace only", () => {
  const model = meshOf([
    serviceEntry('foo/shop', { workloadSelector: { labels: { app: 'shop' } }, resolution: 'STATIC' }),
    serviceEntry('bar/shop', { workloadSelector: { labels: { app: 'shop' } }, resolution: 'STATIC' }),
    workloadEntry('foo/shop', { address: '127.0.1.1', labels: { app: 'shop' } }),
    workloadEntry('foo/cart', { address: '127.0.1.2', labels: { app: 'cart' } }),
    workloadEntry('bar/shop', { address: '127.0.2.1', labels: { app: 'shop' } }),
    apDoc('foo/shop-only', { targetRef: { kind: 'Service', name: 'shop' }, action: 'DENY', rules: [{}] }),
  ]);
  const names = (id: string) => model.authz.for(model.registry.workload(id)!).authorizationPolicies.map((p) => p.meta.name);
  assert.equal(names('shop.foo'), ['shop-only']);
  assert.equal(names('cart.foo'), []);
  assert.equal(names('shop.bar'), [], "another namespace's workload with the same labels is not a target");
});

test.run();
