// A mixed mesh: sidecar clients of a proxyless gRPC server (run by an agent).
// Under STRICT the server takes only mTLS, so auto mTLS must send it; under
// PERMISSIVE it is served plaintext (gRPC cannot tell TLS from plaintext on
// one port), and with `serve --insecure` proxyless apps have no certificates.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { computeOutbound } from '../../src/model/outbound-view.js';
import { translate } from '../../src/translate/translator.js';
import { meshOf, mtlsPolicy, serviceEntry, workloadEntry } from '../support/fixtures/index.js';

const GRPC = { name: 'grpc', number: 50051, protocol: 'GRPC' };

function greeterCluster(mode: 'STRICT' | 'PERMISSIVE', proxylessMtls: boolean) {
  const model = meshOf([
    mtlsPolicy('istio-system/default', mode),
    serviceEntry('bar/greeter', { ports: [GRPC] }),
    workloadEntry('bar/greeter', { address: '10.0.0.9', sidecar: false }, { annotations: { 'proxyless.meshlite.io/grpc': 'true' } }),
    workloadEntry('foo/sleep', { address: '10.0.0.1' }),
  ]);
  const cluster = computeOutbound(model, 'foo', proxylessMtls).clusters.find(
    (c) => c.name === 'outbound|50051||greeter.bar.svc.cluster.local',
  );
  if (!cluster) throw new Error('no greeter cluster');
  return cluster;
}

test('STRICT proxyless server: sidecar clients send mTLS to it (auto mTLS), verifying its SPIFFE id', () => {
  const cluster = greeterCluster('STRICT', true);
  assert.equal(
    cluster.endpoints.map((e) => e.istioMtls),
    [true],
  );
  assert.is(cluster.tls.kind, 'auto');
  if (cluster.tls.kind === 'auto') assert.equal(cluster.tls.istio.subjectAltNames, ['spiffe://cluster.local/ns/bar/sa/greeter']);
});

test('PERMISSIVE proxyless server, or no proxyless certificates (serve --insecure): plaintext', () => {
  assert.equal(
    greeterCluster('PERMISSIVE', true).endpoints.map((e) => e.istioMtls),
    [false],
  );
  assert.equal(
    greeterCluster('STRICT', false).endpoints.map((e) => e.istioMtls),
    [false],
  );
});

test("a sidecar'd gRPC server: its inbound cluster speaks HTTP/2 to the app (gRPC has no HTTP/1.1)", () => {
  const model = meshOf([
    serviceEntry('bar/greeter2', { ports: [{ ...GRPC, targetPort: 7070 }] }),
    workloadEntry('bar/greeter2', { address: '10.0.0.8' }),
    serviceEntry('bar/web', { ports: [{ name: 'http', number: 8000, protocol: 'HTTP', targetPort: 8080 }] }),
    workloadEntry('bar/web', { address: '10.0.0.7' }),
  ]);
  const options = (id: string, cluster: string) => {
    const translated = translate(model, id);
    if (!translated.ok) throw new Error(translated.error);
    const found = translated.resources.clusters.find((c) => c.name === cluster);
    if (!found) throw new Error(`${id}: no ${cluster}`);
    return JSON.stringify(found.typed_extension_protocol_options ?? null);
  };
  assert.match(options('greeter2.bar', 'inbound|7070||'), /"http2_protocol_options":\{\}/);
  assert.is(options('web.bar', 'inbound|8080||'), 'null', 'an HTTP/1.1 app keeps the default');
});

test.run();
