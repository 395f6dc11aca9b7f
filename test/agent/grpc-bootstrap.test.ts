// The gRPC bootstrap `meshlite agent --grpc` writes, checked by grpc-js-xds's
// own bootstrap validator (the code a proxyless app runs on the file), and the
// certificate files kept current from the agent's secrets: private modes, the
// key always matching the certificate, rewritten on a new certificate and on
// a new trust bundle.
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  certificateRefreshSeconds,
  type GrpcAgentBootstrap,
  grpcAgentBootstrap,
  writeGrpcBootstrap,
} from '../../src/agent/grpc-bootstrap.js';
import { startGrpcMode } from '../../src/agent/grpc-mode.js';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { heldFrom, MemorySecrets, pemCertificates, recordingLogger, serialOf, until } from '../support/agent/agent-fixtures.js';
import { after, before } from '../support/hooks.js';

// grpc-js-xds's validator is not part of its public API; its file is loaded directly.
const require = createRequire(import.meta.url);
const xdsBootstrap = require('@grpc/grpc-js-xds/build/src/xds-bootstrap.js') as {
  validateBootstrapConfig(obj: unknown): {
    xdsServers: { server_uri: string; channel_creds: { type: string }[]; server_features: string[] }[];
    node: { id: string; cluster?: string; metadata?: unknown };
    serverListenerResourceNameTemplate: string | null;
    certificateProviders: Record<
      string,
      {
        pluginName: string;
        config: { certificateFile: string; privateKeyFile: string; caCertificateFile: string; refreshIntervalMs: number };
      }
    >;
  };
};

let dir: string;
let ca: CertificateAuthority;

before(test, async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshlite-grpc-bootstrap-'));
  ca = await CertificateAuthority.loadOrCreate({ stateDir: join(dir, 'ca'), trustDomain: 'cluster.local' });
});
after(test, () => rmSync(dir, { recursive: true, force: true }));

const options = {
  proxyId: 'greeter-client.foo',
  cluster: 'greeter-client.foo',
  serverUri: 'unix:///run/agent/xds.sock',
  certificates: { certificateFile: '/c/cert-chain.pem', privateKeyFile: '/c/key.pem', caCertificateFile: '/c/root-cert.pem' },
  refreshIntervalSeconds: 5,
};

test('grpc-js-xds accepts the bootstrap and reads from it the server, the node, the file_watcher provider and the server listener template', () => {
  const parsed = xdsBootstrap.validateBootstrapConfig(JSON.parse(JSON.stringify(grpcAgentBootstrap(options))));
  assert.equal(parsed.xdsServers, [
    {
      server_uri: 'unix:///run/agent/xds.sock',
      channel_creds: [{ type: 'insecure', config: undefined }],
      server_features: ['xds_v3', 'ignore_resource_deletion'],
    },
  ]);
  assert.is(parsed.node.id, 'greeter-client.foo');
  assert.is(parsed.node.cluster, 'greeter-client.foo');
  assert.equal(parsed.node.metadata, { fields: { MESHLITE_AGENT: { kind: 'stringValue', stringValue: 'true' } } });
  assert.is(parsed.serverListenerResourceNameTemplate, 'grpc/server?xds.resource.listening_address=%s');
  assert.equal(parsed.certificateProviders, {
    default: {
      pluginName: 'file_watcher',
      config: {
        certificateFile: '/c/cert-chain.pem',
        privateKeyFile: '/c/key.pem',
        caCertificateFile: '/c/root-cert.pem',
        refreshIntervalMs: 5000,
      },
    },
  });
});

test('the validator is strict: the same file without a node locality is refused (so the test above can fail)', () => {
  const broken = JSON.parse(JSON.stringify(grpcAgentBootstrap(options))) as GrpcAgentBootstrap;
  delete (broken.node as Partial<GrpcAgentBootstrap['node']>).locality;
  assert.throws(() => xdsBootstrap.validateBootstrapConfig(broken), /locality/);
});

test('bad options are refused with a RangeError', () => {
  assert.throws(() => grpcAgentBootstrap({ ...options, proxyId: '' }), RangeError);
  assert.throws(() => grpcAgentBootstrap({ ...options, serverUri: '' }), RangeError);
  assert.throws(() => grpcAgentBootstrap({ ...options, certificates: { ...options.certificates, privateKeyFile: '' } }), RangeError);
  assert.throws(() => grpcAgentBootstrap({ ...options, refreshIntervalSeconds: 0 }), RangeError);
  assert.throws(() => grpcAgentBootstrap({ ...options, refreshIntervalSeconds: 1.5 }), RangeError);
});

test('the refresh interval is 5 s, or a quarter of a shorter certificate lifetime (at least 1 s)', () => {
  assert.is(certificateRefreshSeconds(undefined), 5);
  assert.is(certificateRefreshSeconds(86_400), 5);
  assert.is(certificateRefreshSeconds(12), 3);
  assert.is(certificateRefreshSeconds(6), 1);
  assert.is(certificateRefreshSeconds(2), 1);
});

test('the bootstrap file is owner-only, complete JSON, and replaced whole', async () => {
  const path = join(dir, 'grpc-bootstrap.json');
  await writeGrpcBootstrap(path, grpcAgentBootstrap(options));
  assert.is(statSync(path).mode & 0o777, 0o600);
  await writeGrpcBootstrap(path, grpcAgentBootstrap({ ...options, proxyId: 'other.foo' }));
  assert.is(JSON.parse(readFileSync(path, 'utf8')).node.id, 'other.foo');
  assert.is(statSync(path).mode & 0o777, 0o600);
  assert.equal(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

const keyMatches = (keyPem: string, certPem: string) =>
  createPublicKey(keyPem)
    .export({ format: 'der', type: 'spki' })
    .equals(new X509Certificate(certPem).publicKey.export({ format: 'der', type: 'spki' }));

test('the files follow the secrets: a new certificate and a new trust bundle are each written, key matching certificate, modes 0600', async () => {
  const workDir = join(dir, 'agent');
  const secrets = new MemorySecrets();
  const first = await heldFrom(ca, 'foo', 'greeter-client');
  secrets.set(first, ca.rootCertPem);
  const logger = recordingLogger();
  const mode = await startGrpcMode({
    proxyId: 'greeter-client.foo',
    cluster: 'greeter-client.foo',
    workDir,
    bootstrapPath: join(workDir, 'grpc-bootstrap.json'),
    serverUri: `unix://${join(workDir, 'xds.sock')}`,
    certTtlSeconds: 8,
    secrets,
    logger,
  });
  try {
    const certs = join(workDir, 'certs');
    const read = (f: string) => readFileSync(join(certs, f), 'utf8');
    assert.equal(readdirSync(certs).sort(), ['cert-chain.pem', 'key.pem', 'root-cert.pem']);
    for (const f of readdirSync(certs)) assert.is(statSync(join(certs, f)).mode & 0o777, 0o600, f);
    assert.is(statSync(certs).mode & 0o777, 0o700);
    assert.is(serialOf(read('cert-chain.pem')), first.serialNumber.toLowerCase());
    assert.ok(keyMatches(read('key.pem'), read('cert-chain.pem')));
    assert.ok(mode.check().ok, mode.check().detail);
    const boot = JSON.parse(readFileSync(join(workDir, 'grpc-bootstrap.json'), 'utf8')) as GrpcAgentBootstrap;
    assert.is(boot.certificate_providers.default!.config.private_key_file, join(certs, 'key.pem'));
    assert.is(boot.certificate_providers.default!.config.refresh_interval, '2s');

    const second = await heldFrom(ca, 'foo', 'greeter-client');
    secrets.set(second);
    await until('the new certificate is in the files', () => serialOf(read('cert-chain.pem')) === second.serialNumber.toLowerCase());
    assert.ok(keyMatches(read('key.pem'), read('cert-chain.pem')), 'the new key is beside the new certificate');
    assert.is(mode.status().writtenSerial, second.serialNumber);

    const otherRoot = (await CertificateAuthority.loadOrCreate({ stateDir: join(dir, 'other-ca'), trustDomain: 'cluster.local' }))
      .rootCertPem;
    secrets.set(second, `${ca.rootCertPem}${otherRoot}`);
    assert.not.ok(mode.check().ok, 'the files are behind the bundle until rewritten');
    await until('the bundle is in root-cert.pem', () => pemCertificates(read('root-cert.pem')).length === 2);
    assert.ok(mode.check().ok);
    assert.equal(readdirSync(certs).sort(), ['cert-chain.pem', 'key.pem', 'root-cert.pem'], 'no temp file left');
    assert.not.match(logger.text(), 'PRIVATE KEY');
  } finally {
    await mode.stop();
  }
});

test.run();
