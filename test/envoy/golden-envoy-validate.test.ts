// Real Envoy judges every golden: its listeners and clusters go into a static
// bootstrap (SDS, RDS and EDS still point at ADS) and `envoy --mode validate`
// must accept it. This catches what the proto schema alone cannot, such as
// overlapping filter chain matches or invalid TLS context combinations.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { envoyOrThrow } from '../support/envoy-binary.js';
import { envoyGoldenFiles } from '../support/golden-cases.js';
import { REPO_ROOT } from '../support/paths.js';

const run = promisify(execFile);
type Obj = Record<string, unknown>;

function bootstrapFromDump(dump: { configs: Obj[] }, nodeId: string): Obj {
  const section = (suffix: string) => dump.configs.find((c) => String(c['@type']).endsWith(suffix)) ?? {};
  const strip = (any: Obj) => Object.fromEntries(Object.entries(any).filter(([k]) => k !== '@type'));
  // Clusters of proxyless gRPC clients with mTLS name the gRPC bootstrap's certificate provider, which Envoy
  // has not; grpc-js-xds's validators check those (test/proxyless).
  const clusters = ((section('ClustersConfigDump').dynamic_active_clusters ?? []) as Obj[])
    .map((c) => strip(c.cluster as Obj))
    .filter((c) => !JSON.stringify(c.transport_socket ?? {}).includes('tls_certificate_provider_instance'));
  // API listeners and `grpc/server?...` listeners are for proxyless gRPC apps, not Envoy; grpc-js-xds's own validators check them (test/proxyless).
  const listeners = ((section('ListenersConfigDump').dynamic_listeners ?? []) as Obj[])
    .map((l) => strip((l.active_state as Obj).listener as Obj))
    .filter((l) => l.api_listener === undefined && !String(l.name).startsWith('grpc/server?'));
  clusters.push({
    name: 'xds-grpc',
    type: 'STATIC',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: {
      cluster_name: 'xds-grpc',
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 15010 } } } }] }],
    },
  });
  return {
    node: { id: nodeId, cluster: 'meshlite-validate' },
    static_resources: { listeners, clusters },
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
    },
  };
}

async function validate(envoy: string, file: string, dir: string): Promise<string | undefined> {
  const name = relative(join(REPO_ROOT, 'golden'), file).replace(/[/.]/g, '_');
  const bootstrapPath = join(dir, `${name}.json`);
  writeFileSync(bootstrapPath, JSON.stringify(bootstrapFromDump(JSON.parse(readFileSync(file, 'utf8')), name)));
  try {
    await run(envoy, ['--mode', 'validate', '-c', bootstrapPath, '--log-level', 'error', '--disable-hot-restart'], { timeout: 60_000 });
    return undefined;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return `${relative(REPO_ROOT, file)}: ${(e.stderr || e.stdout || e.message).trim().split('\n').slice(-5).join('\n')}`;
  }
}

test('real Envoy accepts the listeners and clusters of every golden', async () => {
  const envoy = envoyOrThrow();
  const files = envoyGoldenFiles();
  assert.ok(files.length > 0, 'no goldens to validate');
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-validate-'));
  try {
    const failures: string[] = [];
    const queue = [...files];
    const worker = async () => {
      for (let file = queue.shift(); file; file = queue.shift()) {
        const failure = await validate(envoy, file, dir);
        if (failure) failures.push(failure);
      }
    };
    await Promise.all([worker(), worker()]);
    assert.equal(failures, [], failures.join('\n\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the validation is real: Envoy rejects a bootstrap with a broken listener', async () => {
  const envoy = envoyOrThrow();
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-validate-'));
  try {
    const file = envoyGoldenFiles().find((f) => f.includes('s2-mesh-strict') && f.endsWith('httpbin.bar.json'))!;
    const dump = JSON.parse(readFileSync(file, 'utf8'));
    // Duplicate the inbound filter chain: two chains with the same match is an error Envoy reports.
    const listeners = dump.configs[2].dynamic_listeners as Obj[];
    const inbound = listeners.map((l) => (l.active_state as Obj).listener as Obj).find((l) => String(l.name).endsWith('_80'))!;
    const chains = inbound.filter_chains as Obj[];
    chains.push({ ...chains[0]!, name: 'duplicate' });
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, JSON.stringify(dump));
    const failure = await validate(envoy, broken, dir);
    assert.ok(failure, 'Envoy accepted overlapping filter chains');
    assert.match(failure!, /has the same matching rules/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
