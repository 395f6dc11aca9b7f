// ML01xx: DestinationRule TLS against STRICT peer authentication, and the
// port numbers portLevelMtls and portLevelSettings are keyed by.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analyze, BASE, codes, destinationRule, peerAuthentication, service, workload } from './analyze-fixtures.js';

const STRICT_HTTPBIN = peerAuthentication('httpbin', 'bar', { selector: { matchLabels: { app: 'httpbin' } }, mtls: { mode: 'STRICT' } });
const tlsRule = (mode: string) =>
  destinationRule('httpbin', 'bar', { host: 'httpbin.bar.svc.cluster.local', trafficPolicy: { tls: { mode } } });

test('ML0101: DISABLE towards a STRICT workload is an Error at the tls mode field', () => {
  const findings = analyze(...BASE, STRICT_HTTPBIN, tlsRule('DISABLE'));
  assert.equal(codes(findings), ['ML0101']);
  const f = findings[0]!;
  assert.is(f.severity, 'Error');
  assert.equal([f.kind, f.namespace, f.name, f.field], ['DestinationRule', 'bar', 'httpbin', 'spec.trafficPolicy.tls.mode']);
  // The fifth document; its `mode:` line is the 8th of the document.
  const text = [...BASE, STRICT_HTTPBIN, tlsRule('DISABLE')].join('---\n');
  const line = text.split('\n').findIndex((l) => l.includes('mode: DISABLE')) + 1;
  assert.is(f.line, line);
  assert.match(f.message, /httpbin\.bar requires mutual TLS on port 80 \(PeerAuthentication bar\/httpbin\)/);
});

test('ML0101 also for a namespace-wide and a mesh-wide STRICT; not for PERMISSIVE or ISTIO_MUTUAL', () => {
  const ns = peerAuthentication('default', 'bar', { mtls: { mode: 'STRICT' } });
  const mesh = peerAuthentication('default', 'istio-system', { mtls: { mode: 'STRICT' } });
  assert.equal(codes(analyze(...BASE, ns, tlsRule('DISABLE'))), ['ML0101']);
  assert.match(analyze(...BASE, mesh, tlsRule('DISABLE'))[0]!.message, /mesh-wide/);
  assert.equal(codes(analyze(...BASE, tlsRule('DISABLE'))), []);
  assert.equal(codes(analyze(...BASE, STRICT_HTTPBIN, tlsRule('ISTIO_MUTUAL'))), []);
});

test('ML0101 follows port-level exceptions on both sides', () => {
  const strictExcept80 = peerAuthentication('httpbin', 'bar', {
    selector: { matchLabels: { app: 'httpbin' } },
    mtls: { mode: 'STRICT' },
    portLevelMtls: { 80: { mode: 'PERMISSIVE' } },
  });
  assert.equal(codes(analyze(...BASE, strictExcept80, tlsRule('DISABLE'))), []);
  const portRule = destinationRule('httpbin', 'bar', {
    host: 'httpbin.bar.svc.cluster.local',
    trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' }, portLevelSettings: [{ port: { number: 8000 }, tls: { mode: 'DISABLE' } }] },
  });
  const findings = analyze(...BASE, STRICT_HTTPBIN, portRule);
  assert.equal(codes(findings), ['ML0101']);
  assert.is(findings[0]!.field, 'spec.trafficPolicy.portLevelSettings[0].tls.mode');
});

test('ML0102: SIMPLE (TLS without a client certificate) towards STRICT, also from a subset', () => {
  assert.equal(codes(analyze(...BASE, STRICT_HTTPBIN, tlsRule('SIMPLE'))), ['ML0102']);
  const subsetRule = destinationRule('httpbin', 'bar', {
    host: 'httpbin.bar.svc.cluster.local',
    subsets: [{ name: 'v1', labels: { version: 'v1' }, trafficPolicy: { tls: { mode: 'SIMPLE' } } }],
  });
  const findings = analyze(...BASE, STRICT_HTTPBIN, subsetRule);
  assert.equal(codes(findings), ['ML0102']);
  assert.is(findings[0]!.field, 'spec.subsets[0].trafficPolicy.tls.mode');
});

test('ML0103: portLevelMtls keyed by the service port; ML0104: by a port nothing listens on; none for the target port', () => {
  const pa = (port: number) =>
    peerAuthentication('httpbin', 'bar', {
      selector: { matchLabels: { app: 'httpbin' } },
      mtls: { mode: 'STRICT' },
      portLevelMtls: { [port]: { mode: 'DISABLE' } },
    });
  const byService = analyze(...BASE, pa(8000));
  assert.equal(codes(byService), ['ML0103']);
  assert.is(byService[0]!.field, 'spec.portLevelMtls["8000"]', 'written as validate writes field paths');
  assert.match(byService[0]!.message, /listen on 80\b.*key it 80/);
  assert.equal(codes(analyze(...BASE, pa(9999))), ['ML0104']);
  assert.equal(codes(analyze(...BASE, pa(80))), []);
});

test('ML0105: portLevelSettings keyed by the target port; ML0106: by no port of the host; none for the service port', () => {
  const dr = (port: number) =>
    destinationRule('httpbin', 'bar', {
      host: 'httpbin.bar.svc.cluster.local',
      trafficPolicy: { portLevelSettings: [{ port: { number: port }, loadBalancer: { simple: 'ROUND_ROBIN' } }] },
    });
  const byTarget = analyze(...BASE, dr(80));
  assert.equal(codes(byTarget), ['ML0105']);
  assert.is(byTarget[0]!.field, 'spec.trafficPolicy.portLevelSettings[0].port.number');
  assert.match(byTarget[0]!.message, /use 8000/);
  assert.equal(codes(analyze(...BASE, dr(9999))), ['ML0106']);
  assert.equal(codes(analyze(...BASE, dr(8000))), []);
});

test('a workload without a sidecar is not held to STRICT (nothing there enforces it)', () => {
  const plain = [workload('httpbin', 'bar', { app: 'httpbin' }, {}, false), service('httpbin', 'bar')];
  assert.equal(codes(analyze(...plain, STRICT_HTTPBIN, tlsRule('DISABLE'))), []);
});

test.run();
