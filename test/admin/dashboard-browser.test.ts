// The dashboard in a real browser (headless Chromium). Against `meshlite
// serve` with a real Envoy: the proxy grid shows it SYNCED, its certificate
// counts down (the serial Envoy itself serves), policies list the proxies they
// select, the predicted matrix marks mTLS, and a config file written while
// the page is open shows up (policy row, matrix cell) without a reload. Against an admin server in this process: the matrix cells, the
// token prompt, and "disconnected" while the admin is away.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { PredictedMatrix } from '../../src/inspect/matrix-types.js';
import { adminHarness } from '../support/admin-dashboard.js';
import { launchChromium } from '../support/browser.js';
import { after, before } from '../support/hooks.js';
import { mapAddresses } from '../support/e2e/config-dir.js';
import { servedCerts, startEnvoy } from '../support/e2e/envoy.js';
import { LOOPBACK_BLOCKS, loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { adminJson, startMeshlite } from '../support/e2e/meshlite.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { EXAMPLES_DIR, REPO_ROOT } from '../support/paths.js';
import { until } from '../support/poll.js';

const OWNER = 'admin/dashboard-browser.test.ts';
const ADMIN_HOST = loopbackAddress('admin/dashboard-browser.test.ts', 1);
const SCREENSHOT = join(REPO_ROOT, 'test-artifacts/dashboard.png');

const ALLOW_SLEEP = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: httpbin-from-sleep, namespace: foo}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: ALLOW
  rules:
  - from: [{source: {principals: [cluster.local/ns/foo/sa/sleep]}}]
`;
const STRICT = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: strict, namespace: foo}
spec: {mtls: {mode: STRICT}}
`;

let browser: Browser;
before(test, async () => {
  browser = await launchChromium();
});
after(test, async () => {
  await browser?.close();
});

const text = async (page: Page, selector: string) => (await page.locator(selector).first().textContent({ timeout: 5000 }))?.trim() ?? '';

test('serve and a real Envoy: sync grid, certificate countdown, policies; a new config file shows up without a reload', async () => {
  await withProcesses(
    'dashboard-browser',
    async (pm) => {
      const configDir = join(pm.dir, 'config');
      const stateDir = join(pm.dir, 'state');
      mkdirSync(configDir);
      const example = join(EXAMPLES_DIR, 's1-auto-mtls');
      for (const f of readdirSync(example))
        writeFileSync(join(configDir, f), mapAddresses(readFileSync(join(example, f), 'utf8'), LOOPBACK_BLOCKS[OWNER]));
      writeFileSync(join(configDir, 'authz.yaml'), ALLOW_SLEEP);
      const meshlite = await startMeshlite(pm, { configDir, stateDir });
      const envoy = await startEnvoy(pm, 'sleep.foo', { configDir, stateDir, adsAddress: meshlite.adsAddress });
      await until('sleep.foo synced', async () => (await adminJson(meshlite.adminUrl, '/debug/syncz?proxy=sleep.foo')).synced || undefined);
      const served = await until('Envoy serves its workload certificate', async () => (await servedCerts(envoy)).chains[0]);

      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${meshlite.adminUrl}/`);
      const row = '#proxies tr[data-proxy="sleep.foo"]';
      for (const type of ['CDS', 'EDS', 'LDS', 'RDS', 'SDS']) assert.is(await text(page, `${row} td[data-type="${type}"]`), 'SYNCED', type);
      assert.match(await text(page, row), 'connected');
      assert.ok(await page.locator(row).isVisible());
      assert.match(await text(page, '#proxies tr[data-proxy="httpbin.foo"]'), 'not connected');

      const cert = `#workload-certificates tr[data-proxy="sleep.foo"]`;
      assert.is(await text(page, `${cert} code`), served.serial.toLowerCase(), 'the serial Envoy serves');
      // meshlite's default certificate lifetime is 24 h: the countdown says so, and it moves.
      const countdown = await text(page, `${cert} .countdown`);
      assert.match(countdown, /^in (23h|1d 0h) \d+m \d+s$/);
      await until('the countdown ticks', async () => ((await text(page, `${cert} .countdown`)) !== countdown ? true : undefined), 5000);

      const policy = 'tr[data-policy="AuthorizationPolicy/foo/httpbin-from-sleep"]';
      assert.match(await text(page, policy), /authz\.yaml:\d+/);
      assert.match(await text(page, policy), 'httpbin.foo');
      assert.not.match(await text(page, policy), 'sleep.foo');
      assert.is(await text(page, '#config-generation'), '1');
      assert.is(await text(page, '#status'), 'live');

      // The predicted matrix: sidecar to sidecar is mutual TLS; legacy/sleep has no sidecar and speaks plaintext.
      const cell = (from: string) => page.locator(`#matrix td.cell[data-from="${from}"][data-to^="httpbin.foo."]`);
      assert.is(await cell('foo/sleep').getAttribute('data-mtls'), 'true');
      assert.is(await cell('foo/sleep').locator('.lock').count(), 1);
      assert.match((await cell('foo/sleep').getAttribute('title')) ?? '', /\S/);
      assert.is(await cell('legacy/sleep').getAttribute('data-mtls'), 'false');
      assert.not.match((await cell('legacy/sleep').getAttribute('class')) ?? '', 'code-000', 'PERMISSIVE takes plaintext');

      // A reload would lose this mark: the change must arrive through the page's own polling.
      await page.evaluate(() => Object.assign(window, { notReloaded: true }));
      writeFileSync(join(configDir, 'strict.yaml'), STRICT);
      const strict = 'tr[data-policy="PeerAuthentication/foo/strict"]';
      await page.locator(strict).waitFor({ timeout: 10_000 });
      assert.match(await text(page, strict), 'httpbin.foo, sleep.foo');
      assert.match(await text(page, strict), /strict\.yaml:\d+/);
      assert.is(await text(page, '#config-generation'), '2');
      await until('STRICT refuses legacy/sleep in the matrix', async () =>
        (await cell('legacy/sleep').getAttribute('class'))?.includes('code-000') ? true : undefined,
      );
      assert.ok(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), 'the page was not reloaded');

      mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      await page.close();
    },
    40_000,
  );
});

test('in-process admin: token prompt, matrix cells by code with mTLS and reason, live change, disconnected and back', async () => {
  let matrix: PredictedMatrix = {
    clients: ['sleep.foo', 'sleep.legacy'],
    services: ['httpbin.foo'],
    cells: [
      {
        from: 'sleep.foo',
        to: 'httpbin.foo',
        code: '200',
        mtls: true,
        identity: 'spiffe://cluster.local/ns/foo/sa/sleep',
        reason: 'allowed',
      },
      { from: 'sleep.legacy', to: 'httpbin.foo', code: '403', mtls: false, reason: 'no sidecar: no identity' },
    ],
  };
  const h = await adminHarness({ token: 'tok', matrix: () => matrix });
  await h.connect('sleep.foo');
  await h.app.listen({ host: ADMIN_HOST, port: 0 });
  const port = (h.app.server.address() as AddressInfo).port;
  let again: typeof h.app | undefined;
  const page = await browser.newPage();
  try {
    await page.goto(`http://${ADMIN_HOST}:${port}/`);
    await page.locator('#token-form').waitFor({ state: 'visible', timeout: 5000 });
    assert.is(await text(page, '#status'), 'admin token required');
    assert.is(await page.locator('[data-proxy]').count(), 0, 'no data before the token');
    await page.fill('#token-form input[name=token]', 'tok');
    await page.click('#token-form button');

    const cell = (from: string) => page.locator(`td.cell[data-from="${from}"][data-to="httpbin.foo"]`);
    await cell('sleep.foo').waitFor({ timeout: 5000 });
    assert.match((await cell('sleep.foo').getAttribute('class')) ?? '', 'code-200');
    assert.is((await cell('sleep.foo').textContent())?.trim(), '200');
    assert.is(await cell('sleep.foo').locator('svg.lock').count(), 1);
    assert.match((await cell('sleep.foo').getAttribute('title')) ?? '', 'allowed');
    assert.match((await cell('sleep.legacy').getAttribute('class')) ?? '', 'code-403');
    assert.is(await cell('sleep.legacy').locator('.lock').count(), 0);
    const colours = await page.evaluate(() =>
      [...document.querySelectorAll('td.cell[data-from]')].map((c) => getComputedStyle(c).backgroundColor),
    );
    assert.is(new Set(colours).size, 2, 'a 200 and a 403 look different');

    matrix = { ...matrix, cells: [{ ...matrix.cells[0]!, code: '403', reason: 'denied by foo/deny-all' }, matrix.cells[1]!] };
    await until(
      'the cell turns 403',
      async () => ((await cell('sleep.foo').getAttribute('class'))?.includes('code-403') ? true : undefined),
      5000,
    );

    await h.app.close();
    await until(
      'the page says disconnected',
      async () => ((await text(page, '#status')).startsWith('disconnected') ? true : undefined),
      5000,
    );
    again = h.build();
    await again.listen({ host: ADMIN_HOST, port });
    await until('live again, the token kept', async () => ((await text(page, '#status')) === 'live' ? true : undefined), 5000);
    assert.ok(await cell('sleep.foo').isVisible());
  } finally {
    await page.close();
    await h.app.close();
    await again?.close();
  }
});

test.run();
