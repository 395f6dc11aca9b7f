// PeerAuthentication semantics (root namespace, selectors, port-level mTLS),
// MeshConfig defaults/overrides, and the legacy Policy/MeshPolicy conversion.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_MESH_CONFIG } from '../../src/config/types.js';
import { configOf, documentText, entries, expectIssues, yaml } from '../support/fixtures/index.js';

const pa = (namespace: string, spec: string) => documentText('PeerAuthentication', `${namespace}/pa`, spec);
const MESH_ROOT = documentText('MeshConfig', 'mesh', '  rootNamespace: mesh-root\n');

const SELECTOR = '  selector:\n    matchLabels: {app: httpbin}\n';

test('a selector on a policy in the default root namespace istio-system is refused', () => {
  expectIssues(pa('istio-system', `${SELECTOR}  mtls: {mode: STRICT}\n`), [
    'test.yaml:8:5: spec.selector: a policy in the root namespace "istio-system" is mesh-wide and cannot have a selector',
  ]);
});

test('the root namespace comes from the MeshConfig when one sets it', () => {
  // The MeshConfig is read first even when its file comes after the policy's.
  expectIssues({ 'a.yaml': pa('mesh-root', SELECTOR), 'z-mesh.yaml': MESH_ROOT }, [
    'a.yaml:8:5: spec.selector: a policy in the root namespace "mesh-root" is mesh-wide and cannot have a selector',
  ]);
  const config = configOf({ 'a.yaml': pa('istio-system', SELECTOR), 'z-mesh.yaml': MESH_ROOT });
  assert.is(config.mesh.rootNamespace, 'mesh-root');
  assert.equal(config.peerAuthentications[0]!.spec.selector, { app: 'httpbin' });
});

test('an empty selector is no selector, even in the root namespace', () => {
  const config = configOf(pa('istio-system', '  selector: {}\n  mtls: {mode: PERMISSIVE}\n'));
  const spec = config.peerAuthentications[0]!.spec;
  assert.is(spec.selector, undefined);
  assert.is(spec.mtlsMode, 'PERMISSIVE');
});

test('portLevelMtls needs a workload selector', () => {
  expectIssues(pa('foo', '  mtls: {mode: STRICT}\n  portLevelMtls:\n    8080:\n      mode: DISABLE\n'), [
    'test.yaml:9:5: spec.portLevelMtls: portLevelMtls needs a workload selector',
  ]);
});

test('portLevelMtls ports out of range, and keys that are not port numbers', () => {
  expectIssues(pa('foo', `${SELECTOR}  portLevelMtls:\n    0: {mode: STRICT}\n    70000:\n      mode: DISABLE\n`), [
    'test.yaml:10:8: spec.portLevelMtls["0"]: port must be between 1 and 65535',
    'test.yaml:12:7: spec.portLevelMtls["70000"]: port must be between 1 and 65535',
  ]);
  expectIssues(pa('foo', `${SELECTOR}  portLevelMtls:\n    http: {mode: STRICT}\n`), [
    'test.yaml:10:5: spec.portLevelMtls.http: expected a port number as key, got "http"',
  ]);
});

test('a valid PeerAuthentication is converted with sorted labels and numeric ports', () => {
  const config = configOf(
    pa(
      'foo',
      '  selector:\n    matchLabels: {version: v1, app: httpbin}\n  portLevelMtls:\n    8080: {mode: DISABLE}\n    80:\n      mode: PERMISSIVE\n',
    ),
  );
  const [p] = config.peerAuthentications;
  assert.equal(p!.meta, { name: 'pa', namespace: 'foo', labels: {}, annotations: {}, creationTimestamp: undefined });
  assert.equal(p!.source, { file: 'test.yaml', line: 1 });
  assert.equal(Object.keys(p!.spec.selector!), ['app', 'version']);
  assert.is(p!.spec.mtlsMode, 'UNSET');
  assert.equal(entries(p!.spec.portLevelMtls), [
    [80, 'PERMISSIVE'],
    [8080, 'DISABLE'],
  ]);
  assert.is(p!.spec.legacy, undefined);
});

test('MeshConfig defaults when there is none, or when it sets nothing', () => {
  assert.equal(configOf(pa('foo', '  mtls: {mode: STRICT}\n')).mesh, DEFAULT_MESH_CONFIG);
  assert.equal(DEFAULT_MESH_CONFIG, {
    trustDomain: 'cluster.local',
    trustDomainAliases: [],
    rootNamespace: 'istio-system',
    enableAutoMtls: true,
    domainSuffix: 'cluster.local',
    defaultInterceptionMode: 'EXPLICIT',
    extensionProviders: [],
  });
  assert.equal(configOf(documentText('MeshConfig', 'mesh')).mesh, DEFAULT_MESH_CONFIG);
});

test('MeshConfig overrides every field; aliases are de-duplicated and sorted', () => {
  const config = configOf(yaml`
    apiVersion: meshlite.io/v1alpha1
    kind: MeshConfig
    metadata:
      name: mesh
    spec:
      trustDomain: example.org
      trustDomainAliases: [old.example.org, cluster.local, old.example.org]
      rootNamespace: mesh-system
      enableAutoMtls: false
      domainSuffix: corp.internal
      defaultInterceptionMode: TRANSPARENT
  `);
  assert.equal(config.mesh, {
    trustDomain: 'example.org',
    trustDomainAliases: ['cluster.local', 'old.example.org'],
    rootNamespace: 'mesh-system',
    enableAutoMtls: false,
    domainSuffix: 'corp.internal',
    defaultInterceptionMode: 'TRANSPARENT',
    extensionProviders: [],
  });
});

test('an invalid MeshConfig is reported and does not move the root namespace', () => {
  expectIssues(
    {
      'mesh.yaml': documentText('MeshConfig', 'mesh', '  rootNamespace: Mesh_Root\n'),
      'pa.yaml': pa('istio-system', SELECTOR),
    },
    [
      'mesh.yaml:6:18: spec.rootNamespace: invalid value "Mesh_Root": expected a lower-case DNS name',
      'pa.yaml:8:5: spec.selector: a policy in the root namespace "istio-system" is mesh-wide and cannot have a selector',
    ],
  );
});

// ---- legacy authentication.istio.io/v1alpha1 Policy and MeshPolicy ----

const meshPolicy = (name: string, spec: string, extraMeta = '') => documentText('MeshPolicy', name, spec, extraMeta);
const policy = (name: string, spec: string) => documentText('Policy', `foo/${name}`, spec);

test('legacy peers convert to mTLS modes: {} and null are STRICT, PERMISSIVE stays, no peers is DISABLE', () => {
  const config = configOf({
    'a.yaml': policy('empty-map', '  peers:\n  - mtls: {}\n'),
    'b.yaml': policy('null-mtls', '  peers:\n  - mtls:\n'),
    'c.yaml': policy('permissive', '  peers:\n  - mtls:\n      mode: PERMISSIVE\n'),
    'd.yaml': policy('no-peers', '  principalBinding: USE_PEER\n'),
    'e.yaml': policy('optional', '  peers:\n  - mtls: {mode: STRICT}\n  peerIsOptional: true\n'),
    'f.yaml': policy('explicit-strict', '  peers: [{mtls: {mode: STRICT}}]\n'),
  });
  const modes = config.peerAuthentications.map((p) => [
    p.meta.name,
    p.spec.mtlsMode,
    p.spec.selector,
    entries(p.spec.portLevelMtls),
    p.spec.legacy,
  ]);
  const legacy = { portsAreServicePorts: true };
  assert.equal(modes, [
    ['empty-map', 'STRICT', undefined, [], legacy],
    ['explicit-strict', 'STRICT', undefined, [], legacy],
    ['no-peers', 'DISABLE', undefined, [], legacy],
    ['null-mtls', 'STRICT', undefined, [], legacy],
    ['optional', 'PERMISSIVE', undefined, [], legacy],
    ['permissive', 'PERMISSIVE', undefined, [], legacy],
  ]);
});

test('MeshPolicy becomes a PeerAuthentication in the root namespace', () => {
  const config = configOf({
    'mesh.yaml': MESH_ROOT,
    'policy.yaml': `# mesh-wide\n${meshPolicy('default', '  peers:\n  - mtls: {}\n')}`,
  });
  assert.equal(config.peerAuthentications, [
    {
      kind: 'PeerAuthentication',
      meta: { name: 'default', namespace: 'mesh-root', labels: {}, annotations: {}, creationTimestamp: undefined },
      source: { file: 'policy.yaml', line: 2 },
      spec: { mtlsMode: 'STRICT', portLevelMtls: new Map(), legacy: { portsAreServicePorts: true } },
    },
  ]);
});

test('Policy targets become one PeerAuthentication per service, keyed by service port', () => {
  const config = configOf(
    policy(
      'targets',
      '  targets:\n  - name: httpbin\n    ports:\n    - number: 8000\n    - number: 9000\n  - name: sleep\n  peers:\n  - mtls: {mode: PERMISSIVE}\n',
    ),
  );
  assert.equal(
    config.peerAuthentications.map((p) => ({
      name: p.meta.name,
      ns: p.meta.namespace,
      mode: p.spec.mtlsMode,
      ports: entries(p.spec.portLevelMtls),
      legacy: p.spec.legacy,
    })),
    [
      {
        name: 'targets',
        ns: 'foo',
        mode: 'UNSET',
        ports: [
          [8000, 'PERMISSIVE'],
          [9000, 'PERMISSIVE'],
        ],
        legacy: { targetService: 'httpbin', portsAreServicePorts: true },
      },
      { name: 'targets', ns: 'foo', mode: 'PERMISSIVE', ports: [], legacy: { targetService: 'sleep', portsAreServicePorts: true } },
    ],
  );
});

test('the s10 example converts to the documented PeerAuthentications', () => {
  const config = configOf(yaml`
    apiVersion: authentication.istio.io/v1alpha1
    kind: MeshPolicy
    metadata:
      name: default
    spec:
      peers:
      - mtls: {}
    ---
    apiVersion: authentication.istio.io/v1alpha1
    kind: Policy
    metadata:
      name: httpbin-permissive
      namespace: default
    spec:
      targets:
      - name: httpbin
        ports:
        - number: 8000
      peers:
      - mtls:
          mode: PERMISSIVE
  `);
  assert.equal(
    config.peerAuthentications.map((p) => [
      `${p.meta.namespace}/${p.meta.name}`,
      p.spec.mtlsMode,
      entries(p.spec.portLevelMtls),
      p.spec.legacy,
    ]),
    [
      ['default/httpbin-permissive', 'UNSET', [[8000, 'PERMISSIVE']], { targetService: 'httpbin', portsAreServicePorts: true }],
      ['istio-system/default', 'STRICT', [], { portsAreServicePorts: true }],
    ],
  );
});

test('legacy peer JWT is reported as unsupported (origins are converted: legacy-jwt-origins.test.ts)', () => {
  expectIssues(
    policy(
      'jwt',
      '  origins:\n  - jwt: {issuer: https://issuer.example.com, jwksUri: https://idp.example/jwks}\n  peers:\n  - mtls: {}\n  - jwt: {issuer: x}\n',
    ),
    ['test.yaml:11:10: spec.peers[1].jwt: peer JWT authentication is not supported'],
  );
});

test('a legacy target port given only by name is refused', () => {
  expectIssues(policy('named', '  targets:\n  - name: httpbin\n    ports:\n    - name: http\n'), [
    'test.yaml:10:7: spec.targets[0].ports[0]: only numbered ports are supported',
  ]);
});

test('MeshPolicy must be named default, takes no targets and no namespace', () => {
  expectIssues(
    {
      'a.yaml': meshPolicy('mesh-wide', '  peers:\n  - mtls: {}\n'),
      'b.yaml': meshPolicy('default', '  targets:\n  - name: httpbin\n'),
      'c.yaml': meshPolicy('default', '  peers: []\n', '  namespace: istio-system\n'),
    },
    [
      'a.yaml:4:9: metadata.name: a MeshPolicy must be named "default"',
      'b.yaml:7:3: spec.targets: a MeshPolicy applies to the whole mesh and takes no targets',
      'c.yaml:4:9: metadata.name: duplicate MeshPolicy "istio-system/default" (first defined in b.yaml:1)',
      'c.yaml:5:14: metadata.namespace: MeshPolicy is cluster-scoped and takes no namespace',
    ],
  );
});

test('legacy Policy schema errors: typo, bad mode, bad principalBinding', () => {
  expectIssues(policy('bad', '  peer:\n  - mtls: {mode: REQUIRED}\n  peers:\n  - mtls: {mode: REQUIRED}\n  principalBinding: USE_JWT\n'), [
    'test.yaml:7:3: spec.peer: unknown field "peer" (did you mean "peers"?)',
    'test.yaml:10:18: spec.peers[0].mtls.mode: invalid value "REQUIRED"; expected one of STRICT, PERMISSIVE',
    'test.yaml:11:21: spec.principalBinding: invalid value "USE_JWT"; expected one of USE_PEER, USE_ORIGIN',
  ]);
});

test.run();
