// The dashboard's routes on an in-process admin server: what the page and its
// data show, that names from config files or proxies cannot inject markup,
// the admin token, the /debug index and ?pretty.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DashboardData } from '../../src/admin/dashboard/dashboard-data.js';
import type { PredictedMatrix } from '../../src/inspect/matrix-types.js';
import { CredentialStore } from '../../src/credentials/credential-store.js';
import { ADMIN_ENDPOINTS } from '../../src/admin/debug-index.js';
import { type AdminHarness, adminHarness, DASHBOARD_MESH } from '../support/admin-dashboard.js';
import { SecretsDir } from '../support/e2e/secrets-dir.js';
import { TestCa } from '../support/e2e/test-pki.js';
import { authorizationPolicy, loadManifests } from '../support/fixtures/index.js';

const EVIL = '<script>alert(1)</script>';
const get = async (app: AdminHarness['app'], url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers });

test('the page shows proxies with their per-type sync, certificates and policies with file:line', async () => {
  const t = await adminHarness();
  await t.connect('sleep.foo');
  const res = await get(t.app, '/');
  assert.is(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), 'text/html');
  assert.match(String(res.headers['content-security-policy']), "script-src 'sha256-");
  const html = res.body;
  const sleepRow = /<tr data-proxy="sleep\.foo">.*?<\/tr>/.exec(html)?.[0] ?? '';
  assert.match(sleepRow, 'connected');
  for (const label of ['CDS', 'EDS', 'LDS', 'RDS', 'SDS']) assert.match(sleepRow, `class="sync s-SYNCED" data-type="${label}"`);
  const httpbinRow = /<tr data-proxy="httpbin\.foo">.*?<\/tr>/.exec(html)?.[0] ?? '';
  assert.match(httpbinRow, 'not connected');
  // The workload certificate it is served: serial and expiry read from the PEM.
  assert.match(html, t.certificate.serialNumber.toLowerCase());
  assert.match(html, `data-expires="${new Date(t.certificate.validTo).toISOString()}"`);
  const policy = /<tr data-policy="AuthorizationPolicy\/foo\/only-sleep">.*?<\/tr>/.exec(html)?.[0] ?? '';
  assert.match(policy, /<code>test\.yaml:\d+<\/code>/);
  assert.match(policy, '<td>httpbin.foo</td>');
  const strict = /<tr data-policy="PeerAuthentication\/foo\/strict">.*?<\/tr>/.exec(html)?.[0] ?? '';
  assert.match(strict, '<td>httpbin.foo, sleep.foo</td>');
  assert.match(strict, 'STRICT');
  assert.match(html, 'no prediction available');
  assert.match(html, /id="config-generation">1</);
});

test('certificates: the client certificate of an agent stream, and each --secrets-dir credential with its expiry and users', async () => {
  const root = mkdtempSync(join(tmpdir(), 'dashboard-secrets-'));
  try {
    const ca = await TestCa.create(join(root, 'ca'), 'gateway ca');
    const leaf = await ca.issue('gw', { commonName: 'gw.example.com', dnsNames: ['gw.example.com'], usage: 'server' });
    new SecretsDir(join(root, 'secrets'), join(root, 'staging')).write('gw-cred', { cert: leaf.certPem, key: leaf.keyPem });
    const store = new CredentialStore(join(root, 'secrets'));
    store.reload();
    const t = await adminHarness({ credentials: store });
    const expiresAt = Date.parse('2030-01-02T03:04:05.000Z');
    await t.connect('sleep.foo', undefined, { kind: 'certificate', id: 'abc123', expiresAt });
    const data = (await get(t.app, '/debug/dashboardz')).json() as DashboardData;
    assert.equal(
      data.certificates.find((c) => c.use === 'ads client'),
      { proxy: 'sleep.foo', use: 'ads client', serial: 'abc123', notAfter: '2030-01-02T03:04:05.000Z' },
    );
    const notAfter = new Date(new X509Certificate(leaf.certPem).validTo).toISOString();
    const [cred] = data.credentials;
    assert.equal([data.credentials.length, cred?.name, cred?.notAfter, cred?.referencedBy], [1, 'gw-cred', notAfter, []]);
    // The test CA's certificates live a day: the directory's own check warns, and the panel says so.
    assert.equal(cred?.problems.length, 1);
    assert.match(cred!.problems[0]!, 'expires within 7 days');
    const html = (await get(t.app, '/')).body;
    assert.match(html, `<tr data-credential="gw-cred"><td>gw-cred</td><td><span class="countdown" data-expires="${notAfter}">`);
    assert.match(html, '<div class="bad">secret &quot;gw-cred&quot;');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('names and messages are escaped: a proxy, a NACK, a matrix client and a config error cannot inject markup', async () => {
  const matrix: PredictedMatrix = {
    clients: [EVIL],
    services: ['httpbin.foo'],
    cells: [{ from: EVIL, to: 'httpbin.foo', code: '403', mtls: true, reason: `denied "${EVIL}"` }],
  };
  const t = await adminHarness({ matrix: () => matrix });
  await t.connect(`${EVIL}.foo`, `bad listener ${EVIL}`);
  await t.cp.applyConfig(loadManifests({ [`${EVIL}.yaml`]: 'kind: [' }), 'edit');
  for (const url of ['/', '/debug/dashboard/panels']) {
    const html = (await get(t.app, url)).body;
    assert.not.match(html, '<script>alert', url);
    assert.match(html, '&lt;script&gt;alert(1)&lt;/script&gt;.foo');
    assert.match(html, 'LDS NACK: bad listener &lt;script&gt;');
    assert.match(html, 'title="denied &quot;&lt;script&gt;');
    assert.match(
      html,
      /<td class="cell code-403" data-from="&lt;script&gt;alert\(1\)&lt;\/script&gt;" data-to="httpbin\.foo" data-mtls="true"/,
    );
    assert.match(html, '<ul class="errors"><li>&lt;script&gt;alert(1)&lt;/script&gt;.yaml');
  }
  // The page's own script is the one and only.
  assert.is((await get(t.app, '/')).body.split('<script>').length, 2);
});

test('the matrix renders every cell by code, mTLS marked, the reason as its title', async () => {
  const matrix: PredictedMatrix = {
    clients: ['sleep.foo', 'sleep.legacy'],
    services: ['httpbin.foo', 'httpbin.legacy'],
    cells: [
      {
        from: 'sleep.foo',
        to: 'httpbin.foo',
        code: '200',
        mtls: true,
        identity: 'spiffe://cluster.local/ns/foo/sa/sleep',
        reason: 'allowed by foo/only-sleep',
      },
      { from: 'sleep.foo', to: 'httpbin.legacy', code: '200', mtls: false, reason: 'plaintext to a workload without sidecar' },
      { from: 'sleep.legacy', to: 'httpbin.foo', code: '000', mtls: false, reason: 'STRICT rejects plaintext' },
      { from: 'sleep.legacy', to: 'httpbin.legacy', code: '?', mtls: false, reason: 'unknown' },
    ],
  };
  const t = await adminHarness({ matrix: () => matrix });
  const data = (await get(t.app, '/debug/dashboardz')).json() as { matrix: PredictedMatrix };
  assert.equal(data.matrix, matrix);
  const html = (await get(t.app, '/')).body;
  const cells = [...html.matchAll(/<td class="cell code-(\w+)" data-from="([^"]+)" data-to="([^"]+)" data-mtls="(\w+)" title="([^"]*)">/g)];
  assert.equal(
    cells.map((m) => [m[1], m[2], m[3], m[4]]),
    [
      ['200', 'sleep.foo', 'httpbin.foo', 'true'],
      ['200', 'sleep.foo', 'httpbin.legacy', 'false'],
      ['000', 'sleep.legacy', 'httpbin.foo', 'false'],
      ['unknown', 'sleep.legacy', 'httpbin.legacy', 'false'],
    ],
  );
  assert.match(cells[0]![5]!, 'allowed by foo/only-sleep');
  assert.match(cells[0]![5]!, 'identity spiffe://cluster.local/ns/foo/sa/sleep');
  assert.is(html.match(/<td class="cell [^>]*>[^<]*<svg class="lock"/g)?.length, 1, 'only the mTLS cell has a lock');
});

test('with an admin token the page is an empty shell and its data needs the bearer token', async () => {
  const t = await adminHarness({ token: 's3cret' });
  await t.connect('sleep.foo');
  const page = await get(t.app, '/');
  assert.is(page.statusCode, 200);
  assert.not.match(page.body, 'sleep.foo');
  assert.not.match(page.body, 'data-proxy');
  for (const url of ['/debug/dashboardz', '/debug/dashboard/panels', '/debug', '/debug/configz?pretty']) {
    assert.is((await get(t.app, url)).statusCode, 401, url);
    assert.is((await get(t.app, url, { authorization: 'Bearer wrong' })).statusCode, 401, url);
  }
  const panels = await get(t.app, '/debug/dashboard/panels', { authorization: 'Bearer s3cret' });
  assert.is(panels.statusCode, 200);
  assert.match(panels.body, 'data-proxy="sleep.foo"');
});

test('the panels answer 304 while nothing changes and a new fragment when the config does', async () => {
  const t = await adminHarness();
  const first = await get(t.app, '/debug/dashboard/panels');
  const etag = String(first.headers.etag);
  assert.is((await get(t.app, '/debug/dashboard/panels', { 'if-none-match': etag })).statusCode, 304);
  await t.cp.applyConfig(loadManifests([...DASHBOARD_MESH, authorizationPolicy('foo/deny-all', { action: 'DENY', rules: [{}] })]), 'edit');
  const changed = await get(t.app, '/debug/dashboard/panels', { 'if-none-match': etag });
  assert.is(changed.statusCode, 200);
  assert.match(changed.body, 'data-policy="AuthorizationPolicy/foo/deny-all"');
});

/** Full paths of the GET routes in fastify's route tree print (each line: drawing, the segment below its parent, methods). */
function getRoutes(tree: string): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│├└─\s]*)(\S+) \(([^)]*)\)/.exec(line);
    if (!m) continue;
    const depth = [...m[1]!].length / 4 - 1;
    stack[depth] = (depth > 0 ? stack[depth - 1]! : '') + m[2]!;
    stack.length = depth + 1;
    if (m[3]!.split(', ').includes('GET')) out.push(stack[depth]!);
  }
  return out;
}

test('/debug lists every GET route under /debug and the open three, each linked', async () => {
  const t = await adminHarness();
  await t.app.ready();
  const routes = getRoutes(t.app.printRoutes({ commonPrefix: false }));
  const wanted = routes.filter((r) => r === '/' || r.startsWith('/debug') || ['/healthz', '/ready', '/metrics'].includes(r));
  assert.ok(wanted.includes('/debug/syncz') && wanted.includes('/debug/ca'), `routes parsed: ${wanted.join(' ')}`);
  const html = (await get(t.app, '/debug')).body;
  for (const route of wanted) assert.match(html, `<a href="${route}">${route}</a>`, `${route} is in the /debug index`);
  assert.equal(ADMIN_ENDPOINTS.map((x) => x.path).sort(), [...new Set(wanted)].sort(), 'and the index lists nothing else');
});

test('?pretty indents any JSON answer; without it JSON stays compact and HTML is untouched', async () => {
  const t = await adminHarness();
  const compact = (await get(t.app, '/debug/configz')).body;
  const pretty = await get(t.app, '/debug/configz?pretty');
  assert.not.match(compact, '\n');
  assert.match(pretty.body, /^\{\n {2}"state": "ok",\n/);
  assert.equal(JSON.parse(pretty.body), JSON.parse(compact));
  assert.is(Number(pretty.headers['content-length']), Buffer.byteLength(pretty.body));
  assert.match((await get(t.app, '/ready?pretty')).body, '\n  "ready"');
  assert.is((await get(t.app, '/debug?pretty')).body, (await get(t.app, '/debug')).body);
});

test.run();
