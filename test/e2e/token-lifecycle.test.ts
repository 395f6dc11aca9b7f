// runner: long
// A proxy token's whole life with real Envoys: its stream is closed when the
// token expires and when it is revoked (and reconnects with it are refused),
// an Envoy bootstrapped from another state dir is logged with a hint, and
// connections are recycled at --max-connection-age without losing sync.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { prepareConfigDir } from '../support/e2e/config-dir.js';
import { type Envoy, startEnvoy } from '../support/e2e/envoy.js';
import { adminJson, adminText, type Meshlite, meshliteCli, startMeshlite } from '../support/e2e/meshlite.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { waitForSync } from '../support/e2e/wait-for-sync.js';
import { revocationsPath } from '../../src/identity/token-revocations.js';
import { createMeshliteState } from '../support/meshlite-state.js';

const CONNECTED = 'control_plane.connected_state';

/** Polls `probe` until it returns a value (not undefined); fails with `what` after the deadline. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe().catch(() => undefined);
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms: ${what}`);
    await sleep(intervalMs);
  }
}

const statIs = (envoy: Envoy, stat: string, value: number) => async () => ((await envoy.stat(stat)) === value ? true : undefined);

async function adsProxies(m: Meshlite): Promise<string[]> {
  return (await adminJson<{ proxy: string }[]>(m.adminUrl, '/debug/adsz')).map((c) => c.proxy);
}

/** Log lines (parsed) whose msg matches. */
function logLines(m: Meshlite, msg: RegExp): Record<string, any>[] {
  return m
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>)
    .filter((l) => msg.test(String(l.msg)));
}

async function closedTotal(m: Meshlite, reason: string): Promise<number> {
  const text = await adminText(m.adminUrl, '/metrics');
  const found = new RegExp(`^meshlite_ads_streams_closed_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text);
  return found ? Number(found[1]) : 0;
}

test('(a) at expiry meshlite closes the stream of a short-lived token; reconnects with it are refused', async () => {
  await withProcesses('token-expiry', async (pm) => {
    const cfg = await prepareConfigDir(pm.dir);
    const stateDir = join(pm.dir, 'state');
    const meshlite = await startMeshlite(pm, { configDir: cfg.dir, stateDir });
    // Long enough for Envoy to start and sync on a loaded machine (seen taking 6 s), short enough to wait out.
    const ttlSeconds = 15;
    const envoy = await startEnvoy(pm, 'sleep.foo', {
      configDir: cfg.dir,
      stateDir,
      adsAddress: meshlite.adsAddress,
      tokenTtl: `${ttlSeconds}s`,
    });
    await waitForSync(meshlite.adminUrl, { proxies: ['sleep.foo'] });
    const [stream] = await adminJson<{ proxy: string; token: { id: string; expiresAt: string } }[]>(meshlite.adminUrl, '/debug/adsz');
    assert.is(stream!.proxy, 'sleep.foo');
    assert.match(stream!.token.id, /^[0-9a-f-]{36}$/, '/debug/adsz shows the token id');
    const expiresAt = Date.parse(stream!.token.expiresAt);
    assert.ok(expiresAt - Date.now() < ttlSeconds * 1000 + 500, `/debug/adsz shows the expiry (${stream!.token.expiresAt})`);
    assert.ok(
      logLines(meshlite, /proxy token expires in \d+ min/).length >= 1,
      'a token expiring within 24 h is warned about at stream open',
    );

    await until('Envoy reports its ADS stream disconnected', statIs(envoy, CONNECTED, 0), (ttlSeconds + 15) * 1000);
    const closedAfterMs = Date.now() - expiresAt;
    const closed = logLines(meshlite, /^ADS stream closed$/);
    assert.is(closed.length, 1, 'one stream closed');
    assert.is(closed[0]!.proxy, 'sleep.foo');
    assert.is(closed[0]!.code, 'UNAUTHENTICATED');
    assert.match(closed[0]!.reason, `token expired at ${new Date(expiresAt).toISOString()}`);
    assert.ok(closed[0]!.time - expiresAt < 1000, `closed by a timer at expiry (${closed[0]!.time - expiresAt} ms after)`);
    assert.equal(await adsProxies(meshlite), [], '/debug/adsz no longer lists it');

    // Envoy retries with the same (expired) token: each attempt is refused and never registered.
    await until('a reconnect with the expired token is refused', async () =>
      logLines(meshlite, /^ADS stream refused$/).some((l) => /"exp" claim timestamp check failed/.test(l.reason)) ? true : undefined,
    );
    assert.equal(await adsProxies(meshlite), [], 'still not connected');
    assert.is(logLines(meshlite, /^proxy connected$/).length, 1, 'no reconnect was ever accepted');
    // Envoy counts a retry as connected while its stream is being opened, before meshlite refuses it: wait for a quiet moment.
    await until('Envoy reports no ADS stream between its retries', statIs(envoy, CONNECTED, 0));
    assert.is(await closedTotal(meshlite, 'token_expired'), 1);
    assert.ok((await closedTotal(meshlite, 'refused')) >= 1);
    console.log(`[token-lifecycle] stream closed ${closedAfterMs} ms after expiry as seen by Envoy's stats`);
  });
});

test("(b) token revoke --proxy closes that Envoy's stream within a second; other proxies stay; later tokens work", async () => {
  await withProcesses('token-revoke', async (pm) => {
    const cfg = await prepareConfigDir(pm.dir);
    const stateDir = join(pm.dir, 'state');
    const meshlite = await startMeshlite(pm, { configDir: cfg.dir, stateDir });
    const base = { configDir: cfg.dir, stateDir, adsAddress: meshlite.adsAddress };
    const [sleepFoo, httpbinBar] = await Promise.all([startEnvoy(pm, 'sleep.foo', base), startEnvoy(pm, 'httpbin.bar', base)]);
    await waitForSync(meshlite.adminUrl, { proxies: ['sleep.foo', 'httpbin.bar'] });

    // Timed from the moment the command wrote the revocation (its file's mtime): a loaded
    // machine may take seconds just to start the command, which says nothing about meshlite.
    const started = Date.now();
    await meshliteCli(['token', 'revoke', '--proxy', 'sleep.foo', '--state-dir', stateDir]);
    const commandMs = Date.now() - started;
    const revoked = statSync(revocationsPath(stateDir)).mtimeMs;
    await until('sleep.foo disconnected', statIs(sleepFoo!, CONNECTED, 0), 5000, 20);
    const tookMs = Math.round(Date.now() - revoked);
    console.log(`[token-lifecycle] token revoke (${commandMs} ms as a command) -> Envoy connected_state 0 after ${tookMs} ms`);
    assert.ok(tookMs < 2000, `closed within 2 s of the revocation (took ${tookMs} ms)`);
    assert.equal(await adsProxies(meshlite), ['httpbin.bar'], 'only httpbin.bar stays connected');
    assert.is(await httpbinBar!.stat(CONNECTED), 1, 'httpbin.bar stays connected');
    const closed = logLines(meshlite, /^ADS stream closed$/);
    assert.equal(
      closed.map((l) => [l.proxy, l.code]),
      [['sleep.foo', 'UNAUTHENTICATED']],
    );
    assert.match(closed[0]!.reason, 'token revoked: every token of sleep.foo issued up to');
    await until('the reconnect with the revoked token is refused', async () =>
      logLines(meshlite, /^ADS stream refused$/).some((l) => /^token revoked/.test(l.reason)) ? true : undefined,
    );
    assert.equal(await adsProxies(meshlite), ['httpbin.bar']);
    assert.is(await closedTotal(meshlite, 'token_revoked'), 1);
    const listed = JSON.parse(await meshliteCli(['token', 'revocations', '--state-dir', stateDir, '--json'])) as {
      proxy: string;
      issuedUpTo: number;
    }[];
    assert.equal(
      listed.map((r) => r.proxy),
      ['sleep.foo'],
    );

    // syncz and config_dump name the connected proxies for an unknown one.
    const typo = await fetch(`${meshlite.adminUrl}/debug/syncz?proxy=sleep.fo`);
    assert.is(typo.status, 404);
    assert.equal(((await typo.json()) as { connected: string[] }).connected, ['httpbin.bar']);
    const dump = await fetch(`${meshlite.adminUrl}/debug/config_dump?proxy=sleep.fo`);
    assert.is(dump.status, 404);
    assert.equal(((await dump.json()) as { connected: string[] }).connected, ['httpbin.bar']);

    // Revocation covers tokens issued up to that second; a bootstrap made after it is accepted.
    await sleepFoo!.stop();
    // The command records its own clock's second, which may be later than when the test started it.
    const upTo = listed[0]!.issuedUpTo;
    await until('a second after the revoked one began', async () => (Math.floor(Date.now() / 1000) > upTo ? true : undefined), 3000, 20);
    await startEnvoy(pm, 'sleep.foo', { ...base, name: 'sleep.foo-renewed' });
    await waitForSync(meshlite.adminUrl, { proxies: ['sleep.foo', 'httpbin.bar'] });
  });
});

test('(c) an Envoy bootstrapped from another state dir fails TLS to meshlite and is logged with a hint, once per peer per minute', async () => {
  await withProcesses('tls-mismatch', async (pm) => {
    const cfg = await prepareConfigDir(pm.dir);
    const stateDir = join(pm.dir, 'state');
    const otherStateDir = join(pm.dir, 'other-state');
    await createMeshliteState(otherStateDir);
    const meshlite = await startMeshlite(pm, { configDir: cfg.dir, stateDir });
    const envoy = await startEnvoy(pm, 'sleep.foo', { configDir: cfg.dir, stateDir: otherStateDir, adsAddress: meshlite.adsAddress });
    const hint =
      /^TLS handshake with 127\.0\.0\.1:\d+ failed: tlsv1 alert unknown ca; was this proxy's bootstrap made with another --state-dir\?$/;
    await until(
      'meshlite logs the failed handshake with the hint',
      async () => (logLines(meshlite, hint).length > 0 ? true : undefined),
      20_000,
    );
    const failures = async () =>
      Number(
        /^meshlite_ads_tls_handshake_failures_total\{kind="untrusted_certificate"\} (\d+)$/m.exec(
          await adminText(meshlite.adminUrl, '/metrics'),
        )?.[1] ?? 0,
      );
    await until('Envoy retried the handshake', async () => ((await failures()) >= 2 ? true : undefined), 30_000, 200);
    assert.is(logLines(meshlite, /^TLS handshake with/).length, 1, 'repeated failures from one peer are logged once a minute');
    // Envoy sets connected_state to 1 as it starts each retry's stream, before the handshake fails: sample until it reads 0.
    await until('Envoy reports no ADS stream between its retries', statIs(envoy, CONNECTED, 0));
    assert.equal(await adsProxies(meshlite), []);
  });
});

test('(d) --max-connection-age recycles the ADS connection: Envoy reconnects on a new connection and stays SYNCED', async () => {
  await withProcesses('connection-age', async (pm) => {
    const cfg = await prepareConfigDir(pm.dir);
    const stateDir = join(pm.dir, 'state');
    const meshlite = await startMeshlite(pm, {
      configDir: cfg.dir,
      stateDir,
      extraArgs: ['--max-connection-age', '2s', '--max-connection-age-grace', '1s'],
    });
    const envoy = await startEnvoy(pm, 'sleep.foo', { configDir: cfg.dir, stateDir, adsAddress: meshlite.adsAddress });
    await waitForSync(meshlite.adminUrl, { proxies: ['sleep.foo'] });
    const connections = () => envoy.stat('cluster.meshlite-xds.upstream_cx_total');
    await until('Envoy opened a third ADS connection', async () => (((await connections()) ?? 0) >= 3 ? true : undefined), 30_000, 100);
    // Envoy counts a connection before its stream reaches meshlite's log: wait for the log to catch up.
    const streams = () => logLines(meshlite, /^proxy connected$/).filter((l) => l.proxy === 'sleep.foo').length;
    await until('meshlite logged a stream on each of the three connections', async () => (streams() >= 3 ? true : undefined), 10_000, 100);
    assert.equal(logLines(meshlite, /^ADS stream (closed|refused)$/), [], 'no stream was refused or closed by meshlite itself');
    const synced = await waitForSync(meshlite.adminUrl, { proxies: ['sleep.foo'] });
    assert.ok(synced.every((p) => p.synced));
    await until('Envoy is connected again', statIs(envoy, CONNECTED, 1), 10_000);
  });
});

test.run();
