// S6 and S7 end to end with real processes: an ingress gateway Envoy
// (a WorkloadEntry a Gateway selects, bootstrapped like any proxy) serving
// mutual TLS for several hosts by SNI with credentials from `--secrets-dir`,
// routing to sidecar'd apps; and a PASSTHROUGH gateway that hands TLS to a
// backend untouched. CAs and certificates are made per run (test-pki); the
// secrets directory uses Kubernetes' `..data` layout so every change is atomic.
//
// Live changes never restart the gateway Envoy (same pid, hot-restart epoch
// 0, uptime growing): a third host (server + VirtualService + credential),
// rotating a credential (the client sees the new serial), and a server whose
// credential is missing (only that SNI fails; meshlite reports it) until the
// credential shows up.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exampleFile, mapAddresses, prepareConfigDir } from '../support/e2e/config-dir.js';
import { activeSecret, dataSourceText, statValue, waitForEnvoyConfig } from '../support/e2e/envoy-state.js';
import { chainNames, dynamicListener, waitForCredentialz, waitForGateway } from '../support/e2e/gateway.js';
import { DIFF_MATCH, envoyIdentity, type EnvoyIdentity, type MeshProxies, startMeshProxies } from '../support/e2e/mesh-proxies.js';
import { metricValue } from '../support/e2e/meshlite.js';
import { withProcesses, type ProcessManager } from '../support/e2e/process-manager.js';
import { SecretsDir } from '../support/e2e/secrets-dir.js';
import { type PemFiles, TestCa } from '../support/e2e/test-pki.js';
import { certificateId, describeHttps, type HttpsCall, httpsGet, type HttpsResult, normalizeSerial } from '../support/e2e/tls-clients.js';
import { REPO_ROOT } from '../support/paths.js';

const APPS = join(REPO_ROOT, 'dist/test/support/apps');
const GATEWAY = 'ingressgateway.istio-system';
const CHAIN = (port: string) => `default/httpsgw|${port}`;
const MESH_SECRETS = ['default', 'ROOTCA'];
const credentialSecrets = (name: string) => [`kubernetes://${name}`, `kubernetes://${name}-cacert`];

function startApp(pm: ProcessManager, name: string, script: string, args: string[]) {
  return pm.start(name, process.execPath, [join(APPS, script), ...args]);
}

interface ExtraHost {
  portName: string;
  host: string;
  credential: string;
}

/** The example's gateway.yaml plus, per extra host, a MUTUAL server on 443 and a VirtualService sending everything to httpbin. */
function gatewayYaml(block: number, extra: readonly ExtraHost[]): string {
  const base = exampleFile('s6-ingress-mutual-tls/gateway.yaml', block);
  const anchor = '\n    hosts: [go.example.com]\n';
  assert.ok(base.includes(anchor), 'the example has the go.example.com server this test extends');
  const servers = extra
    .map(
      (e) =>
        `  - port: {number: 443, name: ${e.portName}, protocol: HTTPS}\n    tls: {mode: MUTUAL, credentialName: ${e.credential}}\n    hosts: [${e.host}]\n`,
    )
    .join('');
  const services = extra.map(
    (e) =>
      `---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: ${e.portName}, namespace: default}\nspec:\n  hosts: [${e.host}]\n  gateways: [httpsgw]\n  http:\n  - route:\n    - destination: {host: httpbin, port: {number: 8000}}\n`,
  );
  return [base.replace(anchor, `${anchor}${servers}`), ...services].join('');
}

const serverCert = (ca: TestCa, file: string, host: string) => ca.issue(file, { commonName: host, dnsNames: [host], usage: 'server' });
const secretOf = (cert: PemFiles, ca: TestCa) => ({ cert: cert.certPem, key: cert.keyPem, ca: ca.certPem });
const headersOf = (r: HttpsResult) => (JSON.parse(r.body) as { headers: Record<string, string> }).headers;

async function assertSameEnvoy(mesh: MeshProxies, first: EnvoyIdentity, step: string): Promise<EnvoyIdentity> {
  const now = await envoyIdentity(mesh.envoy(GATEWAY));
  assert.is(now.pid, first.pid, `${step}: the gateway Envoy is the same process`);
  assert.is(now.restartEpoch, 0, `${step}: no hot restart`);
  assert.ok(now.uptimeSeconds >= first.uptimeSeconds, `${step}: uptime ${now.uptimeSeconds}s continues from ${first.uptimeSeconds}s`);
  return now;
}

function assertDiffs(mesh: MeshProxies, step: string): void {
  for (const proxy of mesh.proxies) {
    const r = mesh.diff(proxy);
    assert.is(r.stdout, DIFF_MATCH, `${step}: meshlite diff for ${proxy} (exit ${r.status}):\n${r.stdout}`);
    assert.is(r.status, 0);
  }
}

/**
 * The TLS side failed and there was no HTTP answer: `error` names how (an
 * alert from the server after the client's half of a TLS 1.3 handshake, or
 * the connection closed before any TLS). Never a refused or timed-out TCP connection.
 */
function assertRefused(r: HttpsResult, step: string, error: RegExp, handshakeStarted: boolean): void {
  assert.is(r.code, '000', `${step}: expected no HTTP answer, got ${describeHttps(r)}`);
  assert.match(r.error ?? '', error, `${step}: ${describeHttps(r)}`);
  assert.is(
    r.secureConnect,
    handshakeStarted,
    `${step}: client side of the handshake ${handshakeStarted ? 'done' : 'never done'}: ${describeHttps(r)}`,
  );
}
const CERT_REQUIRED = /^ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED$/;
const UNKNOWN_CA = /^ERR_SSL_TLSV1_ALERT_UNKNOWN_CA$/;
/** No filter chain for the SNI (or, once Envoy stops waiting for the secret, a chain without a certificate). */
const NO_SERVER = /^(ECONNRESET|ERR_SSL_\w+)$/;

test('S6: ingress gateway, MUTUAL TLS for two hosts by SNI; live third host, credential rotation and a missing credential, no Envoy restart', async () => {
  await withProcesses('s6-gateway', async (pm) => {
    const cfg = await prepareConfigDir(pm.dir, 's6-ingress-mutual-tls');
    const map = (a: string) => mapAddresses(a, cfg.block);
    const gatewayAddress = map('127.0.9.1');
    const listener = `${gatewayAddress}_443`;

    // PKI: one CA for the example.com servers and the client; a partner CA for the third host.
    const pki = join(pm.dir, 'pki');
    const ca = await TestCa.create(join(pki, 'example'), 'example.com CA', 'ca.crt');
    const httpbinCert = await serverCert(ca, 'httpbin', 'httpbin.example.com');
    const goCert = await serverCert(ca, 'go', 'go.example.com');
    const client = await ca.issue('client', { commonName: 'client.example.com', usage: 'client' });
    const secrets = new SecretsDir(join(pm.dir, 'secrets'), join(pm.dir, 'secrets-staging'));
    secrets.write('httpbin-credential', secretOf(httpbinCert, ca));
    secrets.write('go-credential', secretOf(goCert, ca));

    // Apps behind their sidecars, on the application addresses of the example.
    const httpbin = startApp(pm, 'app-httpbin', 'httpbin.js', [map('127.0.19.2'), '80']);
    const goserver = startApp(pm, 'app-goserver', 'goserver.js', [map('127.0.19.3'), '8081']);
    await Promise.all([httpbin.waitForLog(/httpbin listening/), goserver.waitForLog(/goserver listening/)]);

    const mesh = await startMeshProxies(pm, cfg, { proxies: [GATEWAY, 'goserver.default', 'httpbin.default'], secretsDir: secrets.dir });
    const gw = mesh.envoy(GATEWAY);
    const baseSecrets = [...MESH_SECRETS, ...credentialSecrets('httpbin-credential'), ...credentialSecrets('go-credential')];
    await waitForGateway(gw, { listener, chains: [CHAIN('https'), CHAIN('https-go')], secrets: baseSecrets });
    const first = await envoyIdentity(gw);
    assert.ok(first.pid, 'the gateway Envoy runs');

    const call = (servername: string, path: string, overrides: Partial<HttpsCall> = {}) =>
      httpsGet({
        address: gatewayAddress,
        port: 443,
        servername,
        path,
        ca: ca.certPem,
        cert: client.certPem,
        key: client.keyPem,
        ...overrides,
      });

    // curl --cacert ca.crt --cert client.crt --key client.key https://httpbin.example.com/status/418
    const teapot = await call('httpbin.example.com', '/status/418');
    assert.is(teapot.code, '418', `httpbin /status/418: ${describeHttps(teapot)}`);
    assert.is(
      teapot.peer?.serial,
      certificateId(httpbinCert.certPem).serial,
      'SNI httpbin.example.com: the httpbin-credential certificate',
    );
    const go = await call('go.example.com', '/healthz');
    assert.is(go.code, '200', `go /healthz: ${describeHttps(go)}`);
    assert.match(String(go.headers['content-type']), /application\/json/);
    assert.equal(JSON.parse(go.body), { status: 'healthy', hostName: `goserver@${map('127.0.19.3')}`, host: 'go.example.com' });
    assert.is(go.peer?.serial, certificateId(goCert.certPem).serial, 'SNI go.example.com: the go-credential certificate');
    // Routes are per host: no VirtualService route matches these.
    const ip = await call('httpbin.example.com', '/ip');
    assert.is(ip.code, '404', `httpbin /ip: ${describeHttps(ip)}`);
    assert.is(ip.headers.server, 'envoy', 'the 404 is the gateway');
    const goStatus = await call('go.example.com', '/status/418');
    assert.is(goStatus.code, '404', `go /status/418: ${describeHttps(goStatus)}`);
    // No client certificate: the gateway refuses the handshake.
    const noCertBefore = await statValue(gw, `listener.${listener}.ssl.fail_verify_no_cert`);
    const noCert = await call('httpbin.example.com', '/status/418', { cert: undefined, key: undefined });
    assertRefused(noCert, 'httpbin without a client certificate', CERT_REQUIRED, true);
    assert.is(
      await statValue(gw, `listener.${listener}.ssl.fail_verify_no_cert`),
      noCertBefore + 1,
      'the gateway counted a missing client certificate',
    );
    // A client certificate from another CA is refused too.
    const stranger = await (await TestCa.create(join(pki, 'stranger'), 'stranger CA', 'ca.crt')).issue('client', {
      commonName: 'stranger',
      usage: 'client',
    });
    assertRefused(
      await call('go.example.com', '/healthz', { cert: stranger.certPem, key: stranger.keyPem }),
      'go with a client certificate of an unknown CA',
      UNKNOWN_CA,
      true,
    );
    assertDiffs(mesh, 'startup');

    // Live: a third host with its own credential (a partner CA for server and client certificates).
    const partnerCa = await TestCa.create(join(pki, 'partner'), 'partner CA', 'ca.crt');
    const bookinfoCert = await serverCert(partnerCa, 'bookinfo', 'bookinfo.example.com');
    const partnerClient = await partnerCa.issue('partner-client', { commonName: 'partner client', usage: 'client' });
    secrets.write('bookinfo-credential', secretOf(bookinfoCert, partnerCa));
    await waitForCredentialz(mesh.meshlite, 'bookinfo-credential read', (r) =>
      r.credentials.some((c) => c.name === 'bookinfo-credential' && c.errors.length === 0)
        ? undefined
        : JSON.stringify(r.credentials.map((c) => c.name)),
    );
    const bookinfo: ExtraHost = { portName: 'https-bookinfo', host: 'bookinfo.example.com', credential: 'bookinfo-credential' };
    await mesh.edit('gateway.yaml', gatewayYaml(cfg.block, [bookinfo]));
    await waitForGateway(gw, {
      listener,
      chains: [CHAIN('https'), CHAIN('https-go'), CHAIN('https-bookinfo')],
      secrets: [...baseSecrets, ...credentialSecrets('bookinfo-credential')],
    });
    const partner = { ca: partnerCa.certPem, cert: partnerClient.certPem, key: partnerClient.keyPem };
    const third = await call('bookinfo.example.com', '/headers', partner);
    assert.is(third.code, '200', `bookinfo /headers: ${describeHttps(third)}`);
    assert.is(
      third.peer?.serial,
      certificateId(bookinfoCert.certPem).serial,
      'SNI bookinfo.example.com: the bookinfo-credential certificate',
    );
    assert.is(headersOf(third).Host ?? headersOf(third).host, 'bookinfo.example.com', 'httpbin saw the third host');
    assertRefused(
      await call('bookinfo.example.com', '/headers', { ca: partnerCa.certPem }),
      'bookinfo with the example.com client certificate (not the partner CA)',
      UNKNOWN_CA,
      true,
    );
    assert.is((await call('httpbin.example.com', '/status/418')).code, '418', 'httpbin still works');
    await assertSameEnvoy(mesh, first, 'third host');
    assertDiffs(mesh, 'third host');

    // Rotation: a new httpbin certificate (new key, new serial) swapped in atomically.
    const rotated = await serverCert(ca, 'httpbin-rotated', 'httpbin.example.com');
    const oldSerial = certificateId(httpbinCert.certPem).serial;
    const newSerial = certificateId(rotated.certPem).serial;
    assert.is.not(newSerial, oldSerial);
    secrets.write('httpbin-credential', secretOf(rotated, ca));
    await waitForEnvoyConfig(gw, 'the rotated httpbin certificate', (s) => {
      const chain = dataSourceText(activeSecret(s, 'kubernetes://httpbin-credential')?.tls_certificate?.certificate_chain);
      return chain === rotated.certPem ? undefined : 'old certificate still served';
    });
    const afterRotation = await call('httpbin.example.com', '/status/418');
    assert.is(afterRotation.code, '418', `after rotation: ${describeHttps(afterRotation)}`);
    assert.is(afterRotation.peer?.serial, newSerial, 'the client sees the new certificate');
    assert.is((await call('go.example.com', '/healthz')).peer?.serial, certificateId(goCert.certPem).serial, 'go-credential unchanged');
    const report = await waitForCredentialz(mesh.meshlite, 'rotated serial', (r) => {
      const serial = r.credentials.find((c) => c.name === 'httpbin-credential')?.certificate?.serialNumber;
      return serial && normalizeSerial(serial) === newSerial ? undefined : `serial ${serial}`;
    });
    assert.equal(report.credentials.find((c) => c.name === 'httpbin-credential')?.referencedBy['kubernetes://httpbin-credential'], [
      GATEWAY,
    ]);
    await assertSameEnvoy(mesh, first, 'rotation');

    // A server whose credential is missing: only its SNI fails; meshlite says so.
    const missing: ExtraHost = { portName: 'https-missing', host: 'missing.example.com', credential: 'missing-credential' };
    await mesh.edit('gateway.yaml', gatewayYaml(cfg.block, [bookinfo, missing]));
    const missingReport = await waitForCredentialz(mesh.meshlite, 'missing-credential reported', (r) => {
      const names = r.missing.map((m) => m.secretName);
      return names.includes('kubernetes://missing-credential') && names.includes('kubernetes://missing-credential-cacert')
        ? undefined
        : `missing: ${names.join(', ')}`;
    });
    for (const m of missingReport.missing) {
      assert.equal(m.proxies, [GATEWAY], `${m.secretName} is referenced by the gateway`);
      assert.match(m.reason, /no secret "missing-credential"/);
    }
    assert.equal(
      missingReport.missing.map((m) => m.secretName).sort(),
      credentialSecrets('missing-credential'),
      'only the missing credential is reported',
    );
    assert.is(
      await metricValue(mesh.meshlite.adminUrl, 'meshlite_credentials_missing'),
      2,
      'meshlite_credentials_missing counts its two SDS names',
    );
    await mesh.meshlite.process.waitForLog(/"credential":"kubernetes:\/\/missing-credential".*credential not available/);
    // Envoy got the new listener; it warms waiting for the secret (or, after SDS's initial fetch timeout, is active without it).
    await waitForEnvoyConfig(gw, 'the listener update with the missing server', (s) => {
      const l = dynamicListener(s, listener);
      return [l?.warming, l?.active].some((x) => chainNames(x).includes(CHAIN('https-missing'))) ? undefined : 'no chain https-missing yet';
    });
    assertRefused(await call('missing.example.com', '/status/200'), 'missing.example.com (credential missing)', NO_SERVER, false);
    assert.is((await call('httpbin.example.com', '/status/418')).code, '418', 'httpbin unaffected');
    assert.is((await call('go.example.com', '/healthz')).code, '200', 'go unaffected');
    assert.is((await call('bookinfo.example.com', '/status/200', partner)).code, '200', 'bookinfo unaffected');

    // The credential appears: served, the listener finishes warming, the host works.
    const missingCert = await serverCert(ca, 'missing', 'missing.example.com');
    secrets.write('missing-credential', secretOf(missingCert, ca));
    await waitForGateway(gw, {
      listener,
      chains: [CHAIN('https'), CHAIN('https-go'), CHAIN('https-bookinfo'), CHAIN('https-missing')],
      secrets: [...baseSecrets, ...credentialSecrets('bookinfo-credential'), ...credentialSecrets('missing-credential')],
    });
    const found = await call('missing.example.com', '/status/200');
    assert.is(found.code, '200', `missing.example.com once its credential exists: ${describeHttps(found)}`);
    assert.is(found.peer?.serial, certificateId(missingCert.certPem).serial);
    await waitForCredentialz(mesh.meshlite, 'nothing missing', (r) => (r.missing.length === 0 ? undefined : JSON.stringify(r.missing)));
    assert.is(await metricValue(mesh.meshlite.adminUrl, 'meshlite_credentials_missing'), 0);
    await assertSameEnvoy(mesh, first, 'missing credential supplied');
    assertDiffs(mesh, 'after the live changes');
  });
});

test('S7: PASSTHROUGH gateway hands TLS to a backend that requires client certificates; the client sees the backend certificate', async () => {
  await withProcesses('s7-passthrough', async (pm) => {
    const cfg = await prepareConfigDir(pm.dir, 's7-gateway-passthrough');
    const gatewayAddress = mapAddresses('127.0.9.11', cfg.block);
    const backendAddress = mapAddresses('127.0.9.15', cfg.block);
    const listener = `${gatewayAddress}_443`;
    const nginxCa = await TestCa.create(join(pm.dir, 'pki', 'nginx'), 'nginx CA', 'ca.crt');
    const server = await serverCert(nginxCa, 'server', 'nginx.example.com');
    const client = await nginxCa.issue('client', { commonName: 'nginx client', usage: 'client' });
    const backend = startApp(pm, 'nginx-https', 'tls-backend.js', [backendAddress, '443', server.cert, server.key, nginxCa.caFile]);
    await backend.waitForLog(/tls-backend listening/);

    const mesh = await startMeshProxies(pm, cfg, { proxies: [GATEWAY] });
    const gw = mesh.envoy(GATEWAY);
    const held = await waitForGateway(gw, { listener, chains: ['default/gw-pt|default/nginx|tls-0'], secrets: MESH_SECRETS });
    const chains = dynamicListener(held, listener)?.active?.filter_chains ?? [];
    assert.equal(
      chains.map((c: { transport_socket?: unknown }) => c.transport_socket),
      [undefined],
      'the passthrough chain has no TLS context: the gateway holds no certificate for nginx',
    );
    assert.equal(chains[0].filter_chain_match, { server_names: ['nginx.example.com'] });
    assertDiffs(mesh, 'startup');

    const call = (overrides: Partial<HttpsCall> = {}) =>
      httpsGet({
        address: gatewayAddress,
        port: 443,
        servername: 'nginx.example.com',
        path: '/index.html',
        ca: nginxCa.certPem,
        cert: client.certPem,
        key: client.keyPem,
        ...overrides,
      });
    const ok = await call();
    assert.is(ok.code, '200', `through the gateway: ${describeHttps(ok)}`);
    assert.is(ok.headers.server, 'nginx-https', 'the backend answered (no Envoy in the HTTP path)');
    assert.equal(
      JSON.parse(ok.body),
      { server: 'nginx-https', sni: 'nginx.example.com', clientCN: 'nginx client', path: '/index.html' },
      'the backend saw the SNI and the client certificate',
    );
    assert.is(ok.peer?.fingerprint256, certificateId(server.certPem).fingerprint256, "the served certificate is the backend's own");
    assert.is(ok.peer?.issuerCN, 'nginx CA');
    // The gateway only proxied bytes (its chain has no TLS context, checked above): tcp_proxy carried the connection.
    assert.ok((await statValue(gw, 'tcp.gateway_443_passthrough.downstream_cx_total')) >= 1, 'tcp_proxy carried the connection');

    // The backend, not the gateway, insists on the client certificate.
    const refusals = () => backend.log().match(/^tls handshake failed/gm)?.length ?? 0;
    const refusalsBefore = refusals();
    assertRefused(await call({ cert: undefined, key: undefined }), 'no client certificate (refused by the backend)', CERT_REQUIRED, true);
    for (const deadline = Date.now() + 5000; refusals() === refusalsBefore; await sleep(50)) {
      if (Date.now() > deadline) throw new Error(`the backend logged no refused handshake:\n${backend.tail()}`);
    }
    assert.match(backend.tail(1), /certificate/i, 'the backend refused for the missing certificate');
    // An SNI no route admits has no filter chain: the gateway closes the connection.
    assertRefused(await call({ servername: 'other.example.com' }), 'unknown SNI', /^ECONNRESET$/, false);
    assert.ok((await statValue(gw, `listener.${listener}.no_filter_chain_match`)) >= 1, 'counted as no filter chain match');
    assertDiffs(mesh, 'after the calls');
  });
});

test.run();
