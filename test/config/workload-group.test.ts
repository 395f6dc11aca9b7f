// WorkloadGroup: the template and probe agents register with, validated field by field.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configOf, documentText, expectIssues } from '../support/fixtures/index.js';

/** A WorkloadGroup foo/vms whose spec lines start at line 7. */
const wg = (spec: string, name = 'vms') => documentText('WorkloadGroup', `foo/${name}`, spec);

test('a full WorkloadGroup: template, metadata labels merged into it, probe with defaults filled in', () => {
  const config = configOf(
    wg(`  metadata:
    labels: {app: api}
    annotations: {owner: team-a}
  template:
    serviceAccount: api
    ports: {http: 8080}
    labels: {version: v1}
    network: vm-net
    locality: eu/west-1
    weight: 3
  probe:
    httpGet: {path: /ready, port: 8080, httpHeaders: [{name: X-Probe, value: meshlite}]}
    periodSeconds: 5
`),
  );
  const [group] = config.workloadGroups ?? [];
  assert.ok(group);
  assert.equal(group.spec.metadata, { labels: { app: 'api' }, annotations: { owner: 'team-a' } });
  assert.equal(group.spec.template, {
    ports: { http: 8080 },
    labels: { app: 'api', version: 'v1' },
    network: 'vm-net',
    locality: 'eu/west-1',
    weight: 3,
    serviceAccount: 'api',
  });
  assert.equal(group.spec.probe, {
    periodSeconds: 5,
    timeoutSeconds: 1,
    successThreshold: 1,
    failureThreshold: 3,
    initialDelaySeconds: 0,
    httpGet: { path: '/ready', port: 8080, host: undefined, scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: 'meshlite' }] },
  });
});

test('template is required and takes no address', () => {
  expectIssues(
    {
      'a.yaml': wg('  metadata: {labels: {app: api}}\n'),
      'b.yaml': wg('  template: {address: 10.0.0.1}\n', 'other'),
    },
    [
      'a.yaml:7:3: spec.template: required field is missing',
      'b.yaml:7:23: spec.template.address: must not be set: each registering agent supplies its own address',
    ],
  );
});

test('template fields are checked as a WorkloadEntry spec', () => {
  expectIssues(wg('  template:\n    ports: {http: 70000}\n    locality: a/b/c/d\n    serviceAccount: Bad_SA\n'), [
    'test.yaml:8:19: spec.template.ports.http: must be <= 65535, got 70000',
    'test.yaml:9:15: spec.template.locality: invalid value "a/b/c/d": expected region[/zone[/subzone]]',
    'test.yaml:10:21: spec.template.serviceAccount: invalid value "Bad_SA": expected a DNS-1123 name',
  ]);
});

test('a probe takes exactly one handler', () => {
  expectIssues(
    {
      'a.yaml': wg('  template: {}\n  probe: {periodSeconds: 5}\n'),
      'b.yaml': wg('  template: {}\n  probe:\n    tcpSocket: {port: 80}\n    exec: {command: [/bin/true]}\n', 'other'),
    },
    [
      'a.yaml:8:10: spec.probe: a probe needs one of httpGet, tcpSocket or exec',
      'b.yaml:9:5: spec.probe: a probe takes exactly one of httpGet, tcpSocket or exec, got tcpSocket and exec',
    ],
  );
});

test('probe fields: ports, timing bounds, paths, header names, commands', () => {
  expectIssues(
    wg(`  template: {}
  probe:
    httpGet: {path: ready, port: 0, scheme: FTP, httpHeaders: [{name: "Bad Header", value: x}]}
    periodSeconds: 0
    failureThreshold: -1
    unknownField: 1
`),
    [
      'test.yaml:9:34: spec.probe.httpGet.port: must be >= 1, got 0',
      'test.yaml:9:45: spec.probe.httpGet.scheme: invalid value "FTP"; expected one of HTTP, HTTPS',
      'test.yaml:10:20: spec.probe.periodSeconds: must be >= 1, got 0',
      'test.yaml:11:23: spec.probe.failureThreshold: must be >= 1, got -1',
      'test.yaml:12:5: spec.probe.unknownField: unknown field "unknownField"',
    ],
  );
  expectIssues(wg('  template: {}\n  probe:\n    httpGet: {path: ready, port: 80, httpHeaders: [{name: "Bad Header"}]}\n'), [
    'test.yaml:9:21: spec.probe.httpGet.path: must start with "/", got "ready"',
    'test.yaml:9:59: spec.probe.httpGet.httpHeaders[0].name: invalid HTTP header name "Bad Header"',
  ]);
  expectIssues(wg('  template: {}\n  probe:\n    exec: {command: []}\n    periodSeconds: 2\n    timeoutSeconds: 5\n'), [
    'test.yaml:9:21: spec.probe.exec.command: needs the program to run (and its arguments)',
    'test.yaml:11:21: spec.probe.timeoutSeconds: must not exceed periodSeconds (2): a probe would still run when the next one starts',
  ]);
});

test.run();
