// `meshlite bootstrap` as a user runs it: real Envoy accepts the file, and the
// token and CA root inside it are the ones of that state directory, so the
// same file's credentials open an ADS stream to `meshlite serve` over TLS.
// Bootstrap never creates a state directory: the tests make one as serve would.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startMeshlite, type RunningMeshlite } from '../../src/control-plane/start-meshlite.js';
import { TokenAuthority } from '../../src/identity/proxy-token.js';
import { envoyOrThrow } from '../support/envoy-binary.js';
import { createMeshliteState } from '../support/meshlite-state.js';
import { EXAMPLES_DIR, REPO_ROOT } from '../support/paths.js';
import { SotwClient } from './xds-client.js';

const run = promisify(execFile);
const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
type Obj = Record<string, any>;

function bootstrap(stateDir: string, out: string, ...extra: string[]) {
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      'bootstrap',
      '-c',
      'examples/s1-auto-mtls',
      '--proxy',
      'sleep.foo',
      '--state-dir',
      stateDir,
      '--ads-address',
      '127.0.0.1:15010',
      '-o',
      out,
      ...extra,
    ],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(readFileSync(out, 'utf8')) as Obj;
}

function xdsCluster(b: Obj): Obj {
  const c = (b.static_resources.clusters as Obj[]).find(
    (x) => x.name === b.dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name,
  );
  assert.ok(c, 'the ADS cluster is a static cluster');
  return c!;
}

function tokenIn(b: Obj): string {
  const md = b.dynamic_resources.ads_config.grpc_services[0].initial_metadata as { key: string; value: string }[];
  const auth = md.find((m) => m.key === 'authorization');
  assert.ok(auth?.value.startsWith('Bearer '), 'authorization: Bearer <token>');
  return auth!.value.slice('Bearer '.length);
}

function rootIn(b: Obj): string {
  return xdsCluster(b).transport_socket.typed_config.common_tls_context.validation_context.trusted_ca.inline_string;
}

test('meshlite bootstrap: real Envoy validates it; it holds a token for sleep.foo and the CA root of its state dir', async () => {
  const envoy = envoyOrThrow();
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-bootstrap-'));
  const otherDir = mkdtempSync(join(tmpdir(), 'meshlite-bootstrap-other-'));
  try {
    const stateDir = join(dir, 'state');
    await createMeshliteState(stateDir);
    await createMeshliteState(otherDir);
    const file = join(dir, 'sleep.foo.json');
    const b = bootstrap(stateDir, file);
    const validated = await run(envoy, ['--mode', 'validate', '-c', file, '--log-level', 'error', '--disable-hot-restart'], {
      timeout: 60_000,
    }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`envoy --mode validate rejected the bootstrap:\n${e.stderr ?? ''}${e.stdout ?? ''}${e.message}`);
    });
    assert.match(validated.stdout + validated.stderr, /OK/);

    assert.is(b.node.id, 'sleep.foo');
    assert.equal(xdsCluster(b).load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, {
      address: '127.0.0.1',
      port_value: 15010,
    });
    assert.is(rootIn(b), readFileSync(join(stateDir, 'ca', 'root-cert.pem'), 'utf8'), 'the CA root of this state dir');
    const token = tokenIn(b);
    const check = await (await TokenAuthority.load(stateDir)).verify(token);
    assert.equal(check.ok && check.workloadId, 'sleep.foo', 'signed by this state dir, for sleep.foo');
    const foreign = await (await TokenAuthority.load(otherDir)).verify(token);
    assert.not.ok(foreign.ok, 'another state dir does not accept it');

    // A second bootstrap from the same state dir reuses the same root and key.
    const again = bootstrap(stateDir, join(dir, 'again.json'));
    assert.is(rootIn(again), rootIn(b));
    assert.ok((await (await TokenAuthority.load(stateDir)).verify(tokenIn(again))).ok);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(otherDir, { recursive: true, force: true });
  }
});

test("the bootstrap's token and CA root open a TLS ADS stream to meshlite serving the same state dir", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-bootstrap-serve-'));
  let running: RunningMeshlite | undefined;
  let client: grpc.Client | undefined;
  let stream: SotwClient | undefined;
  try {
    const stateDir = join(dir, 'state');
    await createMeshliteState(stateDir);
    const b = bootstrap(stateDir, join(dir, 'sleep.foo.json'));
    running = await startMeshlite({
      configPaths: [join(EXAMPLES_DIR, 's1-auto-mtls')],
      stateDir,
      adsAddress: '127.0.0.1:0',
      adminAddress: '127.0.0.1:0',
      insecure: false,
      logger: pino({ level: 'silent' }),
    });
    const tls = xdsCluster(b).transport_socket.typed_config;
    client = new grpc.Client(`127.0.0.1:${running.adsPort}`, grpc.credentials.createSsl(Buffer.from(rootIn(b))), {
      'grpc.ssl_target_name_override': tls.sni,
    });
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${tokenIn(b)}`);
    stream = new SotwClient(client, md);
    stream.request('clusters', { node: { id: b.node.id, cluster: b.node.cluster } });
    const cds = await stream.next();
    assert.ok(cds.names.includes('outbound|8000||httpbin.bar.svc.cluster.local'), cds.names.join(', '));
  } finally {
    stream?.close();
    client?.close();
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
