// The bootstrap the agent writes for its Envoy: the agent's node, a loopback
// admin, ADS over the agent's Unix socket and nothing secret; written owner-only
// and whole, and accepted by real Envoy (`--mode validate`). That Envoy really
// talks ADS over the socket with it is shown in envoy-supervisor.test.ts.
import { execFile } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AGENT_XDS_CLUSTER, agentBootstrap, writeAgentBootstrap } from '../../src/agent/agent-bootstrap.js';
import { envoyOrThrow } from '../support/envoy-binary.js';
import { tempDir } from './envoy-test-support.js';

const run = promisify(execFile);
const OPTIONS = {
  proxyId: 'sleep.foo',
  cluster: 'sleep.foo',
  adsSocketPath: '/run/meshlite/sleep.foo/xds.sock',
  adminAddress: { host: '127.0.0.1', port: 15000 },
  metadata: { NAMESPACE: 'foo', MESHLITE: 'sidecar', MESHLITE_AGENT: 'false' },
};

test('node, admin and ADS over the pipe; MESHLITE_AGENT is "true" whatever the caller passed; no token, CA or TLS', () => {
  const b = agentBootstrap(OPTIONS) as Record<string, any>;
  assert.equal(b.node, {
    id: 'sleep.foo',
    cluster: 'sleep.foo',
    metadata: { NAMESPACE: 'foo', MESHLITE: 'sidecar', MESHLITE_AGENT: 'true' },
  });
  assert.equal(b.admin, { address: { socket_address: { address: '127.0.0.1', port_value: 15000 } } });
  const ads = b.dynamic_resources.ads_config;
  assert.equal(ads, {
    api_type: 'GRPC',
    transport_api_version: 'V3',
    grpc_services: [{ envoy_grpc: { cluster_name: AGENT_XDS_CLUSTER } }],
    set_node_on_first_message_only: true,
  });
  assert.equal(b.dynamic_resources.lds_config, { ads: {}, resource_api_version: 'V3' });
  assert.equal(b.dynamic_resources.cds_config, { ads: {}, resource_api_version: 'V3' });
  assert.is(b.static_resources.clusters.length, 1);
  const [cluster] = b.static_resources.clusters;
  assert.is(cluster.name, 'xds-grpc');
  assert.equal(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address, { pipe: { path: OPTIONS.adsSocketPath } });
  assert.ok(
    cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config
      .http2_protocol_options,
  );
  assert.is(cluster.transport_socket, undefined, 'no TLS on the pipe');
  assert.equal(Object.keys(b).sort(), ['admin', 'dynamic_resources', 'node', 'static_resources']);
  const text = JSON.stringify(b);
  for (const secret of ['Bearer', 'authorization', 'initial_metadata', 'BEGIN', 'trusted_ca', 'tls']) {
    assert.not.ok(text.includes(secret), `the bootstrap mentions ${secret}`);
  }
});

test('the admin must be on a loopback IP with a real port; the socket path and proxy id must be given', () => {
  for (const host of ['0.0.0.0', '10.0.0.1', '::', 'localhost', '']) {
    assert.throws(
      () => agentBootstrap({ ...OPTIONS, adminAddress: { host, port: 15000 } }),
      (e: Error) => e instanceof RangeError,
      host,
    );
  }
  for (const port of [-1, 65536, 1.5]) {
    assert.throws(
      () => agentBootstrap({ ...OPTIONS, adminAddress: { host: '127.0.0.1', port } }),
      (e: Error) => e instanceof RangeError,
    );
  }
  assert.throws(
    () => agentBootstrap({ ...OPTIONS, adsSocketPath: '' }),
    (e: Error) => e instanceof RangeError,
  );
  assert.throws(
    () => agentBootstrap({ ...OPTIONS, proxyId: '' }),
    (e: Error) => e instanceof RangeError,
  );
  for (const host of ['::1', '127.0.0.2']) {
    const b = agentBootstrap({ ...OPTIONS, adminAddress: { host, port: 0 } }) as Record<string, any>;
    assert.is(b.admin.address.socket_address.address, host);
  }
});

test('written owner-only (replacing a readable file), whole, and real Envoy validates it', async () => {
  const tmp = tempDir('meshlite-agent-bootstrap-');
  try {
    const path = join(tmp.dir, 'envoy.json');
    writeFileSync(path, '{}', { mode: 0o644 });
    chmodSync(path, 0o644);
    const bootstrap = agentBootstrap({ ...OPTIONS, adsSocketPath: join(tmp.dir, 'xds.sock') });
    await writeAgentBootstrap(path, bootstrap);
    assert.is(statSync(path).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')), bootstrap);
    assert.equal(readdirSync(tmp.dir), ['envoy.json'], 'no temporary file left behind');

    const validated = await run(envoyOrThrow(), ['--mode', 'validate', '-c', path, '-l', 'error', '--disable-hot-restart'], {
      timeout: 60_000,
    }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`envoy --mode validate rejected the agent bootstrap:\n${e.stderr ?? ''}${e.stdout ?? ''}${e.message}`);
    });
    assert.match(validated.stdout + validated.stderr, /OK/);

    // What is not a Bootstrap is refused before the file is touched.
    const broken = { ...bootstrap, admin: { adress: 'nope' } };
    await writeAgentBootstrap(path, broken).then(
      () => assert.unreachable('wrote a bootstrap with an unknown field'),
      (e: Error) => assert.match(e.message, /adress/),
    );
    assert.equal(JSON.parse(readFileSync(path, 'utf8')), bootstrap, 'the previous file is intact');
  } finally {
    tmp.remove();
  }
});

test.run();
