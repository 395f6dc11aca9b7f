// Real Envoy reads its workload certificate and trust bundle from the agent's
// SDS server (a pipe cluster to the Unix socket): two TLS listeners, one
// subscribed state-of-the-world and one delta, serve the certificate the
// CertificateManager got from a real meshlite, require a client certificate
// that chains to ROOTCA, and serve the renewed certificate once the manager
// rotates it, without a restart.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HeldCertificate } from '../../src/agent/agent-types.js';
import { CaClient } from '../../src/agent/ca-client.js';
import { CertificateManager } from '../../src/agent/certificate-manager.js';
import { startSdsServer } from '../../src/agent/sds-server.js';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { TYPE } from '../../src/xds/type-urls.js';
import { startTestMeshlite } from '../ca-service/ca-client.js';
import { heldFrom, recordingLogger, until } from '../support/agent/agent-fixtures.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { envoyOrThrow } from '../support/envoy-binary.js';

const ADDRESS = loopbackAddress('agent/sds-envoy.test.ts');
const SOTW_PORT = 10000;
const DELTA_PORT = 10001;
const ADMIN_PORT = 9901;

const sdsConfig = (apiType: 'GRPC' | 'DELTA_GRPC') => ({
  resource_api_version: 'V3',
  api_config_source: { api_type: apiType, transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'agent-sds' } }] },
});

const listener = (name: string, port: number, apiType: 'GRPC' | 'DELTA_GRPC') => ({
  name,
  address: { socket_address: { address: ADDRESS, port_value: port } },
  filter_chains: [
    {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': TYPE.httpConnectionManager,
            stat_prefix: name,
            route_config: {
              virtual_hosts: [
                {
                  name: 'all',
                  domains: ['*'],
                  routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: name } } }],
                },
              ],
            },
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TYPE.router } }],
          },
        },
      ],
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: {
          '@type': TYPE.downstreamTlsContext,
          require_client_certificate: true,
          common_tls_context: {
            tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: sdsConfig(apiType) }],
            validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: sdsConfig(apiType) },
          },
        },
      },
    },
  ],
});

const bootstrap = (socketPath: string) => ({
  node: { id: 'sleep.foo', cluster: 'sleep' },
  admin: { address: { socket_address: { address: ADDRESS, port_value: ADMIN_PORT } } },
  static_resources: {
    listeners: [listener('sotw', SOTW_PORT, 'GRPC'), listener('delta', DELTA_PORT, 'DELTA_GRPC')],
    clusters: [
      {
        name: 'agent-sds',
        type: 'STATIC',
        connect_timeout: '1s',
        load_assignment: {
          cluster_name: 'agent-sds',
          endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: socketPath } } } }] }],
        },
        typed_extension_protocol_options: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
            '@type': TYPE.httpProtocolOptions,
            explicit_http_config: { http2_protocol_options: {} },
          },
        },
      },
    ],
  },
});

type Handshake = { ok: true; serial: string; body: string } | { ok: false; error: string };

/** A TLS connection and one HTTP request: the server certificate's serial, or why it failed. */
function handshake(port: number, trust: string, client?: HeldCertificate): Promise<Handshake> {
  return new Promise((resolve) => {
    let serial = '';
    let data = '';
    const socket = tls.connect({
      host: ADDRESS,
      port,
      ca: trust,
      cert: client?.certChainPem,
      key: client?.privateKeyPem,
      checkServerIdentity: () => undefined, // the certificate names a SPIFFE id, not a host
    });
    socket.setTimeout(3000, () => socket.destroy(new Error('timeout')));
    socket.once('secureConnect', () => {
      serial = socket.getPeerCertificate().serialNumber.toLowerCase();
      socket.write(`GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
    });
    socket.on('data', (d) => (data += d));
    socket.once('error', (err) => resolve({ ok: false, error: err.message }));
    socket.once('close', () => {
      if (data.startsWith('HTTP/1.1 200')) resolve({ ok: true, serial, body: data.split('\r\n\r\n')[1] ?? '' });
      else resolve({ ok: false, error: `no response (${data.slice(0, 40)})` });
    });
  });
}

async function stopEnvoy(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

test('Envoy serves the manager`s certificate over SDS (SotW and delta), checks clients with ROOTCA, and rotates without a restart', async () => {
  const envoy = envoyOrThrow();
  const t = await startTestMeshlite({ certTtlSeconds: 3600 });
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-sds-envoy-'));
  const log = recordingLogger();
  let manager: CertificateManager | undefined;
  const ca = new CaClient({ address: `127.0.0.1:${t.m.adsPort}`, trustBundlePem: () => manager!.trustBundlePem() });
  const token = await t.m.tokens!.issue('sleep.foo');
  manager = new CertificateManager({ ca, token: () => token, trustBundlePem: t.m.ca.rootCertPem, ttlSeconds: 10, logger: log });
  const socketPath = join(dir, 'sds.sock');
  const sds = await startSdsServer({ socketPath, secrets: manager, logger: log });
  let output = '';
  let child: ChildProcess | undefined;
  try {
    await manager.start();
    const first = manager.certificate()!;
    writeFileSync(join(dir, 'envoy.json'), JSON.stringify(bootstrap(socketPath)));
    child = spawn(envoy, ['-c', join(dir, 'envoy.json'), '--log-level', 'warn', '--disable-hot-restart'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const root = t.m.ca.rootCertPem;
    const client = await heldFrom(t.m.ca, 'foo', 'httpbin');
    const serving = async (port: number, serial: string) => {
      if (child!.exitCode !== null) throw new Error(`Envoy exited:\n${output}`);
      const r = await handshake(port, root, client);
      return r.ok && r.serial === serial;
    };
    for (const port of [SOTW_PORT, DELTA_PORT])
      await until(`Envoy serves ${first.serialNumber} on ${port}`, () => serving(port, first.serialNumber), 20_000);

    const withoutClientCert = await handshake(SOTW_PORT, root);
    assert.not.ok(withoutClientCert.ok, 'a client certificate is required');
    const foreign = await CertificateAuthority.loadOrCreate({ stateDir: join(dir, 'foreign'), trustDomain: 'cluster.local' });
    const foreignClient = await handshake(DELTA_PORT, root, await heldFrom(foreign));
    assert.not.ok(foreignClient.ok, 'a client certificate of another CA fails ROOTCA');
    const body = await handshake(DELTA_PORT, root, client);
    assert.ok(body.ok && body.body === 'delta');

    const pid = child.pid;
    await until('the manager renewed', () => manager!.certificate()!.serialNumber !== first.serialNumber, 15_000);
    const renewed = manager.certificate()!.serialNumber;
    for (const port of [SOTW_PORT, DELTA_PORT]) await until(`Envoy serves ${renewed} on ${port}`, () => serving(port, renewed), 10_000);
    assert.is(child.pid, pid);
    assert.is(child.exitCode, null, 'the same Envoy process, never restarted');
    assert.equal(log.matching(/NACK/), [], 'Envoy accepted every secret');
    const protocols = new Set(log.matching(/opened an SDS stream/).map((l) => l.fields.protocol));
    assert.equal([...protocols].sort(), ['delta', 'sotw'], 'one listener subscribed by each protocol');
  } catch (err) {
    console.error(output.slice(-3000));
    throw err;
  } finally {
    if (child) await stopEnvoy(child);
    manager.stop();
    ca.close();
    await sds.close();
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
