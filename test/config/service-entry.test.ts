// ServiceEntry and WorkloadEntry semantics: ports, resolution, endpoints,
// host ownership, and the sidecar.meshlite.io/* WorkloadEntry annotations.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configOf, documentText, expectIssues } from '../support/fixtures/index.js';

/** A ServiceEntry whose spec lines start at line 7. */
const se = (name: string, spec: string, namespace = 'foo') => documentText('ServiceEntry', `${namespace}/${name}`, spec);

/** A WorkloadEntry with the given annotation lines (from line 6) and spec lines. */
const we = (annotations: string, spec = '  address: 10.0.0.1\n') =>
  documentText('WorkloadEntry', 'foo/we', spec, annotations ? `  annotations:\n${annotations}` : '');

test('ServiceEntry hosts are required, non-empty and well-formed', () => {
  expectIssues(
    {
      'a.yaml': se('a', '  resolution: DNS\n'),
      'b.yaml': se('b', '  hosts: []\n'),
      'c.yaml': se('c', "  hosts: ['*foo.example.com', 'a.*.example.com', Bad_Host]\n"),
    },
    [
      'a.yaml:7:3: spec.hosts: required field is missing',
      'b.yaml:7:10: spec.hosts: at least one host is required',
      'c.yaml:7:11: spec.hosts[0]: invalid value "*foo.example.com": expected a host name, optionally with a leading "*."',
      'c.yaml:7:31: spec.hosts[1]: invalid value "a.*.example.com": expected a host name, optionally with a leading "*."',
      'c.yaml:7:50: spec.hosts[2]: invalid value "Bad_Host": expected a host name, optionally with a leading "*."',
    ],
  );
});

test('duplicate port numbers and names', () => {
  expectIssues(
    se(
      'a',
      '  hosts: [a.example.com]\n  ports:\n  - {number: 80, name: http, protocol: HTTP}\n  - {number: 80, name: http-alt, protocol: HTTP}\n  - {number: 81, name: http, protocol: HTTP}\n',
    ),
    ['test.yaml:10:14: spec.ports[1].number: duplicate port 80', 'test.yaml:11:24: spec.ports[2].name: duplicate port name "http"'],
  );
});

test('unknown protocol', () => {
  expectIssues(se('a', '  hosts: [a.example.com]\n  ports:\n  - number: 443\n    name: h3\n    protocol: HTTP3\n'), [
    'test.yaml:11:15: spec.ports[0].protocol: unknown protocol "HTTP3"; expected one of HTTP, HTTPS, GRPC, GRPC-WEB, HTTP2, MONGO, REDIS, MYSQL, TCP, TLS, UDP',
  ]);
});

test('ports: required fields and range', () => {
  expectIssues(se('a', '  hosts: [a.example.com]\n  ports:\n  - {protocol: TCP}\n  - {number: 0, name: zero, targetPort: 70000}\n'), [
    'test.yaml:9:5: spec.ports[0].name: required field is missing',
    'test.yaml:9:5: spec.ports[0].number: required field is missing',
    'test.yaml:10:14: spec.ports[1].number: must be >= 1, got 0',
    'test.yaml:10:41: spec.ports[1].targetPort: must be <= 65535, got 70000',
  ]);
});

test('protocols are upper-cased, or taken from the port name prefix, TCP otherwise', () => {
  const config = configOf(
    se(
      'a',
      '  hosts: [a.example.com]\n  ports:\n  - {number: 80, name: web, protocol: http}\n  - {number: 81, name: grpc-api}\n  - {number: 82, name: mongo}\n  - {number: 83, name: admin, targetPort: 8083}\n',
    ),
  );
  assert.equal(config.serviceEntries[0]!.spec.ports, [
    { number: 80, name: 'web', protocol: 'HTTP', targetPort: undefined },
    { number: 81, name: 'grpc-api', protocol: 'GRPC', targetPort: undefined },
    { number: 82, name: 'mongo', protocol: 'MONGO', targetPort: undefined },
    { number: 83, name: 'admin', protocol: 'TCP', targetPort: 8083 },
  ]);
});

test('STATIC resolution needs endpoints or a workloadSelector', () => {
  expectIssues(se('a', '  hosts: [a.example.com]\n  resolution: STATIC\n'), [
    'test.yaml:7:3: spec.endpoints: resolution STATIC needs endpoints or a workloadSelector',
  ]);
});

test('workloadSelector and endpoints cannot both be set', () => {
  expectIssues(
    se(
      'a',
      '  hosts: [a.example.com]\n  resolution: STATIC\n  workloadSelector:\n    labels: {app: a}\n  endpoints:\n  - address: 10.0.0.1\n',
    ),
    ['test.yaml:10:5: spec.workloadSelector: workloadSelector and endpoints cannot both be set'],
  );
});

test('wildcard hosts cannot be resolved by DNS', () => {
  expectIssues(
    {
      'a.yaml': se('a', "  hosts: ['*.example.com']\n  resolution: DNS\n"),
      'b.yaml': se('b', "  hosts: [b.example.com, '*']\n  resolution: DNS_ROUND_ROBIN\n"),
    },
    [
      'a.yaml:7:10: spec.hosts: wildcard hosts cannot be resolved by DNS',
      'b.yaml:7:10: spec.hosts: wildcard hosts cannot be resolved by DNS',
    ],
  );
});

test('an endpoint port must name a service port; endpoints need an address', () => {
  expectIssues(
    se(
      'a',
      '  hosts: [a.example.com]\n  resolution: STATIC\n  ports:\n  - {number: 80, name: http}\n  endpoints:\n  - address: 10.0.0.1\n    ports: {http: 8080, https: 8443}\n',
    ),
    ['test.yaml:13:32: spec.endpoints[0].ports.https: no service port is named "https"'],
  );
  expectIssues(se('a', '  hosts: [a.example.com]\n  resolution: STATIC\n  endpoints:\n  - ports: {http: 8080}\n    labels: {app: a}\n'), [
    'test.yaml:10:5: spec.endpoints[0].address: required field is missing',
  ]);
});

test('the same host defined by two ServiceEntries names the first', () => {
  expectIssues(
    {
      'a.yaml': se('first', '  hosts: [api.example.com, a.example.com]\n'),
      'b.yaml': `# another team\n${se('second', '  hosts: [b.example.com, api.example.com]\n', 'bar')}`,
    },
    ['b.yaml:8:26: spec.hosts[1]: host "api.example.com" is already defined by ServiceEntry foo/first (a.yaml:7)'],
  );
});

test('a host listed twice in one ServiceEntry is reported as such', () => {
  expectIssues(se('dup', '  hosts: [api.example.com, api.example.com]\n'), [
    'test.yaml:7:28: spec.hosts[1]: host "api.example.com" is listed twice',
  ]);
});

test('resolution NONE takes no endpoints', () => {
  expectIssues(se('none', '  hosts: [a.example.com]\n  endpoints:\n  - address: 10.0.0.1\n'), [
    'test.yaml:9:3: spec.endpoints: resolution NONE forwards to the original destination and takes no endpoints',
  ]);
});

test('a valid ServiceEntry is converted with defaults', () => {
  const config = configOf(
    se(
      'a',
      '  hosts: [a.example.com]\n  resolution: STATIC\n  endpoints:\n  - address: 10.0.0.1\n    labels: {zone: z1, app: a}\n    weight: 3\n',
    ),
  );
  assert.equal(config.serviceEntries[0]!.spec, {
    hosts: ['a.example.com'],
    addresses: [],
    ports: [],
    location: 'MESH_EXTERNAL',
    resolution: 'STATIC',
    endpoints: [
      {
        address: '10.0.0.1',
        ports: {},
        labels: { app: 'a', zone: 'z1' },
        network: undefined,
        locality: undefined,
        weight: 3,
        serviceAccount: undefined,
      },
    ],
    workloadSelector: undefined,
    exportTo: [],
    subjectAltNames: [],
  });
});

test('a WorkloadEntry needs an address', () => {
  expectIssues(we('', '  labels: {app: x}\n'), ['test.yaml:7:3: spec.address: required field is missing']);
  expectIssues(we('', '  address: ""\n'), ['test.yaml:7:12: spec.address: must not be empty']);
});

test('WorkloadEntry field formats: locality, serviceAccount', () => {
  expectIssues(we('', '  address: 10.0.0.1\n  locality: a/b/c/d\n  serviceAccount: Web_SA\n'), [
    'test.yaml:8:13: spec.locality: invalid value "a/b/c/d": expected region[/zone[/subzone]]',
    'test.yaml:9:19: spec.serviceAccount: invalid value "Web_SA": expected a DNS-1123 name',
  ]);
});

test('an unknown sidecar.meshlite.io annotation lists the known ones', () => {
  expectIssues(we('    sidecar.meshlite.io/interceptMode: TRANSPARENT\n    example.com/other: anything\n'), [
    'test.yaml:7:40: metadata.annotations["sidecar.meshlite.io/interceptMode"]: unknown meshlite annotation; known: sidecar.meshlite.io/interceptionMode, sidecar.meshlite.io/applicationAddress, sidecar.meshlite.io/outboundAddress, sidecar.meshlite.io/outboundPort, sidecar.meshlite.io/healthProbes',
  ]);
});

test('proxyless.meshlite.io annotations are checked too: a typo must not silently make a sidecar', () => {
  expectIssues(we('    proxyless.meshlite.io/gprc: "true"\n    proxyless.meshlite.io/grpc: "yes"\n'), [
    'test.yaml:7:33: metadata.annotations["proxyless.meshlite.io/gprc"]: unknown meshlite annotation; known: proxyless.meshlite.io/grpc',
    'test.yaml:8:33: metadata.annotations["proxyless.meshlite.io/grpc"]: expected "true" or "false", got "yes"',
  ]);
});

test('bad sidecar.meshlite.io annotation values', () => {
  expectIssues(
    we(
      [
        '    sidecar.meshlite.io/interceptionMode: explicit',
        '    sidecar.meshlite.io/applicationAddress: 127.0.0.256',
        '    sidecar.meshlite.io/outboundAddress: localhost',
        '    sidecar.meshlite.io/outboundPort: "0"',
        '',
      ].join('\n'),
    ),
    [
      'test.yaml:7:43: metadata.annotations["sidecar.meshlite.io/interceptionMode"]: expected EXPLICIT or TRANSPARENT, got "explicit"',
      'test.yaml:8:45: metadata.annotations["sidecar.meshlite.io/applicationAddress"]: expected an IPv4 address, got "127.0.0.256"',
      'test.yaml:9:42: metadata.annotations["sidecar.meshlite.io/outboundAddress"]: expected an IPv4 address, got "localhost"',
      'test.yaml:10:39: metadata.annotations["sidecar.meshlite.io/outboundPort"]: expected a port number, got "0"',
    ],
  );
  expectIssues(we('    sidecar.meshlite.io/outboundPort: 15001\n'), [
    'test.yaml:7:39: metadata.annotations["sidecar.meshlite.io/outboundPort"]: expected a string, got number 15001',
  ]);
});

test('valid sidecar annotations are kept on the WorkloadEntry', () => {
  const config = configOf(
    we(
      [
        '    sidecar.meshlite.io/interceptionMode: TRANSPARENT',
        '    sidecar.meshlite.io/applicationAddress: 127.0.11.1',
        '    sidecar.meshlite.io/outboundPort: "15001"',
        '',
      ].join('\n'),
      '  address: 127.0.1.1\n  ports: {http: 8080}\n  serviceAccount: web\n',
    ),
  );
  const [w] = config.workloadEntries;
  assert.equal(w!.meta.annotations, {
    'sidecar.meshlite.io/interceptionMode': 'TRANSPARENT',
    'sidecar.meshlite.io/applicationAddress': '127.0.11.1',
    'sidecar.meshlite.io/outboundPort': '15001',
  });
  assert.equal([w!.spec.address, w!.spec.ports, w!.spec.serviceAccount, w!.spec.labels], ['127.0.1.1', { http: 8080 }, 'web', {}]);
});

test.run();
