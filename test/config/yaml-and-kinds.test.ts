// YAML syntax errors, the resource envelope (apiVersion/kind/metadata), kind
// and version checks, duplicate resources and the one-MeshConfig rule.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseYamlText } from '../../src/config/yaml-files.js';
import { configOf, documentText, expectIssues, loadManifests, yaml } from '../support/fixtures/index.js';

const dr = (name: string, namespace: string) =>
  documentText('DestinationRule', `${namespace}/${name}`, `  host: ${name}.${namespace}.svc.cluster.local\n`);

const brokenFlowMap = yaml`
  apiVersion: security.istio.io/v1
  kind: PeerAuthentication
  metadata:
    name: x
    namespace: foo
  spec:
    mtls: {mode: STRICT
  ---
  apiVersion: security.istio.io/v1
  kind: PeerAuthentication
  metadata:
    name: y
    namespace: foo
  spec:
    mtls:
      mode: STRICTT
`;

test('invalid YAML is reported with its position, and other documents and files are still checked', () => {
  expectIssues(
    {
      'b.yaml': 'key: [unclosed\n',
      'a.yaml': brokenFlowMap,
      'c.yaml': yaml`
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: d
          namespace: foo
        spec:
          hots: d.foo
      `,
    },
    [
      'a.yaml:8:1: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }',
      'a.yaml:16:11: spec.mtls.mode: invalid value "STRICTT"; expected one of UNSET, DISABLE, PERMISSIVE, STRICT',
      'b.yaml:2:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'c.yaml:7:3: spec.host: required field is missing',
      'c.yaml:7:3: spec.hots: unknown field "hots" (did you mean "host"?)',
    ],
  );
});

test('YAML issues carry an empty path and are prefixed "invalid YAML"', () => {
  const parsed = parseYamlText('a: 1\na: 2\n', 'dup.yaml');
  assert.equal(parsed.documents, []);
  assert.equal(parsed.issues, [{ file: 'dup.yaml', line: 2, column: 1, path: '', message: 'invalid YAML: Map keys must be unique' }]);
});

test('tab indentation and bad nesting are YAML errors', () => {
  expectIssues('metadata:\n\tname: x\n', ['test.yaml:2:1: invalid YAML: Tabs are not allowed as indentation']);
  expectIssues('apiVersion: v1\n  kind: x\n', [
    'test.yaml:1:13: invalid YAML: Nested mappings are not allowed in compact mappings',
    'test.yaml:1:13: invalid YAML: Implicit keys need to be on a single line',
  ]);
});

test('empty and comment-only documents are skipped (leading, repeated and trailing ---)', () => {
  const trailing = configOf(`${dr('web', 'foo')}---\n`);
  assert.equal(
    trailing.destinationRules.map((d) => d.meta.name),
    ['web'],
  );
  assert.equal(parseYamlText('---\n---\n# only a comment\n---\n', 'empty.yaml'), { documents: [], issues: [] });
  const config = configOf(yaml`
    # nothing here
    ---
    ---
    apiVersion: security.istio.io/v1
    kind: PeerAuthentication
    metadata:
      name: default
      namespace: istio-system
    ---
    # trailing comment
  `);
  assert.equal(
    config.peerAuthentications.map((p) => `${p.meta.namespace}/${p.meta.name}:${p.source.line}`),
    ['istio-system/default:4'],
  );
});

test('a document that is not a map, and missing envelope fields', () => {
  expectIssues({ 'list.yaml': '- a\n- b\n', 'scalar.yaml': '# c\nhello\n' }, [
    'list.yaml:1:1: expected a map, got a list',
    'scalar.yaml:2:1: expected a map, got string "hello"',
  ]);
  expectIssues('spec: {}\n', [
    'test.yaml:1:1: apiVersion: required field is missing',
    'test.yaml:1:1: kind: required field is missing',
    'test.yaml:1:1: metadata: required field is missing',
  ]);
});

test('missing metadata.name and metadata.namespace', () => {
  expectIssues(
    yaml`
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata:
        namespace: foo
      spec:
        host: a
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata:
        name: b
        labels: {app: b}
      spec:
        host: b
    `,
    ['test.yaml:4:3: metadata.name: required field is missing', 'test.yaml:11:3: metadata.namespace: required field is missing'],
  );
});

test('bad metadata values: names, namespaces, label types, apiVersion shape, empty kind', () => {
  expectIssues(
    yaml`
      apiVersion: v1
      kind: ""
      metadata:
        name: Foo_Bar
        namespace: foo.bar
        lables: {app: x}
        labels: {version: 1}
    `,
    [
      'test.yaml:1:13: apiVersion: invalid value "v1": expected group/version, e.g. security.istio.io/v1',
      'test.yaml:2:7: kind: must not be empty',
      'test.yaml:4:9: metadata.name: invalid value "Foo_Bar": expected a lower-case DNS name',
      'test.yaml:5:14: metadata.namespace: invalid value "foo.bar": expected a lower-case DNS label',
      'test.yaml:6:3: metadata.lables: unknown field "lables" (did you mean "labels"?)',
      'test.yaml:7:21: metadata.labels.version: expected a string, got number 1',
    ],
  );
});

const withKind = (apiVersion: string, kind: string) => yaml`
  apiVersion: ${apiVersion}
  kind: ${kind}
  metadata:
    name: x
    namespace: foo
  spec: {}
`;

test('known Istio kinds meshlite does not translate are refused, not ignored', () => {
  expectIssues(
    {
      'telemetry.yaml': withKind('telemetry.istio.io/v1', 'Telemetry'),
      'ef.yaml': withKind('networking.istio.io/v1alpha3', 'EnvoyFilter'),
      'pc.yaml': withKind('networking.istio.io/v1beta1', 'ProxyConfig'),
    },
    [
      'ef.yaml:2:7: kind: EnvoyFilter (networking.istio.io) is not supported by meshlite yet; refusing it rather than ignoring it',
      'pc.yaml:2:7: kind: ProxyConfig (networking.istio.io) is not supported by meshlite yet; refusing it rather than ignoring it',
      'telemetry.yaml:2:7: kind: Telemetry (telemetry.istio.io) is not supported by meshlite yet; refusing it rather than ignoring it',
    ],
  );
});

test('unknown kinds, and known kind names under another group', () => {
  expectIssues(
    {
      'a.yaml': withKind('example.com/v1', 'Widget'),
      'b.yaml': withKind('security.istio.io/v1', 'VirtualService'),
      'c.yaml': withKind('networking.istio.io/v1', 'PeerAuthentication'),
    },
    [
      'a.yaml:2:7: kind: unknown kind "Widget" in apiVersion "example.com/v1"',
      'b.yaml:2:7: kind: unknown kind "VirtualService" in apiVersion "security.istio.io/v1"',
      'c.yaml:2:7: kind: unknown kind "PeerAuthentication" in apiVersion "networking.istio.io/v1"',
    ],
  );
});

test('a known kind under an unsupported version names the versions it is read as', () => {
  expectIssues(
    {
      'pa.yaml': withKind('security.istio.io/v1alpha1', 'PeerAuthentication'),
      'policy.yaml': withKind('authentication.istio.io/v1beta1', 'Policy'),
      'dr.yaml': withKind('networking.istio.io/v2', 'DestinationRule'),
      'mesh.yaml': 'apiVersion: meshlite.io/v1\nkind: MeshConfig\nmetadata: {name: mesh}\n',
    },
    [
      'dr.yaml:1:13: apiVersion: DestinationRule is read as networking.istio.io/v1 or networking.istio.io/v1beta1 or networking.istio.io/v1alpha3, not networking.istio.io/v2',
      'mesh.yaml:1:13: apiVersion: MeshConfig is read as meshlite.io/v1alpha1, not meshlite.io/v1',
      'pa.yaml:1:13: apiVersion: PeerAuthentication is read as security.istio.io/v1 or security.istio.io/v1beta1, not security.istio.io/v1alpha1',
      'policy.yaml:1:13: apiVersion: Policy is read as authentication.istio.io/v1alpha1, not authentication.istio.io/v1beta1',
    ],
  );
});

test('duplicate resources name the first definition, across files and within a file', () => {
  expectIssues(
    {
      'a.yaml': `# first\n${dr('web', 'foo')}---\n${dr('web', 'bar')}`,
      'b.yaml': `${dr('api', 'foo')}---\n${dr('web', 'foo')}---\n${dr('api', 'foo')}`,
    },
    [
      'b.yaml:12:9: metadata.name: duplicate DestinationRule "foo/web" (first defined in a.yaml:2)',
      'b.yaml:20:9: metadata.name: duplicate DestinationRule "foo/api" (first defined in b.yaml:1)',
    ],
  );
});

test('the same name in another namespace or of another kind is not a duplicate', () => {
  const config = configOf({
    'a.yaml': `${dr('web', 'foo')}---\n${dr('web', 'bar')}`,
    'b.yaml': yaml`
      apiVersion: security.istio.io/v1
      kind: PeerAuthentication
      metadata:
        name: web
        namespace: foo
    `,
  });
  assert.equal(
    config.destinationRules.map((d) => `${d.meta.namespace}/${d.meta.name}`),
    ['bar/web', 'foo/web'],
  );
  assert.equal(
    config.peerAuthentications.map((p) => `${p.meta.namespace}/${p.meta.name}`),
    ['foo/web'],
  );
});

const mesh = (name: string, extra = '') => documentText('MeshConfig', name, undefined, extra);

test('only one MeshConfig is allowed', () => {
  expectIssues({ 'a.yaml': mesh('one'), 'b.yaml': `# second\n${mesh('two')}` }, [
    'b.yaml:3:7: kind: only one MeshConfig is allowed (first in a.yaml)',
  ]);
  expectIssues({ 'a.yaml': mesh('mesh'), 'b.yaml': mesh('mesh') }, [
    'b.yaml:2:7: kind: only one MeshConfig is allowed (first in a.yaml)',
    'b.yaml:4:9: metadata.name: duplicate MeshConfig "istio-system/mesh" (first defined in a.yaml:1)',
  ]);
});

test('cluster-scoped kinds take no namespace', () => {
  expectIssues(mesh('mesh', '  namespace: istio-system\n'), [
    'test.yaml:5:14: metadata.namespace: MeshConfig is cluster-scoped and takes no namespace',
  ]);
});

test('issues are plain objects with file, line, column, path and message', () => {
  const result = loadManifests({ 'x.yaml': withKind('networking.istio.io/v1beta1', 'ProxyConfig') });
  assert.equal(result, {
    ok: false,
    files: ['x.yaml'],
    issues: [
      {
        file: 'x.yaml',
        line: 2,
        column: 7,
        path: 'kind',
        message: 'ProxyConfig (networking.istio.io) is not supported by meshlite yet; refusing it rather than ignoring it',
      },
    ],
    totalIssues: 1,
    summaries: [],
  });
});

test.run();
