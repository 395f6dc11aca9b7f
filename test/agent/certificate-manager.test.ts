// The agent's certificate over time, against a real meshlite: the first one by
// token, renewals at half life by the certificate itself (the token file may
// hold garbage by then), an outage (backoff, the cached certificate served
// until it expires, recovery, the token again once it has expired), a token
// read afresh at each try, and a renewal as soon as meshlite lists another
// root first.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CaClient } from '../../src/agent/ca-client.js';
import { CertificateManager, type CertificateManagerOptions } from '../../src/agent/certificate-manager.js';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { startTestMeshlite, type TestMeshlite } from '../ca-service/ca-client.js';
import { recordingLogger, type RecordingLogger, until } from '../support/agent/agent-fixtures.js';
import { after, before } from '../support/hooks.js';

let t: TestMeshlite;
let foreign: CertificateAuthority;
const cleanups: (() => unknown)[] = [];

before(test, async () => {
  t = await startTestMeshlite({ certTtlSeconds: 3600 });
  foreign = await CertificateAuthority.loadOrCreate({ stateDir: `${t.dir}/foreign`, trustDomain: 'cluster.local' });
});
after(test, async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await t?.stop();
});

interface Started {
  manager: CertificateManager;
  log: RecordingLogger;
}

/** A manager whose CA client verifies meshlite with the manager's own bundle (as the agent wires them). */
function managerFor(m: TestMeshlite, opts: Partial<CertificateManagerOptions> & Pick<CertificateManagerOptions, 'token'>): Started {
  const log = recordingLogger();
  let manager: CertificateManager | undefined;
  const ca = new CaClient({ address: `127.0.0.1:${m.m.adsPort}`, trustBundlePem: () => manager!.trustBundlePem() });
  manager = new CertificateManager({ ca, trustBundlePem: m.m.ca.rootCertPem, logger: log, ...opts });
  cleanups.push(() => {
    manager.stop();
    ca.close();
  });
  return { manager, log };
}

const signedBy = (m: TestMeshlite, serial: string | undefined) =>
  m.logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'CreateCertificate signed' && l.serialNumber === serial);

test('first by token; renewed at half life by the certificate, though the token file now holds garbage', async () => {
  let token = await t.m.tokens!.issue('sleep.foo');
  const { manager, log } = managerFor(t, { token: () => token, ttlSeconds: 6 });
  const seen: string[] = [];
  manager.onChange(() => seen.push(manager.certificate()!.serialNumber));
  await manager.start();
  const receivedAt = Date.now();
  const first = manager.certificate()!;
  assert.is(first.spiffeId, 'spiffe://cluster.local/ns/foo/sa/sleep');
  assert.is(signedBy(t, first.serialNumber)?.auth, 'token');
  assert.ok(manager.expiresInSeconds()! > 5 && manager.expiresInSeconds()! <= 6, `${manager.expiresInSeconds()}`);
  token = 'garbage';
  await until('renewed', () => manager.certificate()!.serialNumber !== first.serialNumber, 10_000);
  const renewedAt = Date.now();
  const second = manager.certificate()!;
  // Half of what was left when it arrived (NotAfter is whole seconds), less the 1% jitter.
  const halfLife = (receivedAt + first.notAfter.getTime()) / 2 - 0.01 * (first.notAfter.getTime() - receivedAt);
  assert.ok(renewedAt >= halfLife, `renewed ${halfLife - renewedAt} ms before half of its life`);
  assert.ok(Date.now() < first.notAfter.getTime(), 'renewed before the first one expired');
  assert.is(signedBy(t, second.serialNumber)?.auth, 'certificate');
  assert.is(signedBy(t, second.serialNumber)?.clientCertificateSerial, first.serialNumber);
  assert.is.not(second.privateKeyPem, first.privateKeyPem, 'a new key for every certificate');
  await until('renewed again, by the renewed certificate', () => manager.certificate()!.serialNumber !== second.serialNumber, 10_000);
  assert.is(signedBy(t, manager.certificate()!.serialNumber)?.clientCertificateSerial, second.serialNumber);
  assert.equal(seen.slice(0, 3), [first.serialNumber, second.serialNumber, manager.certificate()!.serialNumber]);
  const everything = `${log.text()}\n${t.logLines.join('\n')}`;
  assert.not.match(everything, /PRIVATE KEY/);
  for (const held of [first, second]) {
    const body = held.privateKeyPem.split('\n')[1]!;
    assert.not.ok(everything.includes(body), 'no key material in either log');
  }
});

test('a token read afresh at each try: refused, retried with backoff, accepted once the file holds a valid one', async () => {
  let token: string | undefined;
  const { manager, log } = managerFor(t, { token: () => token, retry: { initialMs: 50, maxMs: 200 } });
  let done = false;
  const started = manager.start().then(() => (done = true));
  await until('two failures without a token', () => log.matching(/no workload certificate yet/).length >= 2);
  assert.match(String(log.lines[0]!.fields.error), /no credential: there is no token/);
  token = 'not-a-jwt';
  await until('a refusal of the bad token', () => log.lines.some((l) => /invalid token/.test(String(l.fields.error))));
  assert.is(log.lines.find((l) => /invalid token/.test(String(l.fields.error)))?.fields.code, 'UNAUTHENTICATED');
  assert.not.ok(done);
  token = await t.m.tokens!.issue('httpbin.foo');
  await started;
  assert.is(manager.certificate()?.spiffeId, 'spiffe://cluster.local/ns/foo/sa/httpbin');
});

test('stop() before the first certificate rejects start()', async () => {
  const { manager } = managerFor(t, { token: () => undefined, retry: { initialMs: 50, maxMs: 100 } });
  const started = manager.start();
  manager.stop();
  try {
    await started;
    assert.unreachable('start() resolved');
  } catch (err) {
    assert.match((err as Error).message, /stopped before it got a certificate/);
  }
});

test('another first root in the bundle renews at once, once; the same first root or an unusable bundle does not', async () => {
  const token = await t.m.tokens!.issue('sleep.bar');
  const { manager, log } = managerFor(t, { token: () => token, ttlSeconds: 3600, random: () => 0 });
  await manager.start();
  const first = manager.certificate()!;
  let changes = 0;
  manager.onChange(() => changes++);
  const prompts = () => log.matching(/another root than the one of the workload certificate/).length;
  const meshliteRoot = t.m.ca.rootCertPem;

  manager.setTrustBundle(`${meshliteRoot}${foreign.rootCertPem}`);
  assert.is(prompts(), 0, 'the held certificate`s root is still listed first');
  assert.is(changes, 1, 'listeners hear of the new bundle');
  assert.is(manager.trustBundlePem(), `${meshliteRoot}${foreign.rootCertPem}`);

  const rotated = `${foreign.rootCertPem}${meshliteRoot}`;
  manager.setTrustBundle(rotated);
  assert.is(prompts(), 1);
  await until('renewed after the root switch', () => manager.certificate()!.serialNumber !== first.serialNumber, 5000);
  assert.is(signedBy(t, manager.certificate()!.serialNumber)?.auth, 'certificate', 'TLS to meshlite verified with the new bundle');
  assert.is(changes, 3, 'the bundle, then the certificate');

  manager.setTrustBundle(rotated);
  manager.setTrustBundle(`${rotated}${meshliteRoot}`);
  assert.is(prompts(), 1, 'the same first root again does not renew again');
  manager.setTrustBundle('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  manager.setTrustBundle('');
  assert.is(manager.trustBundlePem(), `${rotated}${meshliteRoot}`, 'unusable bundles are ignored');
  assert.is(log.matching(/trust bundle not replaced/).length, 2);
  assert.is(changes, 4);
});

test('meshlite down: backoff, the cached certificate served until it expires, then the token once meshlite is back', async () => {
  const down = await startTestMeshlite({ certTtlSeconds: 3600 });
  const port = down.m.adsPort;
  let back: TestMeshlite | undefined;
  cleanups.push(async () => {
    await back?.stop(); // its own directory; the state directory is down's
    await down.stop();
  });
  const token = await down.m.tokens!.issue('httpbin.bar');
  const retry = { initialMs: 100, maxMs: 400 };
  const { manager, log } = managerFor(down, { token: () => token, ttlSeconds: 3, retry });
  await manager.start();
  const held = manager.certificate()!;
  await down.m.stop();
  const late = managerFor(down, { token: () => token, retry });
  let lateStarted = false;
  void late.manager.start().then(() => (lateStarted = true));

  const failures = () => log.lines.filter((l) => /renewal failed/.test(l.msg));
  await until('four failed renewals', () => failures().length >= 4, 8000);
  assert.is(manager.certificate(), held, 'the cached certificate is still served');
  const delays = failures().map((l) => l.fields.retryInMs as number);
  for (const [i, delay] of delays.slice(0, 4).entries()) {
    const base = Math.min(retry.maxMs, retry.initialMs * 2 ** i);
    assert.ok(delay >= base / 2 && delay <= base, `retry ${i + 1} after ${delay} ms, expected ${base / 2}-${base}`);
  }
  assert.is(failures()[0]!.fields.expiresAt, held.notAfter.toISOString());
  assert.match(failures()[0]!.msg, /stays in use until it expires at/);
  await until('a failure after expiry', () => log.lines.some((l) => l.level === 'error' && /expired at/.test(l.msg)), 8000);
  assert.ok(manager.expiresInSeconds()! <= 0);
  assert.is(manager.certificate(), held, 'still the same certificate: nothing else to serve');
  assert.not.ok(lateStarted, 'no first certificate while meshlite is down');

  back = await startTestMeshlite({ stateDir: down.stateDir, configPaths: [down.configDir], adsAddress: `127.0.0.1:${port}` });
  await until('recovered', () => manager.certificate() !== held, 8000);
  assert.is(signedBy(back, manager.certificate()!.serialNumber)?.auth, 'token', 'the expired certificate is no credential');
  await until('the late manager got its first certificate', () => lateStarted, 8000);
});

test.run();
