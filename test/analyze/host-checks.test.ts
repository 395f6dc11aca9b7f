// ML03xx: hosts, subsets and gateway servers that name nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analyze, BASE, codes, destinationRule, gateway, virtualService, workload } from './analyze-fixtures.js';

test('ML0301: a DestinationRule for an unknown host; none for a short name of a known one', () => {
  const findings = analyze(...BASE, destinationRule('dr', 'bar', { host: 'httpbim' }));
  assert.equal(codes(findings), ['ML0301']);
  assert.is(findings[0]!.field, 'spec.host');
  assert.match(findings[0]!.message, /httpbim\.bar\.svc\.cluster\.local/);
  assert.equal(codes(analyze(...BASE, destinationRule('dr', 'bar', { host: 'httpbin' }))), []);
  assert.equal(codes(analyze(...BASE, destinationRule('dr', 'foo', { host: 'httpbin.bar' }))), []);
});

test('ML0305: a subset whose labels no endpoint has', () => {
  const dr = (version: string) => destinationRule('dr', 'bar', { host: 'httpbin', subsets: [{ name: 'v', labels: { version } }] });
  const findings = analyze(...BASE, dr('v2'));
  assert.equal(codes(findings), ['ML0305']);
  assert.is(findings[0]!.field, 'spec.subsets[0].labels');
  assert.equal(codes(analyze(...BASE, dr('v1'))), []);
});

test('ML0302, ML0303, ML0304: unknown VirtualService host, route destination and mirror', () => {
  const vs = virtualService('vs', 'foo', {
    hosts: ['nothere'],
    http: [{ route: [{ destination: { host: 'gone.bar.svc.cluster.local' } }], mirror: { host: 'alsogone' } }],
    tcp: [{ route: [{ destination: { host: 'tcpgone', port: { number: 9 } } }] }],
  });
  const findings = analyze(...BASE, vs);
  assert.equal(
    findings.map((f) => `${f.code} ${f.severity} ${f.field}`),
    [
      'ML0302 Warning spec.hosts[0]',
      'ML0303 Error spec.http[0].route[0].destination.host',
      'ML0304 Warning spec.http[0].mirror.host',
      'ML0303 Error spec.tcp[0].route[0].destination.host',
    ],
  );
  const good = virtualService('vs', 'foo', { hosts: ['httpbin.bar'], http: [{ route: [{ destination: { host: 'httpbin.bar' } }] }] });
  assert.equal(codes(analyze(...BASE, good)), []);
});

test('ML0302 only for VirtualServices of the mesh: a gateway-only VirtualService names outside hosts freely', () => {
  const ingress = workload('ingress', 'bar', { app: 'ingress' }, {}, false);
  const gw = gateway('gw', 'bar', {
    selector: { app: 'ingress' },
    servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['www.example.com'] }],
  });
  const vs = virtualService('vs', 'bar', {
    hosts: ['www.example.com'],
    gateways: ['gw'],
    http: [{ route: [{ destination: { host: 'httpbin' } }] }],
  });
  assert.equal(codes(analyze(...BASE, ingress, gw, vs)), []);
});

test('ML0306: a route to a subset no DestinationRule defines (Error); none when it is defined', () => {
  const vs = virtualService('vs', 'foo', {
    hosts: ['httpbin.bar'],
    http: [{ route: [{ destination: { host: 'httpbin.bar', subset: 'v1' } }] }],
  });
  const findings = analyze(...BASE, vs);
  assert.equal(codes(findings), ['ML0306']);
  assert.is(findings[0]!.field, 'spec.http[0].route[0].destination.subset');
  const dr = destinationRule('dr', 'bar', { host: 'httpbin', subsets: [{ name: 'v1', labels: { version: 'v1' } }] });
  assert.equal(codes(analyze(...BASE, dr, vs)), []);
});

test('ML0307: a Gateway host no bound VirtualService routes; ML0308: an AUTO_PASSTHROUGH host of no service', () => {
  const ingress = workload('ingress', 'bar', { app: 'ingress' }, {}, false);
  const gw = gateway('gw', 'bar', {
    selector: { app: 'ingress' },
    servers: [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['www.example.com', 'api.example.com'] }],
  });
  const vs = virtualService('vs', 'bar', {
    hosts: ['www.example.com'],
    gateways: ['gw'],
    http: [{ route: [{ destination: { host: 'httpbin' } }] }],
  });
  const findings = analyze(...BASE, ingress, gw, vs);
  assert.equal(codes(findings), ['ML0307']);
  assert.is(findings[0]!.field, 'spec.servers[0].hosts[1]');
  const meshOnly = virtualService('vs', 'bar', {
    hosts: ['www.example.com', 'api.example.com'],
    http: [{ route: [{ destination: { host: 'httpbin' } }] }],
  });
  assert.equal(
    codes(analyze(...BASE, ingress, gw, meshOnly)).filter((c) => c === 'ML0307').length,
    2,
    'a VirtualService not bound to the gateway does not count',
  );
  const auto = (host: string) =>
    gateway('gw', 'bar', {
      selector: { app: 'ingress' },
      servers: [{ port: { number: 15443, name: 'tls', protocol: 'TLS' }, hosts: [host], tls: { mode: 'AUTO_PASSTHROUGH' } }],
    });
  assert.equal(codes(analyze(...BASE, ingress, auto('*.example.com'))), ['ML0308']);
  assert.equal(codes(analyze(...BASE, ingress, auto('*.svc.cluster.local'))), []);
});

test.run();
