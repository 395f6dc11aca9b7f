// Access logs against real Envoy: examples/access-logs translated (moved onto
// this file's loopback block, the log file in the test's temp dir), the
// inbound side of orders (HTTP) and ledger (TCP) run from static bootstraps
// with freshly issued workload certificates. Callers present mesh
// certificates, so the logs name who called, and the policies of the example
// decide: what Envoy writes for an allowed and a refused request or
// connection is read back from the file.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { type PeerCertificate, connect as tlsConnect } from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { formatIssue } from '../../src/config/diagnostics.js';
import { loadMeshTexts } from '../../src/control-plane/load-mesh.js';
import { buildMeshModel, type MeshModel } from '../../src/model/mesh-model.js';
import { translate } from '../../src/translate/translator.js';
import { pickBaseId } from '../../src/agent/envoy-supervisor.js';
import { identity, removeTempDirs, tempDir, TRUST_DOMAIN } from '../ca/ca-fixtures.js';
import { Supervisors } from '../agent/envoy-test-support.js';
import { startEnvoyFromFile, waitEnvoyReady } from '../support/e2e/envoy.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { type ProcessManager, withProcesses } from '../support/e2e/process-manager.js';
import { inboundStaticBootstrap } from '../support/inbound-static-bootstrap.js';
import { EXAMPLES_DIR } from '../support/paths.js';
import { until } from '../support/poll.js';

type Obj = Record<string, any>;
type Certificate = { certChainPem: string; privateKeyPem?: string };
const EXAMPLE = join(EXAMPLES_DIR, 'access-logs');
const at = (host: number) => loopbackAddress('xds/access-log-envoy.test.ts', host);
const ORDERS = at(1);
const LEDGER = at(2);
const SPIFFE = (sa: string) => `spiffe://${TRUST_DOMAIN}/ns/shop/sa/${sa}`;

/** The example's texts on this file's addresses (127.0.92.<n> there, at(n) here), with `meshYaml` as its MeshConfig. */
function exampleModel(meshYaml: string): MeshModel {
  const texts = readdirSync(EXAMPLE)
    .filter((f) => f.endsWith('.yaml') && f !== 'mesh.yaml')
    .map((f) => ({ name: f, text: readFileSync(join(EXAMPLE, f), 'utf8').replace(/127\.0\.92\.(\d+)/g, (_, n) => at(Number(n))) }));
  const loaded = loadMeshTexts([...texts, { name: 'mesh.yaml', text: meshYaml }]);
  if (!loaded.ok) throw new Error(loaded.issues.map(formatIssue).join('\n'));
  return buildMeshModel(loaded.config);
}

function meshYaml(spec: Record<string, string>): string {
  const lines = Object.entries(spec).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  return ['apiVersion: meshlite.io/v1alpha1', 'kind: MeshConfig', 'metadata: {name: mesh}', 'spec:', ...lines].join('\n');
}

interface Pki {
  rootPem: string;
  issue(sa: string): Promise<Certificate>;
}

async function pki(): Promise<Pki> {
  const ca = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN });
  return {
    rootPem: ca.rootCertPem,
    issue: async (sa) => {
      const r = await ca.issueWorkloadCertificate(identity('shop', sa));
      if (!r.ok) throw new Error(r.error);
      return r.certificate;
    },
  };
}

/** A static bootstrap file in `dir` for the inbound side of `proxy` (sa = its name) from the translation of `model`. */
async function sidecarBootstrap(dir: string, model: MeshModel, proxy: string, ca: Pki, adminPort = 0): Promise<string> {
  const result = translate(model, `${proxy}.shop`);
  if (!result.ok) throw new Error(result.error);
  const bootstrap = inboundStaticBootstrap({
    resources: result.resources,
    adminAddress: at(1),
    certificate: await ca.issue(proxy),
    rootPem: ca.rootPem,
  });
  bootstrap.admin.address.socket_address.port_value = adminPort;
  const file = join(dir, `${proxy}.bootstrap.json`);
  writeFileSync(file, JSON.stringify(bootstrap, null, 2));
  return file;
}

async function runSidecar(pm: ProcessManager, model: MeshModel, proxy: string, ca: Pki): Promise<void> {
  await waitEnvoyReady(await startEnvoyFromFile(pm, proxy, await sidecarBootstrap(pm.dir, model, proxy, ca)));
}

/** The orders app (200 for anything) and the ledger app (echoes what it gets). */
async function startApps(): Promise<() => Promise<void>> {
  const http: Server = createHttpServer((_req, res) => res.end('orders'));
  const tcp = createTcpServer((socket) => socket.pipe(socket));
  await new Promise<void>((r) => http.listen(8080, at(11), r));
  await new Promise<void>((r) => tcp.listen(7000, at(12), r));
  return async () => {
    await new Promise((r) => http.close(r));
    await new Promise((r) => tcp.close(r));
  };
}

/** Mesh certificates name a SPIFFE identity, not a host. */
const serverIs = (sa: string) => (_host: string, cert: PeerCertificate) =>
  cert.subjectaltname === `URI:${SPIFFE(sa)}` ? undefined : new Error(`server is ${cert.subjectaltname}, not ${SPIFFE(sa)}`);

function get(path: string, client: Certificate, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: ORDERS,
        port: 8080,
        path,
        agent: false,
        timeout: 10_000,
        cert: client.certChainPem,
        key: client.privateKeyPem,
        ca,
        checkServerIdentity: serverIs('orders'),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** One mTLS connection to ledger: what came back before it closed ('' when Envoy closed it unanswered). */
function tcpExchange(client: Certificate, ca: string): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const socket = tlsConnect({
      host: LEDGER,
      port: 7000,
      cert: client.certChainPem,
      key: client.privateKeyPem,
      ca,
      checkServerIdentity: serverIs('ledger'),
    });
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('secureConnect', () => socket.write('ping\n'));
    socket.on('data', (d) => {
      data += d;
      if (data.includes('\n')) socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(data));
  });
}

/** The file's lines once `count` of them are there (Envoy flushes its buffer about once a second). */
function logLines(file: string, count: number): Promise<string[]> {
  return until(`${count} access log lines in ${file}`, () => {
    if (!existsSync(file)) return undefined;
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    return lines.length >= count ? lines : undefined;
  });
}

test('JSON, default fields: the allowed and the refused HTTP request and TCP connection, with the identities and the deciding policy', async () => {
  const stopApps = await startApps();
  try {
    await withProcesses('access-log-json', async (pm) => {
      const ca = await pki();
      const log = join(pm.dir, 'access.json.log');
      const model = exampleModel(meshYaml({ accessLogFile: log, accessLogEncoding: 'JSON' }));
      await runSidecar(pm, model, 'orders', ca);
      await runSidecar(pm, model, 'ledger', ca);
      const frontend = await ca.issue('frontend');

      assert.is(await get('/api/orders', frontend, ca.rootPem), 200);
      const first = JSON.parse((await logLines(log, 1))[0]!) as Obj;
      assert.is(await get('/admin/users', frontend, ca.rootPem), 403);
      assert.is(await get('/api/orders', await ca.issue('ledger'), ca.rootPem), 403, 'ledger is no caller the ALLOW policy names');
      assert.is(await tcpExchange(frontend, ca.rootPem), '', 'ledger refuses the frontend');
      assert.is(await tcpExchange(await ca.issue('orders'), ca.rootPem), 'ping\n', 'ledger serves orders');

      const entries = (await logLines(log, 5)).map((l) => JSON.parse(l) as Obj);
      assert.equal(entries[0], first, 'entries are appended in order');
      const [allowed, refused, unlisted] = entries.filter((e) => e.method === 'GET');
      const tcp = entries.filter((e) => e.method === null);
      assert.ok(allowed && refused && unlisted && tcp.length === 2, JSON.stringify(entries, null, 2));

      assert.is(allowed.response_code, 200);
      assert.is(allowed.path, '/api/orders');
      assert.is(allowed.response_code_details, 'via_upstream');
      assert.is(allowed.peer_identity, SPIFFE('frontend'));
      assert.is(allowed.local_identity, SPIFFE('orders'));
      assert.is(allowed.upstream_cluster, 'inbound|8080||');
      assert.is(allowed.upstream_host, `${at(11)}:8080`);
      assert.ok(typeof allowed.request_id === 'string' && allowed.request_id.length > 0);
      assert.is(allowed.authority, `${ORDERS}:8080`);

      assert.is(refused.response_code, 403);
      assert.is(refused.path, '/admin/users');
      assert.is(refused.response_code_details, 'rbac_access_denied_matched_policy[ns[shop]-policy[orders-no-admin]-rule[0]]');
      assert.is(refused.peer_identity, SPIFFE('frontend'));
      assert.is(refused.upstream_host, null, 'a refused request never reaches the app');
      assert.is(unlisted.response_code, 403);
      assert.is(unlisted.response_code_details, 'rbac_access_denied_matched_policy[none]');
      assert.is(unlisted.peer_identity, SPIFFE('ledger'));

      const [closed, served] = [
        tcp.find((e) => e.peer_identity === SPIFFE('frontend')),
        tcp.find((e) => e.peer_identity === SPIFFE('orders')),
      ];
      assert.ok(closed && served, JSON.stringify(tcp, null, 2));
      assert.is(closed.connection_termination_details, 'rbac_access_denied_matched_policy[ns[shop]-policy[ledger-not-frontend]-rule[0]]');
      assert.is(closed.local_identity, SPIFFE('ledger'));
      // tcp_proxy dials the app as the connection opens; the RBAC verdict comes with the first bytes, none of which are passed on.
      assert.is(closed.bytes_sent, 0, 'nothing came back to the refused caller');
      assert.is(served.connection_termination_details, null);
      assert.is(served.upstream_cluster, 'inbound|7000||');
      assert.is(served.upstream_host, `${at(12)}:7000`);
      assert.is(served.bytes_received, 5);
      assert.is(served.bytes_sent, 5);
    });
  } finally {
    await stopApps();
  }
});

test('TEXT: a custom format is written exactly; the default one carries the TCP refusal and the identities', async () => {
  const stopApps = await startApps();
  try {
    await withProcesses('access-log-text', async (pm) => {
      const ca = await pki();
      const custom = join(pm.dir, 'orders.log');
      const format = '%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %DOWNSTREAM_PEER_URI_SAN% %RESPONSE_CODE_DETAILS% 100%%';
      await runSidecar(pm, exampleModel(meshYaml({ accessLogFile: custom, accessLogFormat: format })), 'orders', ca);
      const byDefault = join(pm.dir, 'ledger.log');
      await runSidecar(pm, exampleModel(meshYaml({ accessLogFile: byDefault })), 'ledger', ca);
      const frontend = await ca.issue('frontend');

      assert.is(await get('/api/orders?x=1', frontend, ca.rootPem), 200);
      assert.is(await get('/admin/', frontend, ca.rootPem), 403);
      assert.equal(await logLines(custom, 2), [
        `GET /api/orders?x=1 200 ${SPIFFE('frontend')} via_upstream 100%`,
        `GET /admin/ 403 ${SPIFFE('frontend')} rbac_access_denied_matched_policy[ns[shop]-policy[orders-no-admin]-rule[0]] 100%`,
      ]);

      assert.is(await tcpExchange(frontend, ca.rootPem), '');
      const [line] = await logLines(byDefault, 1);
      assert.match(line!, / termination=rbac_access_denied_matched_policy\[ns\[shop\]-policy\[ledger-not-frontend\]-rule\[0\]\] /);
      assert.match(line!, ` peer=${SPIFFE('frontend')} local=${SPIFFE('ledger')} `);
      assert.match(line!, /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] "- - -" /, 'a TCP entry has no request line');
    });
  } finally {
    await stopApps();
  }
});

test("/dev/stdout when Envoy's output is a socket its parent reads (meshlite agent's supervisor): the entries come out with that output", async () => {
  const stopApps = await startApps();
  const supervisors = new Supervisors();
  try {
    const ca = await pki();
    const format = 'stdout-entry %REQ(:PATH)% %RESPONSE_CODE%';
    const model = exampleModel(meshYaml({ accessLogFile: '/dev/stdout', accessLogFormat: format }));
    const adminPort = 15000;
    const bootstrapPath = await sidecarBootstrap(tempDir(), model, 'orders', ca, adminPort);
    let output = '';
    const sink = new PassThrough();
    sink.on('data', (d) => (output += d));
    const envoy = supervisors.make({
      bootstrapPath,
      extraArgs: [],
      baseId: pickBaseId('access-log-envoy-stdout'),
      adminUrl: `http://${at(1)}:${adminPort}`,
      output: sink,
    });
    await envoy.start();
    await until('Envoy ready', async () => (await envoy.ready()).ready || undefined);
    assert.is(await get('/api/orders', await ca.issue('frontend'), ca.rootPem), 200);
    await until("the entry in Envoy's output", () => /^envoy\[\d+\]: stdout-entry \/api\/orders 200$/m.test(output) || undefined);
  } finally {
    await supervisors.stopAll();
    await stopApps();
  }
});

test.after(() => removeTempDirs());

test.run();
