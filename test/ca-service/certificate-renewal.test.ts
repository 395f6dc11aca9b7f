// Renewal with the current certificate as the TLS client certificate on the
// ADS port: accepted when meshlite's CA issued it, it is valid now and a
// served workload still has its identity; the ADS streams on that port do
// not care whether a client presents one.
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { csrFor, p256 } from '../support/csr.js';
import { after, before } from '../support/hooks.js';
import { eventually, SotwClient } from '../server/xds-client.js';
import {
  WORKLOADS,
  type CallResult,
  caClient,
  type ClientTls,
  createCertificate,
  signed,
  sleep,
  startTestMeshlite,
  type TestMeshlite,
  uriSans,
} from './ca-client.js';

const SLEEP_FOO = 'spiffe://cluster.local/ns/foo/sa/sleep';

let t: TestMeshlite;
const clients: grpc.Client[] = [];
const otherDirs: string[] = [];

before(test, async () => {
  t = await startTestMeshlite();
});
after(test, async () => {
  for (const c of clients) c.close();
  await t?.stop();
  for (const d of otherDirs) rmSync(d, { recursive: true, force: true });
});

function clientWith(clientTls?: ClientTls): grpc.Client {
  const c = caClient(t.m, clientTls);
  clients.push(c);
  return c;
}

const refusal = (r: CallResult) => (r.ok ? `signed ${uriSans(r.leaf).join(',')}` : `${r.code}: ${r.details}`);

/** A key and the certificate CreateCertificate gave it, as a client certificate. */
async function svidFor(proxy: string, validityDuration?: number): Promise<ClientTls> {
  const key = p256();
  const r = signed(await createCertificate(clientWith(), { csr: csrFor(key), token: await t.m.tokens!.issue(proxy), validityDuration }));
  return { certChainPem: r.chain.join(''), privateKeyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

async function foreignCa(): Promise<CertificateAuthority> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-ca-foreign-'));
  otherDirs.push(dir);
  return CertificateAuthority.loadOrCreate({ stateDir: dir, trustDomain: 'cluster.local' });
}

test('after its token expired, a workload renews with its current certificate (a new key, the same identity)', async () => {
  const key = p256();
  const shortToken = await t.m.tokens!.issue('sleep.foo', 2); // exp is whole seconds: 1 s could be over at once
  const first = signed(await createCertificate(clientWith(), { csr: csrFor(key), token: shortToken }));
  const svid = { certChainPem: first.chain.join(''), privateKeyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString() };
  await sleep(3100);
  const tokenOnly = await createCertificate(clientWith(), { csr: csrFor(key), token: shortToken });
  assert.ok(!tokenOnly.ok && tokenOnly.code === 'UNAUTHENTICATED', refusal(tokenOnly));

  const renewing = clientWith(svid);
  const nextKey = p256();
  const renewed = signed(await createCertificate(renewing, { csr: csrFor(nextKey) }));
  assert.equal(uriSans(renewed.leaf), [SLEEP_FOO]);
  assert.ok(renewed.leaf.publicKey.equals(createPublicKey(nextKey)));
  assert.is.not(renewed.leaf.serialNumber, first.leaf.serialNumber);
  const withExpiredToken = await createCertificate(renewing, { csr: csrFor(nextKey), token: shortToken });
  assert.ok(withExpiredToken.ok, `the certificate carries the call: ${refusal(withExpiredToken)}`);
  const metrics = await (await fetch(`http://127.0.0.1:${t.m.adminPort}/metrics`)).text();
  assert.match(metrics, /meshlite_ca_certificates_signed_total\{auth="certificate"\} 2/);
});

test('a client certificate from another CA is refused: UNAUTHENTICATED, saying why', async () => {
  const other = await foreignCa();
  const issued = await other.issueWorkloadCertificate({ trustDomain: 'cluster.local', namespace: 'foo', serviceAccount: 'sleep' });
  if (!issued.ok) throw new Error(issued.error);
  const { certChainPem, privateKeyPem } = issued.certificate;
  const r = await createCertificate(clientWith({ certChainPem, privateKeyPem: privateKeyPem! }), { csr: csrFor(p256()) });
  assert.ok(
    !r.ok &&
      r.code === 'UNAUTHENTICATED' &&
      /client certificate not accepted \([A-Z_]+\): it must be a current certificate issued by meshlite's CA/.test(r.details),
    refusal(r),
  );
});

test('an expired client certificate is refused at the handshake, and one that expires on an open connection at the next call', async () => {
  const expiring = await svidFor('httpbin.foo', 2);
  const open = clientWith(expiring);
  signed(await createCertificate(open, { csr: csrFor(p256()) }));
  await sleep(2500);
  const later = await createCertificate(open, { csr: csrFor(p256()) });
  assert.ok(!later.ok && later.code === 'UNAUTHENTICATED' && /client certificate [0-9a-f]+ expired at/.test(later.details), refusal(later));
  const fresh = await createCertificate(clientWith(expiring), { csr: csrFor(p256()) });
  assert.ok(!fresh.ok && fresh.code === 'UNAUTHENTICATED' && /CERT_HAS_EXPIRED/.test(fresh.details), refusal(fresh));
});

test('a certificate and a token naming different identities: PERMISSION_DENIED', async () => {
  const svid = await svidFor('sleep.bar');
  const r = await createCertificate(clientWith(svid), { csr: csrFor(p256()), token: await t.m.tokens!.issue('httpbin.bar') });
  assert.ok(
    !r.ok && r.code === 'PERMISSION_DENIED' && /ns\/bar\/sa\/sleep but the token for .*ns\/bar\/sa\/httpbin/.test(r.details),
    refusal(r),
  );
});

test('ADS on the same port ignores client certificates: foreign, meshlite-issued or none, the token decides', async () => {
  const other = await foreignCa();
  const foreign = await other.issueWorkloadCertificate({ trustDomain: 'cluster.local', namespace: 'foo', serviceAccount: 'sleep' });
  if (!foreign.ok) throw new Error(foreign.error);
  const presented: (ClientTls | undefined)[] = [
    undefined,
    { certChainPem: foreign.certificate.certChainPem, privateKeyPem: foreign.certificate.privateKeyPem! },
    await svidFor('httpbin.foo'),
  ];
  for (const clientTls of presented) {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${await t.m.tokens!.issue('sleep.foo')}`);
    const stream = new SotwClient(clientWith(clientTls), md);
    try {
      stream.request('clusters', { node: { id: 'sleep.foo' } });
      const cds = await stream.next();
      assert.is(cds.type, 'clusters');
    } finally {
      stream.close();
    }
  }
});

test('a certificate whose workload left the config cannot renew: PERMISSION_DENIED', async () => {
  const svid = await svidFor('httpbin.bar');
  const renewing = clientWith(svid);
  signed(await createCertificate(renewing, { csr: csrFor(p256()) }));
  t.writeConfig(WORKLOADS.filter((w) => !(w.metadata.namespace === 'bar' && w.metadata.name === 'httpbin')));
  await eventually(
    'httpbin.bar left the config',
    () => t.m.controlPlane.currentModel?.registry.workload('httpbin.bar') === undefined,
    10_000,
  );
  const r = await createCertificate(renewing, { csr: csrFor(p256()) });
  assert.ok(
    !r.ok && r.code === 'PERMISSION_DENIED' && /ns\/bar\/sa\/httpbin, which no workload meshlite serves/.test(r.details),
    refusal(r),
  );
});

test('no key or certificate material in the log', () => {
  const log = t.logLines.join('');
  assert.not.match(log, 'BEGIN');
  assert.not.match(log, 'PRIVATE KEY');
  assert.match(
    log,
    /"code":"UNAUTHENTICATED","reason":"unauthenticated","msg":"CreateCertificate refused: client certificate not accepted/,
  );
});

test.run();
