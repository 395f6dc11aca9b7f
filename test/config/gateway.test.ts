// Gateway semantics: selector, server hosts and protocols, TLS settings per
// mode, port names, and which servers may share a port.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configOf, documentText, expectIssues } from '../support/fixtures/index.js';

const head = (name = 'ingress') => documentText('Gateway', `edge/${name}`, '');

/** A Gateway with a selector (line 7) whose server list starts at line 9. */
const gw = (servers: string) => `${head()}  selector: {app: ingress}\n  servers:\n${servers}`;

const HTTP_80 = '  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [a.example.com]\n';

test('a Gateway needs a non-empty selector and at least one server', () => {
  expectIssues(
    {
      'a.yaml': `${head()}  servers: []\n`,
      'b.yaml': `${head('b')}  selector: {}\n  servers:\n${HTTP_80}`,
      'c.yaml': 'apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: c, namespace: edge}\n',
    },
    [
      'a.yaml:7:3: spec.selector: a Gateway needs a selector: meshlite has no default ingress gateway workload',
      'a.yaml:7:12: spec.servers: at least one server is required',
      'b.yaml:7:13: spec.selector: must not be empty: it picks the gateway workloads by their labels',
      'c.yaml:1:1: spec.selector: a Gateway needs a selector: meshlite has no default ingress gateway workload',
      'c.yaml:1:1: spec.servers: at least one server is required',
    ],
  );
});

test('a Gateway name must be a DNS label, as VirtualServices name it <namespace>/<name>', () => {
  expectIssues(`${head('ingress.edge')}  selector: {app: ingress}\n  servers:\n${HTTP_80}`, [
    'test.yaml:4:9: metadata.name: a Gateway name must be a DNS label (no dots): VirtualServices refer to it as <namespace>/<name>',
  ]);
});

test('unknown fields are errors with a hint, at the key', () => {
  expectIssues(
    gw(
      '  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: [a.example.com]\n    tls: {mode: SIMPLE, credentialNmae: a-cert}\n    host: [b.example.com]\n',
    ),
    [
      'test.yaml:11:25: spec.servers[0].tls.credentialNmae: unknown field "credentialNmae" (did you mean "credentialName"?)',
      'test.yaml:12:5: spec.servers[0].host: unknown field "host" (did you mean "hosts"?)',
    ],
  );
});

test('server hosts are required, and each is [namespace/]host with a FQDN, "*.suffix", "*" or an IP', () => {
  expectIssues(gw('  - port: {number: 80, name: http, protocol: HTTP}\n'), [
    'test.yaml:9:5: spec.servers[0].hosts: required field is missing',
  ]);
  expectIssues(
    gw(
      [
        '  - port: {number: 81, name: http-81, protocol: HTTP}',
        '    hosts: []',
        '  - port: {number: 82, name: http-82, protocol: HTTP}',
        '    hosts:',
        '    - reviews',
        '    - "*foo.example.com"',
        '    - Upper.example.com',
        '    - Foo/a.example.com',
        '    - a.example.com',
        '    - a.example.com',
        '    - ns/reviews',
        '',
      ].join('\n'),
    ),
    [
      'test.yaml:10:12: spec.servers[0].hosts: at least one host is required',
      'test.yaml:13:7: spec.servers[1].hosts[0]: short name "reviews" is not allowed here; use a fully qualified name such as "reviews.example.com"',
      'test.yaml:14:7: spec.servers[1].hosts[1]: invalid host "*foo.example.com": a wildcard is only allowed as a whole first label ("*.example.com")',
      'test.yaml:15:7: spec.servers[1].hosts[2]: invalid host "Upper.example.com": expected lower-case DNS labels (letters, digits, "-") separated by dots',
      'test.yaml:16:7: spec.servers[1].hosts[3]: invalid namespace "Foo" in host "Foo/a.example.com": expected ".", "*" or a namespace name',
      'test.yaml:18:7: spec.servers[1].hosts[5]: host "a.example.com" is listed twice',
      'test.yaml:19:7: spec.servers[1].hosts[6]: short name "reviews" is not allowed here; use a fully qualified name such as "reviews.example.com"',
    ],
  );
  const config = configOf(
    gw(
      '  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: ["*", "./a.example.com", "*/b.example.com", "web/*.example.com", 10.1.2.3]\n',
    ),
  );
  assert.equal(config.gateways[0]!.spec.servers[0]!.hosts, ['*', './a.example.com', '*/b.example.com', 'web/*.example.com', '10.1.2.3']);
});

test('protocols are case-insensitive, kept upper-case, and limited to what gateways translate', () => {
  expectIssues(gw('  - port: {number: 6379, name: redis, protocol: REDIS}\n    hosts: ["*"]\n'), [
    'test.yaml:9:49: spec.servers[0].port.protocol: unknown protocol "REDIS"; expected one of HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP, TLS',
  ]);
  const config = configOf(
    gw(
      '  - port: {number: 80, name: http, protocol: http}\n    hosts: ["*"]\n  - port: {number: 9000, name: grpc, protocol: gRPC}\n    hosts: ["*"]\n',
    ),
  );
  assert.equal(
    config.gateways[0]!.spec.servers.map((s) => s.port.protocol),
    ['HTTP', 'GRPC'],
  );
});

test('port fields are required; targetPort, unix binds and defaultEndpoint are refused', () => {
  expectIssues(gw('  - port: {number: 80}\n    hosts: ["*"]\n'), [
    'test.yaml:9:11: spec.servers[0].port.name: required field is missing',
    'test.yaml:9:11: spec.servers[0].port.protocol: required field is missing',
  ]);
  expectIssues(
    gw(
      [
        '  - port: {number: 81, name: a, protocol: HTTP, targetPort: 8081}',
        '    hosts: ["*"]',
        '    bind: unix:///var/run/gw.sock',
        '  - port: {number: 82, name: b, protocol: HTTP}',
        '    hosts: ["*"]',
        '    bind: localhost',
        '    defaultEndpoint: 127.0.0.1:8080',
        '',
      ].join('\n'),
    ),
    [
      'test.yaml:9:61: spec.servers[0].port.targetPort: targetPort has no effect on a Gateway server (Istio rejects it too)',
      'test.yaml:11:11: spec.servers[0].bind: binding to a unix domain socket is not supported by meshlite',
      'test.yaml:14:11: spec.servers[1].bind: expected an IP address to bind to, got "localhost"',
      'test.yaml:15:22: spec.servers[1].defaultEndpoint: defaultEndpoint is not supported by meshlite',
    ],
  );
});

test('HTTPS and TLS servers need tls; HTTP servers only take httpsRedirect; TCP and MONGO none', () => {
  expectIssues(
    gw(
      [
        '  - port: {number: 443, name: https, protocol: HTTPS}',
        '    hosts: ["*"]',
        '  - port: {number: 8443, name: tls, protocol: TLS}',
        '    hosts: ["*"]',
        '  - port: {number: 80, name: http, protocol: HTTP}',
        '    hosts: ["*"]',
        '    tls: {httpsRedirect: true, mode: SIMPLE}',
        '  - port: {number: 27017, name: mongo, protocol: MONGO}',
        '    hosts: ["*"]',
        '    tls: {httpsRedirect: false}',
        '',
      ].join('\n'),
    ),
    [
      'test.yaml:9:5: spec.servers[0].tls: a HTTPS server needs tls settings (a mode, and certificates to terminate TLS)',
      'test.yaml:11:5: spec.servers[1].tls: a TLS server needs tls settings (a mode, and certificates to terminate TLS)',
      'test.yaml:15:38: spec.servers[2].tls.mode: a HTTP server only takes tls.httpsRedirect; use protocol HTTPS to terminate TLS',
      'test.yaml:18:10: spec.servers[3].tls: a MONGO server takes no tls settings; use protocol TLS to terminate or pass through TLS',
    ],
  );
});

test('httpsRedirect: kept on HTTP servers, refused on TLS servers', () => {
  const config = configOf(
    gw(
      `${HTTP_80}    tls: {httpsRedirect: true}\n  - port: {number: 81, name: http-81, protocol: HTTP}\n    hosts: ["*"]\n    tls: {httpsRedirect: false}\n`,
    ),
  );
  const [redirecting, plain] = config.gateways[0]!.spec.servers;
  assert.equal(redirecting!.tls, { mode: 'PASSTHROUGH', httpsRedirect: true, subjectAltNames: [], cipherSuites: [] });
  assert.is(plain!.tls, undefined);
  expectIssues(
    gw(
      '  - port: {number: 443, name: https, protocol: HTTPS}\n    hosts: ["*"]\n    tls: {mode: SIMPLE, credentialName: a, httpsRedirect: true}\n',
    ),
    ['test.yaml:11:59: spec.servers[0].tls.httpsRedirect: httpsRedirect only applies to plain HTTP servers'],
  );
});

const https = (tls: string, protocol = 'HTTPS') =>
  gw(`  - port: {number: 443, name: https, protocol: ${protocol}}\n    hosts: [a.example.com]\n    tls:\n${tls}`);

test('SIMPLE, MUTUAL and OPTIONAL_MUTUAL need credentialName, or serverCertificate and privateKey', () => {
  expectIssues(https('      mode: SIMPLE\n'), [
    'test.yaml:12:7: spec.servers[0].tls.privateKey: SIMPLE mode needs privateKey (or credentialName)',
    'test.yaml:12:7: spec.servers[0].tls.serverCertificate: SIMPLE mode needs serverCertificate (or credentialName)',
  ]);
  expectIssues(https('      mode: MUTUAL\n      serverCertificate: /certs/a.pem\n'), [
    'test.yaml:12:7: spec.servers[0].tls.caCertificates: MUTUAL mode needs caCertificates to verify client certificates (or credentialName, whose CA comes from "<name>-cacert")',
    'test.yaml:12:7: spec.servers[0].tls.privateKey: MUTUAL mode needs privateKey (or credentialName)',
  ]);
  expectIssues(https('      mode: OPTIONAL_MUTUAL\n      serverCertificate: /certs/a.pem\n      privateKey: /certs/a.key\n'), [
    'test.yaml:12:7: spec.servers[0].tls.caCertificates: OPTIONAL_MUTUAL mode needs caCertificates to verify client certificates (or credentialName, whose CA comes from "<name>-cacert")',
  ]);
});

test('credentialName excludes certificate files; SIMPLE takes no client CA or SANs', () => {
  expectIssues(https('      mode: MUTUAL\n      credentialName: a-cert\n      caCertificates: /certs/ca.pem\n'), [
    'test.yaml:13:23: spec.servers[0].tls.credentialName: cannot be combined with serverCertificate, privateKey or caCertificates',
  ]);
  expectIssues(
    https(
      '      mode: SIMPLE\n      serverCertificate: /a.pem\n      privateKey: /a.key\n      caCertificates: /ca.pem\n      subjectAltNames: [client]\n',
    ),
    [
      'test.yaml:15:23: spec.servers[0].tls.caCertificates: SIMPLE mode does not verify client certificates; caCertificates needs MUTUAL or OPTIONAL_MUTUAL',
      'test.yaml:16:24: spec.servers[0].tls.subjectAltNames: SIMPLE mode does not verify client certificates; subjectAltNames needs MUTUAL or OPTIONAL_MUTUAL',
    ],
  );
});

test('PASSTHROUGH (also the default), AUTO_PASSTHROUGH and ISTIO_MUTUAL take no certificates', () => {
  expectIssues(https('      credentialName: a-cert\n'), [
    'test.yaml:12:7: spec.servers[0].tls.mode: PASSTHROUGH (the default when mode is not set) takes no certificates; use SIMPLE, MUTUAL or OPTIONAL_MUTUAL to set them',
  ]);
  expectIssues(
    https('      mode: ISTIO_MUTUAL\n      privateKey: /a.key\n      subjectAltNames: [spiffe://cluster.local/ns/foo/sa/client]\n'),
    ['test.yaml:12:13: spec.servers[0].tls.mode: ISTIO_MUTUAL takes no certificates; use SIMPLE, MUTUAL or OPTIONAL_MUTUAL to set them'],
  );
  expectIssues(
    https('      mode: PASSTHROUGH\n      minProtocolVersion: TLSV1_2\n      cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256]\n', 'TLS'),
    [
      'test.yaml:13:27: spec.servers[0].tls.minProtocolVersion: has no effect in PASSTHROUGH mode: the gateway does not terminate TLS',
      'test.yaml:14:21: spec.servers[0].tls.cipherSuites: has no effect in PASSTHROUGH mode: the gateway does not terminate TLS',
    ],
  );
});

test('AUTO_PASSTHROUGH needs protocol TLS', () => {
  expectIssues(https('      mode: AUTO_PASSTHROUGH\n'), [
    'test.yaml:12:13: spec.servers[0].tls.mode: AUTO_PASSTHROUGH needs protocol TLS, not HTTPS',
  ]);
  assert.is(configOf(https('      mode: AUTO_PASSTHROUGH\n', 'TLS')).gateways[0]!.spec.servers[0]!.tls!.mode, 'AUTO_PASSTHROUGH');
});

test('TLS versions are an enum, and the minimum cannot exceed the maximum', () => {
  expectIssues(https('      mode: ISTIO_MUTUAL\n      minProtocolVersion: TLSv1_2\n'), [
    'test.yaml:13:27: spec.servers[0].tls.minProtocolVersion: invalid value "TLSv1_2"; expected one of TLS_AUTO, TLSV1_0, TLSV1_1, TLSV1_2, TLSV1_3',
  ]);
  expectIssues(
    https(
      '      mode: ISTIO_MUTUAL\n      minProtocolVersion: TLSV1_3\n      maxProtocolVersion: TLSV1_2\n      cipherSuites: [A, B, A]\n',
    ),
    [
      'test.yaml:14:27: spec.servers[0].tls.maxProtocolVersion: maxProtocolVersion TLSV1_2 is below minProtocolVersion TLSV1_3',
      'test.yaml:15:28: spec.servers[0].tls.cipherSuites[2]: cipher suite "A" is listed twice',
    ],
  );
});

test('Istio TLS fields meshlite does not translate are refused by name', () => {
  expectIssues(https('      mode: SIMPLE\n      credentialName: a-cert\n      verifyCertificateSpki: [abc]\n      caCrl: /crl.pem\n'), [
    'test.yaml:14:30: spec.servers[0].tls.verifyCertificateSpki: verifyCertificateSpki is not supported by meshlite',
    'test.yaml:15:14: spec.servers[0].tls.caCrl: caCrl is not supported by meshlite',
  ]);
});

test('port names are unique across servers (they name the routes); so are server names', () => {
  expectIssues(
    gw(
      [
        '  - port: {number: 443, name: https, protocol: HTTPS}',
        '    hosts: [a.example.com]',
        '    tls: {mode: SIMPLE, credentialName: a}',
        '    name: a',
        '  - port: {number: 443, name: https, protocol: HTTPS}',
        '    hosts: [b.example.com]',
        '    tls: {mode: SIMPLE, credentialName: b}',
        '    name: a',
        '',
      ].join('\n'),
    ),
    [
      'test.yaml:13:31: spec.servers[1].port.name: duplicate port name "https" (also used by servers[0]); port names must be unique across the servers of a Gateway',
      'test.yaml:16:11: spec.servers[1].name: duplicate server name "a" (also used by servers[0])',
    ],
  );
});

test('servers sharing a port: plain-text HTTP with HTTP, HTTPS with TLS by SNI; nothing else', () => {
  const shared = configOf(
    gw(
      [
        HTTP_80.trimEnd(),
        '  - port: {number: 80, name: grpc, protocol: GRPC}',
        '    hosts: [b.example.com]',
        '  - port: {number: 443, name: https, protocol: HTTPS}',
        '    hosts: [a.example.com]',
        '    tls: {mode: SIMPLE, credentialName: a}',
        '  - port: {number: 443, name: tls, protocol: TLS}',
        '    hosts: [b.example.com]',
        '    tls: {mode: PASSTHROUGH}',
        '  - port: {number: 9000, name: tcp, protocol: TCP}',
        '    hosts: ["*"]',
        '  - port: {number: 9000, name: tcp-internal, protocol: TCP}',
        '    hosts: ["*"]',
        '    bind: 10.0.0.1',
        '',
      ].join('\n'),
    ),
  );
  assert.equal(
    shared.gateways[0]!.spec.servers.map((s) => `${s.port.number}/${s.port.protocol}`),
    ['80/HTTP', '80/GRPC', '443/HTTPS', '443/TLS', '9000/TCP', '9000/TCP'],
  );
  expectIssues(
    gw(
      [
        HTTP_80.trimEnd(),
        '  - port: {number: 80, name: https, protocol: HTTPS}',
        '    hosts: [b.example.com]',
        '    tls: {mode: SIMPLE, credentialName: b}',
        '  - port: {number: 9000, name: tcp, protocol: TCP}',
        '    hosts: ["*"]',
        '  - port: {number: 9000, name: mongo, protocol: MONGO}',
        '    hosts: ["*"]',
        '  - port: {number: 443, name: https-a, protocol: HTTPS}',
        '    hosts: [a.example.com]',
        '    tls: {mode: SIMPLE, credentialName: a}',
        '  - port: {number: 443, name: tls-a, protocol: TLS}',
        '    hosts: [c.example.com, edge/a.example.com]',
        '    tls: {mode: PASSTHROUGH}',
        '',
      ].join('\n'),
    ),
    [
      'test.yaml:11:20: spec.servers[1].port.number: port 80 is already used by servers[0] with protocol HTTP: plain-text and TLS servers cannot share a port (HTTP, HTTP2 and GRPC servers can share one, and so can HTTPS and TLS servers, told apart by SNI)',
      'test.yaml:16:20: spec.servers[3].port.number: port 9000 is already used by servers[2] with protocol TCP: a TCP or MONGO server needs a port of its own',
      'test.yaml:22:28: spec.servers[5].hosts[1]: host "a.example.com" is already served on port 443 by servers[4]; TLS servers sharing a port are told apart by SNI, so their hosts must differ',
    ],
  );
});

test('a valid Gateway is converted with upper-case protocols and full TLS settings', () => {
  const config = configOf(
    gw(
      [
        '  - port: {number: 443, name: https-bookinfo, protocol: https}',
        '    hosts: [bookinfo/bookinfo.example.com]',
        '    name: bookinfo',
        '    tls:',
        '      mode: MUTUAL',
        '      serverCertificate: /etc/certs/server.pem',
        '      privateKey: /etc/certs/server.key',
        '      caCertificates: /etc/certs/ca.pem',
        '      subjectAltNames: [client.example.com]',
        '      minProtocolVersion: TLSV1_2',
        '      cipherSuites: [ECDHE-ECDSA-AES256-GCM-SHA384]',
        '',
      ].join('\n'),
    ),
  );
  const gateway = config.gateways[0]!;
  assert.equal([gateway.meta.namespace, gateway.meta.name, gateway.spec.selector], ['edge', 'ingress', { app: 'ingress' }]);
  assert.equal(gateway.spec.servers, [
    {
      port: { number: 443, name: 'https-bookinfo', protocol: 'HTTPS' },
      hosts: ['bookinfo/bookinfo.example.com'],
      name: 'bookinfo',
      bind: undefined,
      tls: {
        mode: 'MUTUAL',
        httpsRedirect: false,
        credentialName: undefined,
        serverCertificate: '/etc/certs/server.pem',
        privateKey: '/etc/certs/server.key',
        caCertificates: '/etc/certs/ca.pem',
        subjectAltNames: ['client.example.com'],
        minProtocolVersion: 'TLSV1_2',
        maxProtocolVersion: undefined,
        cipherSuites: ['ECDHE-ECDSA-AES256-GCM-SHA384'],
      },
    },
  ]);
});

test.run();
