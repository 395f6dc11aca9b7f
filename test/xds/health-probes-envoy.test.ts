// Plaintext health probes against real Envoy: the listeners and clusters the
// translator gives a STRICT sidecar with declared probes (RDS and SDS swapped
// for the same routes and a freshly issued workload certificate inline), in
// front of an application on this file's loopback block. A checker without a
// certificate gets the app's own answer for the declared paths and nothing
// else; the service port still refuses it and still serves mesh mTLS.
import { createServer, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { formatIssue } from '../../src/config/diagnostics.js';
import { buildMeshModel } from '../../src/model/mesh-model.js';
import { translate } from '../../src/translate/translator.js';
import { identity, removeTempDirs, tempDir, TRUST_DOMAIN } from '../ca/ca-fixtures.js';
import { type Envoy, startEnvoyFromFile } from '../support/e2e/envoy.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { inboundStaticBootstrap } from '../support/inbound-static-bootstrap.js';
import { loadProbeMesh } from '../support/fixtures/health-probe-mesh.js';
import { until } from '../support/poll.js';

type Obj = Record<string, any>;
const WORKLOAD = loopbackAddress('xds/health-probes-envoy.test.ts', 1);
const APP = loopbackAddress('xds/health-probes-envoy.test.ts', 2);
const OUTBOUND = loopbackAddress('xds/health-probes-envoy.test.ts', 3);
const PROBE_PORT = 15021;
const PROBES = JSON.stringify({
  port: PROBE_PORT,
  paths: {
    '/app-health/web/readyz': { port: 8080, path: '/ready' },
    '/app-health/web/livez': { port: 9090, path: '/live' },
  },
});

/** The app: 200 with a marker naming the port and path for its health paths, 500 for anything else; every request recorded. */
function startApp(port: number, healthPath: string, seen: string[]): Promise<Server> {
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${port}${req.url}`);
    const ok = req.url?.split('?')[0] === healthPath;
    res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain' });
    res.end(ok ? `marker ${port}${healthPath}` : 'not a health path');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, APP, () => resolve(server));
  });
}

async function bootstrap(dir: string, serverCert: { certChainPem: string; privateKeyPem?: string }, rootPem: string): Promise<string> {
  const loaded = loadProbeMesh({ probes: PROBES, address: WORKLOAD, applicationAddress: APP, outboundAddress: OUTBOUND });
  if (!loaded.ok) throw new Error(loaded.issues.map(formatIssue).join('\n'));
  const result = translate(buildMeshModel(loaded.config), 'web.shop');
  if (!result.ok) throw new Error(result.error);
  const config = inboundStaticBootstrap({ resources: result.resources, adminAddress: WORKLOAD, certificate: serverCert, rootPem });
  const inbound = config.static_resources.listeners as Obj[];
  assert.equal(inbound.map((l) => l.name).sort(), [`${WORKLOAD}_8080`, `health-probes_${WORKLOAD}_${PROBE_PORT}`]);
  const file = join(dir, 'health-probes.bootstrap.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

interface Answer {
  status: number | 'reset';
  body: string;
}

function plainRequest(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: WORKLOAD, port, path, method, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 'reset', body: String(err) }));
    req.end();
  });
}

function mtlsRequest(port: number, path: string, client: { certChainPem: string; privateKeyPem?: string }, ca: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      {
        host: WORKLOAD,
        port,
        path,
        agent: false,
        timeout: 10_000,
        cert: client.certChainPem,
        key: client.privateKeyPem,
        ca,
        // Mesh certificates name a SPIFFE identity, not a host: checked below by the server's side.
        checkServerIdentity: () => undefined,
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 'reset', body: String(err) }));
    req.end();
  });
}

async function waitListening(envoy: Envoy): Promise<void> {
  await until(`Envoy ${envoy.name} ready`, async () => {
    try {
      return (await fetch(`${envoy.adminUrl}/ready`)).ok || undefined;
    } catch {
      return undefined;
    }
  });
}

test('real Envoy, STRICT workload: a plaintext GET of a declared probe path gets the app, nothing else does', async () => {
  const seen: string[] = [];
  const servers = [await startApp(8080, '/ready', seen), await startApp(9090, '/live', seen)];
  try {
    await withProcesses('health-probes', async (pm) => {
      const ca = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN });
      const issue = async (sa: string) => {
        const r = await ca.issueWorkloadCertificate(identity('shop', sa));
        if (!r.ok) throw new Error(r.error);
        return r.certificate;
      };
      const file = await bootstrap(pm.dir, await issue('web'), ca.rootCertPem);
      const envoy = await startEnvoyFromFile(pm, 'health-probes', file);
      await waitListening(envoy);

      const ready = await plainRequest(PROBE_PORT, '/app-health/web/readyz');
      assert.equal(ready, { status: 200, body: 'marker 8080/ready' });
      const live = await plainRequest(PROBE_PORT, '/app-health/web/livez');
      assert.equal(live, { status: 200, body: 'marker 9090/live' });
      // A checker's query string is passed on with the rewritten path.
      assert.equal(await plainRequest(PROBE_PORT, '/app-health/web/readyz?verbose=1'), { status: 200, body: 'marker 8080/ready' });
      assert.equal(seen, ['GET 8080/ready', 'GET 9090/live', 'GET 8080/ready?verbose=1']);

      // Nothing else gets through the probe port, and the app never sees it.
      assert.is((await plainRequest(PROBE_PORT, '/ready')).status, 404, 'the app path itself is not exposed');
      assert.is((await plainRequest(PROBE_PORT, '/app-health/web/readyz/more')).status, 404);
      assert.is((await plainRequest(PROBE_PORT, '/')).status, 404);
      assert.is((await plainRequest(PROBE_PORT, '/app-health/web/readyz', 'POST')).status, 405);
      assert.is((await plainRequest(PROBE_PORT, '/app-health/web/readyz', 'DELETE')).status, 405);
      assert.equal(seen.length, 3, seen.join(', '));

      // The service port is still STRICT: plaintext gets no HTTP answer at all.
      const plainToService = await plainRequest(8080, '/ready');
      assert.is(plainToService.status, 'reset', JSON.stringify(plainToService));
      assert.equal(seen.length, 3);

      // ...and mesh mTLS through it is unchanged.
      const viaMesh = await mtlsRequest(8080, '/ready', await issue('caller'), ca.rootCertPem);
      assert.equal(viaMesh, { status: 200, body: 'marker 8080/ready' });
      assert.equal(seen.at(-1), 'GET 8080/ready');
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    removeTempDirs();
  }
});

test.run();
