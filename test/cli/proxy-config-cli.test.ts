// `meshlite proxy-config` as a user runs it: offline over the examples (rows
// asserted), the filters, the usage errors, and an admin that serves private
// keys in every form a config_dump can hold them (none is ever printed).
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { TestCa } from '../support/e2e/test-pki.js';
import { after, before } from '../support/hooks.js';
import { REPO_ROOT } from '../support/paths.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
type Obj = Record<string, any>;

function meshlite(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The rows of a table, each split into its cells. */
const rows = (table: string) =>
  table
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/ {2,}/));

test('clusters offline: direction, port, subset and host from the cluster name, the DestinationRule from its metadata, sorted; filters narrow them', async () => {
  const r = await meshlite('proxy-config', 'clusters', 'sleep.foo', '-c', 'examples/weighted-subsets');
  assert.is(r.code, 0, r.stderr);
  assert.equal(rows(r.stdout), [
    ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE'],
    ['httpbin.bar.svc.cluster.local', '8000', '-', 'outbound', 'EDS', '-'],
    ['httpbin.foo.svc.cluster.local', '8000', '-', 'outbound', 'EDS', '-'],
    ['httpbin.legacy.svc.cluster.local', '8000', '-', 'outbound', 'EDS', '-'],
    // The DestinationRule bar/reviews (its subsets v1 and v2) shapes every reviews cluster, the default one too.
    ['reviews.bar.svc.cluster.local', '9080', '-', 'outbound', 'EDS', 'reviews.bar'],
    ['reviews.bar.svc.cluster.local', '9080', 'v1', 'outbound', 'EDS', 'reviews.bar'],
    ['reviews.bar.svc.cluster.local', '9080', 'v2', 'outbound', 'EDS', 'reviews.bar'],
  ]);
  const narrowed = await meshlite(
    'proxy-config',
    'clusters',
    'sleep.foo',
    '-c',
    'examples/weighted-subsets',
    '--fqdn',
    'reviews.bar.svc.cluster.local',
    '--port',
    '9080',
    '--direction',
    'outbound',
  );
  assert.equal(
    rows(narrowed.stdout).map((row) => row[2]),
    ['SUBSET', '-', 'v1', 'v2'],
  );
  const inbound = await meshlite('proxy-config', 'clusters', 'httpbin.foo', '-c', 'examples/s1-auto-mtls', '--direction', 'inbound');
  assert.equal(rows(inbound.stdout).slice(1), [['-', '80', '-', 'inbound', 'STATIC', '-']]);
  const json = await meshlite('proxy-config', 'clusters', 'sleep.foo', '-c', 'examples/weighted-subsets', '--port', '8000', '-o', 'json');
  assert.equal(
    (JSON.parse(json.stdout) as Obj[]).map((c) => c.name),
    [
      'outbound|8000||httpbin.bar.svc.cluster.local',
      'outbound|8000||httpbin.foo.svc.cluster.local',
      'outbound|8000||httpbin.legacy.svc.cluster.local',
    ],
  );
});

test('listeners offline: one row per filter chain with its match and destination; a gateway matches SNI', async () => {
  const r = await meshlite('proxy-config', 'listeners', 'httpbin.foo', '-c', 'examples/s1-auto-mtls');
  assert.is(r.code, 0, r.stderr);
  assert.equal(rows(r.stdout), [
    ['ADDRESS', 'PORT', 'MATCH', 'DESTINATION'],
    [
      '127.0.1.1',
      '80',
      'port=80; transport=tls; alpn=istio,istio-peer-exchange,istio-http/1.0,istio-http/1.1,istio-h2',
      'Route: inbound|80||',
    ],
    ['127.0.1.1', '80', 'port=80; transport=raw_buffer', 'Route: inbound|80||'],
    ['127.0.1.1', '80', 'port=80; transport=tls', 'Cluster: inbound|80||'],
    ['127.0.1.1', '15001', 'ALL', 'Route: http_proxy'],
  ]);
  const named = await meshlite('proxy-config', 'listeners', 'httpbin.foo', '-c', 'examples/s1-auto-mtls', '--name', '127.0.1.1_15001');
  assert.equal(rows(named.stdout).slice(1), [['127.0.1.1', '15001', 'ALL', 'Route: http_proxy']]);
  const gateway = await meshlite('proxy-config', 'listeners', 'ingressgateway.istio-system', '-c', 'examples/s7-gateway-passthrough');
  assert.equal(rows(gateway.stdout).slice(1), [
    ['127.0.9.11', '443', 'sni=nginx.example.com', 'Cluster: outbound|443||nginx-https.default.svc.cluster.local'],
  ]);
});

test('routes offline: per virtual host its domains and matches, and the VirtualService a route came from', async () => {
  const r = await meshlite('proxy-config', 'routes', 'sleep.foo', '-c', 'examples/weighted-subsets', '--name', 'http_proxy');
  assert.is(r.code, 0, r.stderr);
  const table = rows(r.stdout);
  assert.equal(table[0], ['NAME', 'VHOST', 'DOMAINS', 'MATCH', 'VIRTUAL SERVICE']);
  assert.equal(
    table.find((row) => row[1] === 'reviews.bar.svc.cluster.local:9080'),
    [
      'http_proxy',
      'reviews.bar.svc.cluster.local:9080',
      'reviews.bar.svc.cluster.local:9080,reviews.bar.svc:9080 +1 more',
      '/*',
      'reviews.bar',
    ],
  );
  assert.equal(table.find((row) => row[1] === 'httpbin.bar.svc.cluster.local:8000')?.slice(3), ['/*', '-']);
  const none = await meshlite('proxy-config', 'routes', 'sleep.foo', '-c', 'examples/weighted-subsets', '--name', 'no-such-route');
  assert.equal(rows(none.stdout), [['NAME', 'VHOST', 'DOMAINS', 'MATCH', 'VIRTUAL SERVICE']]);
});

test('endpoints offline: every endpoint of every cluster; yaml of the assignments', async () => {
  const r = await meshlite(
    'proxy-config',
    'endpoints',
    'sleep.foo',
    '-c',
    'examples/weighted-subsets',
    '--cluster',
    'outbound|9080|v2|reviews.bar.svc.cluster.local',
  );
  assert.is(r.code, 0, r.stderr);
  assert.equal(rows(r.stdout), [
    ['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'],
    ['127.0.2.6:9080', 'HEALTHY', '-', 'outbound|9080|v2|reviews.bar.svc.cluster.local'],
  ]);
  const yaml = await meshlite('proxy-config', 'endpoints', 'sleep.foo', '-c', 'examples/weighted-subsets', '-o', 'yaml');
  assert.equal(
    (parse(yaml.stdout) as Obj[]).map((e) => e.cluster_name).filter((n: string) => n.includes('reviews')),
    [
      'outbound|9080||reviews.bar.svc.cluster.local',
      'outbound|9080|v1|reviews.bar.svc.cluster.local',
      'outbound|9080|v2|reviews.bar.svc.cluster.local',
    ],
  );
});

test('usage: one source, a known kind, a proxy; one line each, never a stack trace', async () => {
  const none = await meshlite('proxy-config', 'clusters', 'sleep.foo');
  assert.is(none.code, 2);
  assert.match(none.stderr, 'give exactly one source');
  const two = await meshlite('proxy-config', 'clusters', 'sleep.foo', '-c', 'examples/s1-auto-mtls', '--envoy-admin', '127.0.0.1:9');
  assert.is(two.code, 2);
  const kind = await meshlite('proxy-config', 'cluster', 'sleep.foo', '-c', 'examples/s1-auto-mtls');
  assert.is(kind.code, 2);
  assert.match(kind.stderr, 'one of clusters, listeners, routes, endpoints, secrets, all');
  const noProxy = await meshlite('proxy-config', 'clusters', '-c', 'examples/s1-auto-mtls');
  assert.is(noProxy.code, 2);
  assert.match(noProxy.stderr, 'proxies: httpbin.bar, httpbin.foo, sleep.bar, sleep.foo');
  const unknown = await meshlite('proxy-config', 'clusters', 'nobody.foo', '-c', 'examples/s1-auto-mtls');
  assert.is(unknown.code, 1);
  for (const r of [none, two, kind, noProxy, unknown]) {
    assert.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.not.match(r.stderr, '    at ');
  }
});

// --- An admin whose dump holds private keys ----------------------------------

let dir: string;
let server: Server;
let adminUrl: string;
let leaf: { certPem: string; keyPem: string };
let caPem: string;

const base64 = (text: string) => Buffer.from(text).toString('base64');
/** The key's bytes as they sit between the PEM armour lines. */
const keyBody = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----'))[1]!;

before(test, async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshlite-proxy-config-'));
  const ca = await TestCa.create(dir, 'proxy-config test CA');
  leaf = await ca.issue('leaf', { commonName: 'httpbin.foo', usage: 'server' });
  caPem = ca.certPem;
  const secretsDump = {
    '@type': 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump',
    dynamic_active_secrets: [
      {
        name: 'default',
        secret: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
          name: 'default',
          tls_certificate: { certificate_chain: { inline_string: leaf.certPem }, private_key: { inline_string: leaf.keyPem } },
        },
      },
      {
        name: 'bytes-cert',
        secret: {
          name: 'bytes-cert',
          tls_certificate: {
            certificate_chain: { inline_bytes: base64(leaf.certPem) },
            private_key: { inline_bytes: base64(leaf.keyPem) },
          },
        },
      },
      { name: 'ROOTCA', secret: { name: 'ROOTCA', validation_context: { trusted_ca: { inline_bytes: base64(caPem) } } } },
      // A key where no key belongs still never gets out.
      { name: 'odd', secret: { name: 'odd', generic_secret: { secret: { inline_string: leaf.keyPem } } } },
    ],
    dynamic_warming_secrets: [{ name: 'pending', secret: { name: 'pending' } }],
  };
  const clusterStatuses = {
    cluster_statuses: [
      {
        name: 'outbound|8000||httpbin.bar.svc.cluster.local',
        host_statuses: [
          { address: { socket_address: { address: '10.0.0.2', port_value: 80 } }, health_status: { eds_health_status: 'HEALTHY' } },
          {
            address: { socket_address: { address: '10.0.0.1', port_value: 80 } },
            health_status: { eds_health_status: 'HEALTHY', failed_outlier_check: true },
          },
        ],
      },
    ],
  };
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/config_dump')) res.end(JSON.stringify({ configs: [secretsDump] }));
    else if (req.url === '/clusters?format=json') res.end(JSON.stringify(clusterStatuses));
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  adminUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(test, async () => {
  await new Promise((resolve) => server?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

test('secrets table: the leaf and root facts from inline strings and bytes, warming ones named', async () => {
  const r = await meshlite('proxy-config', 'secrets', '--envoy-admin', adminUrl);
  assert.is(r.code, 0, r.stderr);
  const cert = new X509Certificate(leaf.certPem);
  const root = new X509Certificate(caPem);
  const iso = (d: string) => new Date(d).toISOString().replace('.000Z', 'Z');
  const leafFacts = ['true', cert.serialNumber.toLowerCase(), iso(cert.validTo), iso(cert.validFrom)];
  assert.equal(rows(r.stdout), [
    ['RESOURCE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'],
    ['bytes-cert', 'Cert Chain', 'ACTIVE', ...leafFacts],
    ['default', 'Cert Chain', 'ACTIVE', ...leafFacts],
    ['odd', 'Other', 'ACTIVE', '-', '-', '-', '-'],
    ['pending', '-', 'WARMING', '-', '-', '-', '-'],
    ['ROOTCA', 'CA', 'ACTIVE', 'true', root.serialNumber.toLowerCase(), iso(root.validTo), iso(root.validFrom)],
  ]);
  assert.not.match(r.stdout, 'PRIVATE KEY');
});

test('secrets -o json|yaml and all -o json: no private key in any form', async () => {
  const outputs = await Promise.all([
    meshlite('proxy-config', 'secrets', '--envoy-admin', adminUrl, '-o', 'json'),
    meshlite('proxy-config', 'secrets', '--envoy-admin', adminUrl, '-o', 'yaml'),
    meshlite('proxy-config', 'all', '--envoy-admin', adminUrl, '-o', 'json'),
  ]);
  for (const r of outputs) {
    assert.is(r.code, 0, r.stderr);
    assert.not.match(r.stdout, 'PRIVATE KEY');
    assert.not.match(r.stdout, keyBody(leaf.keyPem));
    assert.not.match(r.stdout, base64(leaf.keyPem).slice(0, 40));
    // The certificates themselves are still there, to be read.
    assert.match(r.stdout, keyBody(leaf.certPem));
  }
  const secrets = JSON.parse(outputs[0]!.stdout) as Obj[];
  assert.equal(secrets.find((s) => s.name === 'default')?.tls_certificate.private_key, { inline_string: '[redacted]' });
  assert.equal(secrets.find((s) => s.name === 'bytes-cert')?.tls_certificate.private_key, { inline_string: '[redacted]' });
});

test('endpoints from an Envoy without EDS in its dump: its /clusters health and outlier ejections', async () => {
  const r = await meshlite('proxy-config', 'endpoints', '--envoy-admin', adminUrl);
  assert.is(r.code, 0, r.stderr);
  assert.equal(rows(r.stdout), [
    ['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'],
    ['10.0.0.1:80', 'HEALTHY', 'FAILED', 'outbound|8000||httpbin.bar.svc.cluster.local'],
    ['10.0.0.2:80', 'HEALTHY', 'OK', 'outbound|8000||httpbin.bar.svc.cluster.local'],
  ]);
});

test.run();
