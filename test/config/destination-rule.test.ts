// DestinationRule semantics: client TLS settings, subsets, port-level settings.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configOf, documentText, entries, expectIssues } from '../support/fixtures/index.js';

/** A DestinationRule whose spec starts at line 7 (`host` is on line 7). */
const dr = (spec: string) => documentText('DestinationRule', 'foo/db', `  host: db.example.com\n${spec}`);

test('a DestinationRule needs a non-empty host', () => {
  expectIssues(
    {
      'a.yaml': documentText('DestinationRule', 'foo/a', '  trafficPolicy: {}\n'),
      'b.yaml': documentText('DestinationRule', 'foo/b', '  host: ""\n'),
      'c.yaml': documentText('DestinationRule', 'foo/c'),
    },
    [
      'a.yaml:7:3: spec.host: required field is missing',
      'b.yaml:7:9: spec.host: must not be empty',
      'c.yaml:1:1: spec.host: required field is missing',
    ],
  );
});

test('MUTUAL without clientCertificate and privateKey points at the tls block', () => {
  expectIssues(dr('  trafficPolicy:\n    tls:\n      mode: MUTUAL\n      caCertificates: /ca.pem\n'), [
    'test.yaml:10:7: spec.trafficPolicy.tls.clientCertificate: MUTUAL mode needs clientCertificate (or credentialName)',
    'test.yaml:10:7: spec.trafficPolicy.tls.privateKey: MUTUAL mode needs privateKey (or credentialName)',
  ]);
  expectIssues(dr('  trafficPolicy:\n    tls: {mode: MUTUAL, clientCertificate: /cert.pem}\n'), [
    'test.yaml:9:10: spec.trafficPolicy.tls.privateKey: MUTUAL mode needs privateKey (or credentialName)',
  ]);
});

test('MUTUAL with credentialName alone, or with both files, is accepted', () => {
  const viaSecret = configOf(dr('  trafficPolicy:\n    tls: {mode: MUTUAL, credentialName: db-client}\n'));
  assert.equal(viaSecret.destinationRules[0]!.spec.trafficPolicy!.tls, {
    mode: 'MUTUAL',
    clientCertificate: undefined,
    privateKey: undefined,
    caCertificates: undefined,
    caCrl: undefined,
    credentialName: 'db-client',
    subjectAltNames: [],
    sni: undefined,
    insecureSkipVerify: false,
  });
  const viaFiles = configOf(
    dr('  trafficPolicy:\n    tls: {mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem, subjectAltNames: [db]}\n'),
  );
  const tls = viaFiles.destinationRules[0]!.spec.trafficPolicy!.tls!;
  assert.equal([tls.mode, tls.clientCertificate, tls.privateKey, tls.subjectAltNames], ['MUTUAL', '/c.pem', '/k.pem', ['db']]);
});

test('credentialName cannot be combined with certificate files', () => {
  expectIssues(dr('  trafficPolicy:\n    tls:\n      mode: SIMPLE\n      caCertificates: /ca.pem\n      credentialName: db-ca\n'), [
    'test.yaml:12:23: spec.trafficPolicy.tls.credentialName: cannot be combined with clientCertificate, privateKey or caCertificates',
  ]);
});

test('DISABLE and ISTIO_MUTUAL take no certificates; a tls block without mode is DISABLE', () => {
  expectIssues(dr('  trafficPolicy:\n    tls:\n      mode: DISABLE\n      caCertificates: /ca.pem\n'), [
    'test.yaml:10:13: spec.trafficPolicy.tls.mode: DISABLE takes no certificates; use SIMPLE or MUTUAL to set them',
  ]);
  expectIssues(dr('  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL, credentialName: x}\n'), [
    'test.yaml:9:17: spec.trafficPolicy.tls.mode: ISTIO_MUTUAL takes no certificates; use SIMPLE or MUTUAL to set them',
  ]);
  expectIssues(dr('  trafficPolicy:\n    tls:\n      caCertificates: /ca.pem\n'), [
    'test.yaml:10:7: spec.trafficPolicy.tls.mode: DISABLE (the default when mode is not set) takes no certificates; use SIMPLE or MUTUAL to set them',
  ]);
});

test('duplicate subset names', () => {
  expectIssues(dr('  subsets:\n  - name: v1\n    labels: {version: v1}\n  - name: v2\n  - name: v1\n    labels: {version: v3}\n'), [
    'test.yaml:12:11: spec.subsets[2].name: duplicate subset name "v1"',
  ]);
});

test('subsets need a non-empty name', () => {
  expectIssues(dr('  subsets:\n  - labels: {version: v1}\n  - name: ""\n'), [
    'test.yaml:9:5: spec.subsets[0].name: required field is missing',
    'test.yaml:10:11: spec.subsets[1].name: must not be empty',
  ]);
});

test('duplicate portLevelSettings ports, at the top level and inside a subset', () => {
  expectIssues(
    dr(
      [
        '  trafficPolicy:',
        '    portLevelSettings:',
        '    - port: {number: 80}',
        '      loadBalancer: {simple: RANDOM}',
        '    - port: {number: 80}',
        '  subsets:',
        '  - name: v1',
        '    trafficPolicy:',
        '      portLevelSettings:',
        '      - port: {number: 443}',
        '      - port: {number: 443}',
        '',
      ].join('\n'),
    ),
    [
      'test.yaml:12:22: spec.trafficPolicy.portLevelSettings[1].port.number: duplicate port 80',
      'test.yaml:18:24: spec.subsets[0].trafficPolicy.portLevelSettings[1].port.number: duplicate port 443',
    ],
  );
});

test('portLevelSettings ports must be in range and are required', () => {
  expectIssues(
    dr('  trafficPolicy:\n    portLevelSettings:\n    - port: {number: 0}\n    - port: {number: 65536}\n    - tls: {mode: ISTIO_MUTUAL}\n'),
    [
      'test.yaml:10:22: spec.trafficPolicy.portLevelSettings[0].port.number: must be >= 1, got 0',
      'test.yaml:11:22: spec.trafficPolicy.portLevelSettings[1].port.number: must be <= 65535, got 65536',
      'test.yaml:12:7: spec.trafficPolicy.portLevelSettings[2].port: required field is missing',
    ],
  );
});

test('TLS problems in port-level and subset policies carry their full path', () => {
  expectIssues(
    dr(
      '  trafficPolicy:\n    portLevelSettings:\n    - port: {number: 27017}\n      tls: {mode: MUTUAL, privateKey: /k.pem}\n  subsets:\n  - name: v1\n    trafficPolicy:\n      tls: {mode: DISABLE, clientCertificate: /c.pem}\n',
    ),
    [
      'test.yaml:11:12: spec.trafficPolicy.portLevelSettings[0].tls.clientCertificate: MUTUAL mode needs clientCertificate (or credentialName)',
      'test.yaml:15:19: spec.subsets[0].trafficPolicy.tls.mode: DISABLE takes no certificates; use SIMPLE or MUTUAL to set them',
    ],
  );
});

test('workloadSelector on a DestinationRule is refused', () => {
  expectIssues(dr('  workloadSelector:\n    matchLabels: {app: db}\n'), [
    'test.yaml:9:5: spec.workloadSelector: workloadSelector on DestinationRule is not supported by meshlite',
  ]);
});

test('a valid DestinationRule is converted with port-level settings keyed by port', () => {
  const config = configOf(
    dr(
      [
        '  exportTo: [".", istio-system]',
        '  trafficPolicy:',
        '    tls: {mode: ISTIO_MUTUAL}',
        '    connectionPool: {tcp: {maxConnections: 10, connectTimeout: 1s}}',
        '    portLevelSettings:',
        '    - port: {number: 9000}',
        '      tls: {mode: DISABLE}',
        '      outlierDetection: {consecutive5xxErrors: 3, interval: 1m30s}',
        '  subsets:',
        '  - name: v2',
        '    labels: {version: v2, app: db}',
        '',
      ].join('\n'),
    ),
  );
  const spec = config.destinationRules[0]!.spec;
  assert.is(spec.host, 'db.example.com');
  assert.equal(spec.exportTo, ['.', 'istio-system']);
  assert.is(spec.trafficPolicy!.tls!.mode, 'ISTIO_MUTUAL');
  assert.equal(spec.trafficPolicy!.connectionPool, { tcp: { maxConnections: 10, connectTimeout: '1s' } });
  assert.equal(
    entries(spec.trafficPolicy!.portLevelSettings).map(([port, s]) => [port, s.tls!.mode, s.outlierDetection]),
    [[9000, 'DISABLE', { consecutive5xxErrors: 3, interval: '1m30s' }]],
  );
  assert.equal(spec.subsets, [{ name: 'v2', labels: { app: 'db', version: 'v2' }, trafficPolicy: undefined }]);
});

test.run();
