// A root rotation of an in-process meshlite under a connected proxy: the
// bundle with both roots reaches the proxy, its ACK moves signing to the new
// root (CreateCertificate and the direct-mode certificate chain to it, the
// ADS port verifies for clients of either root), and once no old-root
// certificate is live the old root leaves the bundle.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { caClient, type ClientTls, createCertificate, signed, startTestMeshlite, type TestMeshlite } from '../ca-service/ca-client.js';
import { csrFor, p256 } from '../support/csr.js';
import { after } from '../support/hooks.js';
import { EXAMPLES_DIR } from '../support/paths.js';
import { AckingSecrets, adsHandshake, certificatesOf, fingerprintsOf, until } from './root-rotation-support.js';

const CERT_TTL_SECONDS = 5;
/** S1: sidecars in foo and bar with auto mTLS, so every proxy is served `default` and ROOTCA. */
const S1 = readdirSync(join(EXAMPLES_DIR, 's1-auto-mtls'))
  .map((f) => readFileSync(join(EXAMPLES_DIR, 's1-auto-mtls', f), 'utf8'))
  .join('\n---\n');
const running: TestMeshlite[] = [];
const clients: grpc.Client[] = [];
after(test, async () => {
  for (const c of clients) c.close();
  for (const t of running) await t.stop();
});

async function svid(t: TestMeshlite, proxy: string, clientTls?: ClientTls): Promise<ClientTls & { chain: string[] }> {
  const key = p256();
  const client = caClient(t.m, clientTls);
  clients.push(client);
  const token = clientTls ? undefined : await t.m.tokens!.issue(proxy);
  const r = signed(await createCertificate(client, { csr: csrFor(key), token }));
  return { chain: r.chain, certChainPem: r.chain.join(''), privateKeyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

const rotationStatus = (t: TestMeshlite) => t.m.rootRotation.status() as Record<string, any>;

async function metricsText(t: TestMeshlite): Promise<string> {
  return (await fetch(`http://127.0.0.1:${t.m.adminPort}/metrics`)).text();
}

test('trust-both reaches the proxy, its ACK moves signing to the new root, and the old root goes once nothing live chains to it', async () => {
  const t = await startTestMeshlite({ certTtlSeconds: CERT_TTL_SECONDS }, S1);
  running.push(t);
  const oldRoot = t.m.ca.rootCertPem;
  const [oldFp] = fingerprintsOf(oldRoot);
  const proxy = await AckingSecrets.open(t.m, 'sleep.foo', oldRoot);
  clients.push(proxy.client);
  await until('sleep.foo holds its direct-mode certificate', () => proxy.leaf !== undefined);
  assert.equal(fingerprintsOf(proxy.trustedPem), [oldFp]);
  const before = await svid(t, 'httpbin.foo');
  assert.is(certificatesOf(before.chain.at(-1)!)[0]!.fingerprint256, oldFp, 'CreateCertificate chains to the old root');

  const started = await t.m.rootRotation.start({ phaseTimeoutMs: 60_000 });
  assert.ok(started.ok, JSON.stringify(started));
  assert.is((started as { status: { phase: string } }).status.phase, 'trust-both');
  const again = await t.m.rootRotation.start({});
  assert.equal(again.ok ? 'accepted' : [again.httpStatus, /already in progress \(phase (trust-both|signing-new)/.test(again.error)], [
    409,
    true,
  ]);

  // (a) trust-both: old first, then new, pushed to the connected proxy.
  await until('the proxy holds a ROOTCA with both roots', () => fingerprintsOf(proxy.trustedPem).length === 2);
  const [first, newFp] = fingerprintsOf(proxy.trustedPem);
  assert.is(first, oldFp, 'old root first while it signs');
  assert.is.not(newFp, oldFp);

  // (b) the proxy ACKed it: signing switches (the phase timeout is a minute away).
  await until('signing-new', () => rotationStatus(t).phase === 'signing-new');
  await until('the proxy holds new + old, new first', () => fingerprintsOf(proxy.trustedPem).join() === [newFp, oldFp].join());
  const newRoot = certificatesOf(t.m.ca.rootCertPem)[0]!;
  assert.is(newRoot.fingerprint256, newFp);
  await until('the direct-mode certificate was re-issued under the new root', () => proxy.leaf?.verify(newRoot.publicKey) === true);
  const signedNew = await svid(t, 'httpbin.foo');
  const tail = certificatesOf(signedNew.chain.at(-1)!)[0]!;
  assert.is(tail.fingerprint256, newFp, 'CreateCertificate chains to the new root');
  assert.ok(certificatesOf(signedNew.chain[0]!)[0]!.verify(newRoot.publicKey));
  // A certificate of the old root still authenticates a renewal (the listener trusts both roots) and gets a new-root one.
  const renewed = await svid(t, 'httpbin.foo', before);
  assert.is(certificatesOf(renewed.chain.at(-1)!)[0]!.fingerprint256, newFp, 'renewal with an old-root client certificate');

  // meshlite's own ADS certificate: new leaf, cross-signed, so either kind of client verifies it.
  const oldClient = await adsHandshake(t.m.adsPort, oldRoot);
  assert.is(oldClient.verdict, 'verified', 'a client that trusts only the old root');
  assert.equal(
    oldClient.chain.map((c) => c.fingerprint256 === oldFp || c.subject === newRoot.subject),
    [false, true, true],
    'leaf -> cross-signed (new subject) -> old root',
  );
  assert.ok(oldClient.chain[0]!.verify(newRoot.publicKey), 'the ADS leaf is signed by the new root');
  const newClient = await adsHandshake(t.m.adsPort, newRoot.toString());
  assert.is(newClient.verdict, 'verified', 'a client that trusts only the new root');
  assert.equal(
    newClient.chain.map((c) => [c.subject, c.issuer]),
    [
      [undefined, newRoot.subject],
      [newRoot.subject, certificatesOf(oldRoot)[0]!.subject],
    ],
    'served: the new leaf, then the cross-signed certificate (new subject, issued by the old root)',
  );

  const midway = await metricsText(t);
  assert.match(midway, /meshlite_ca_root_rotation_phase 2\b/);

  // (c) the 5 s certificates of the old root expire or are superseded: only the new root stays.
  await until('done', () => rotationStatus(t).phase === 'done', 20_000);
  await until('the proxy holds only the new root', () => fingerprintsOf(proxy.trustedPem).join() === newFp);
  assert.equal(fingerprintsOf(t.m.ca.rootCertPem), [newFp]);
  const afterDone = await adsHandshake(t.m.adsPort, oldRoot);
  assert.is(afterDone.verdict, 'verified', 'the cross-signed certificate is still served: old-root bootstraps still connect');
  assert.equal(fingerprintsOf(readFileSync(join(t.stateDir, 'ca', 'root-cert.pem'), 'utf8')), [newFp], 'the new root is the stored root');
  const state = JSON.parse(readFileSync(join(t.stateDir, 'ca', 'rotation', 'state.json'), 'utf8'));
  assert.equal([state.phase, state.promoted], ['done', true]);
  // The phase reads done as soon as it is applied; the transition is counted when the state files are written.
  const counted = (m: string) =>
    ['trust-both', 'signing-new', 'done'].every((to) => m.includes(`meshlite_ca_root_rotation_transitions_total{to="${to}"} 1`));
  await until('every transition counted', async () => counted(await metricsText(t)));
  assert.match(await metricsText(t), /meshlite_ca_root_rotation_phase 0\b/);
  assert.ok(
    t.logLines.some((l) => l.includes('CA root rotation done')),
    'the transition is logged',
  );
  proxy.close();
});

test('trust-both waits for a proxy that does not ACK the new bundle, then times out naming it', async () => {
  const t = await startTestMeshlite({}, S1);
  running.push(t);
  // Accepts its first secrets, then nothing more.
  const lagging = await AckingSecrets.open(t.m, 'sleep.bar', t.m.ca.rootCertPem, 1);
  const acking = await AckingSecrets.open(t.m, 'sleep.foo', t.m.ca.rootCertPem);
  clients.push(lagging.client, acking.client);
  await until('both proxies got their secrets', () => lagging.responses > 0 && acking.leaf !== undefined);
  const startedAt = Date.now();
  assert.ok((await t.m.rootRotation.start({ phaseTimeoutMs: 3000 })).ok);
  await until('the lagging proxy was sent both roots', () => fingerprintsOf(lagging.trustedPem).length === 2);
  await until('the status names only the lagging proxy', () => (rotationStatus(t).proxiesWithoutNewRoot ?? []).join() === 'sleep.bar');
  assert.is(rotationStatus(t).phase, 'trust-both');
  await until('signing-new after the timeout', () => rotationStatus(t).phase === 'signing-new', 10_000);
  assert.ok(Date.now() - startedAt >= 2900, 'not before the phase timeout');
  const warning = t.logLines.find((l) => l.includes('phase timeout'));
  assert.ok(warning?.includes('sleep.bar') && !warning.includes('sleep.foo'), warning);
  lagging.close();
  acking.close();
});

test('POST /ca/rotate-root: a plugged-in CA needs --new-ca-dir; bad bodies are refused', async () => {
  const t = await startTestMeshlite();
  running.push(t);
  const post = (body: unknown) =>
    fetch(`http://127.0.0.1:${t.m.adminPort}/ca/rotate-root`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const relative = await post({ newCaDir: 'relative/dir' });
  assert.is(relative.status, 400);
  assert.match(await relative.text(), 'absolute');
  const unknown = await post({ newCaDirectory: '/x' });
  assert.is(unknown.status, 400);
  const missing = await post({ newCaDir: join(t.dir, 'no-such-ca') });
  assert.is(missing.status, 400);
  assert.match(await missing.text(), 'no CA files found');
  assert.is(rotationStatus(t).phase, 'idle', 'a refused request starts nothing');
});

test.run();
