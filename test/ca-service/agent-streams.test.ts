// ADS streams of node agents: authenticated by the workload certificate the
// agent got through CreateCertificate (no token on the stream), for a
// workload with that certificate's identity; and a node that says its key
// lives on its host (MESHLITE_AGENT) is sent no `default` secret, nor does
// meshlite make a key for it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { csrFor, p256 } from '../support/csr.js';
import { after, before } from '../support/hooks.js';
import { EXAMPLES_DIR } from '../support/paths.js';
import { SotwClient, type SotwResponse } from '../server/xds-client.js';
import { addRevocations } from '../../src/identity/token-revocations.js';
import { caClient, type ClientTls, createCertificate, signed, startTestMeshlite, type TestMeshlite } from './ca-client.js';

let t: TestMeshlite;
const clients: grpc.Client[] = [];
const streams: SotwClient[] = [];

before(test, async () => {
  // The S1 mesh: sidecars with mTLS to each other, so their resources name `default` and ROOTCA.
  const s1 = ['services.yaml', 'workloads.yaml'].map((f) => readFileSync(join(EXAMPLES_DIR, 's1-auto-mtls', f), 'utf8'));
  t = await startTestMeshlite({}, s1.join('\n---\n'));
});
after(test, async () => {
  for (const s of streams) s.close();
  for (const c of clients) c.close();
  await t?.stop();
});

async function svidFor(proxy: string, validityDuration?: number): Promise<ClientTls> {
  const key = p256();
  const ca = caClient(t.m);
  clients.push(ca);
  const r = signed(await createCertificate(ca, { csr: csrFor(key), token: await t.m.tokens!.issue(proxy), validityDuration }));
  return { certChainPem: r.chain.join(''), privateKeyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

/** An ADS stream over TLS presenting `clientTls`, with no token. */
function agentStream(clientTls: ClientTls | undefined): SotwClient {
  const c = caClient(t.m, clientTls);
  clients.push(c);
  const s = new SotwClient(c);
  streams.push(s);
  return s;
}

const AGENT = { MESHLITE_AGENT: 'true' };

async function refusal(s: SotwClient): Promise<string> {
  const end = await s.raw.endWithin(5000);
  return `${grpc.status[end.code]}: ${end.details}`;
}

async function adminText(path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${t.m.adminPort}${path}`);
  return res.text();
}

test('an agent stream authenticated by its workload certificate gets its config and ROOTCA, no `default`, and meshlite makes no key for it', async () => {
  const svid = await svidFor('sleep.foo');
  const s = agentStream(svid);
  s.request('clusters', { node: { id: 'sleep.foo', metadata: AGENT } });
  const clusters = await s.next();
  assert.is(clusters.type, 'clusters');
  s.ack(clusters);
  s.request('secrets', { names: ['ROOTCA', 'default'] });
  const secrets: SotwResponse = await s.next();
  assert.equal(secrets.names, ['ROOTCA'], 'only the root: the key and certificate are served by the agent');
  const adsz = JSON.parse(await adminText('/debug/adsz')) as any[];
  const mine = adsz.find((c) => c.proxy === 'sleep.foo');
  assert.is(mine.keysOnNode, true);
  assert.is(mine.token, null);
  assert.match(mine.certificate.serialNumber, /^[0-9a-f]+$/);
  // `meshlite status` counts down to the end of the certificate the agent's stream authenticated with.
  const sync = JSON.parse(await adminText('/debug/syncz?proxy=sleep.foo'));
  assert.equal(sync.certificate, { serialNumber: mine.certificate.serialNumber, notAfter: mine.certificate.expiresAt });
  const dump = await adminText('/debug/config_dump?proxy=sleep.foo');
  assert.not.match(dump, /PRIVATE KEY/);
  assert.not.match(dump, /"tls_certificate":/, 'no certificate secret in the dump');
  const metrics = await adminText('/metrics');
  assert.not.match(metrics, /meshlite_workload_keys_generated_total\{identity="foo\/sleep"\}/, 'no key made for foo/sleep');
});

test('a direct-mode stream (token, no agent metadata) still gets `default`, and the key meshlite made is counted', async () => {
  const c = new (await import('./ca-client.js')).IstioCertificateService(
    `127.0.0.1:${t.m.adsPort}`,
    grpc.credentials.createSsl(Buffer.from(t.m.ca.rootCertPem)),
    {
      'grpc.ssl_target_name_override': 'meshlite',
    },
  );
  clients.push(c);
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${await t.m.tokens!.issue('httpbin.bar')}`);
  const s = new SotwClient(c, md);
  streams.push(s);
  s.request('clusters', { node: { id: 'httpbin.bar' } });
  s.ack(await s.next());
  s.request('secrets', { names: ['ROOTCA', 'default'] });
  const secrets = await s.next();
  assert.equal(secrets.names, ['ROOTCA', 'default']);
  assert.match(await adminText('/metrics'), /meshlite_workload_keys_generated_total\{identity="bar\/httpbin"\} 1/);
  assert.match(await adminText('/debug/config_dump?proxy=httpbin.bar'), /"tls_certificate":/, "the direct proxy's dump shows its secret");
});

test('the certificate names the workloads it may be: another service account is PERMISSION_DENIED', async () => {
  const svid = await svidFor('sleep.foo');
  const s = agentStream(svid);
  s.request('clusters', { node: { id: 'httpbin.foo', metadata: AGENT } });
  assert.match(await refusal(s), /^PERMISSION_DENIED: .*httpbin\.foo.*foo\/httpbin.*spiffe:\/\/cluster\.local\/ns\/foo\/sa\/sleep/);
});

test('no token and no certificate: UNAUTHENTICATED naming both ways in', async () => {
  const s = agentStream(undefined);
  s.request('clusters', { node: { id: 'sleep.foo', metadata: AGENT } });
  assert.match(await refusal(s), /^UNAUTHENTICATED: no bearer token .* no workload certificate/);
});

test('the stream ends UNAUTHENTICATED when its certificate expires; an expired certificate cannot open one', async () => {
  const svid = await svidFor('sleep.bar', 2);
  const s = agentStream(svid);
  s.request('clusters', { node: { id: 'sleep.bar', metadata: AGENT } });
  await s.next();
  const end = await s.raw.endWithin(6000);
  assert.is(grpc.status[end.code], 'UNAUTHENTICATED');
  assert.match(end.details, /client certificate [0-9a-f]+ expired at/);
  const again = agentStream(svid);
  again.request('clusters', { node: { id: 'sleep.bar', metadata: AGENT } });
  assert.match(await refusal(again), /^UNAUTHENTICATED: client certificate not accepted \(CERT_HAS_EXPIRED/);
});

test('revoking a proxy revokes the certificates issued to it: its agent stream closes, it can neither renew nor reconnect', async () => {
  const svid = await svidFor('httpbin.foo');
  const s = agentStream(svid);
  s.request('clusters', { node: { id: 'httpbin.foo', metadata: AGENT } });
  await s.next();
  const revokedAt = Math.floor(Date.now() / 1000);
  await addRevocations(t.stateDir, [{ proxy: 'httpbin.foo', issuedUpTo: revokedAt, revokedAt: new Date().toISOString() }]);
  const end = await s.raw.endWithin(5000);
  assert.is(grpc.status[end.code], 'UNAUTHENTICATED');
  assert.match(
    end.details,
    /certificate [0-9a-f]+ was issued to httpbin\.foo, and every token of httpbin\.foo issued up to .* was revoked/,
  );
  const renewal = caClient(t.m, svid);
  clients.push(renewal);
  const refused = await createCertificate(renewal, { csr: csrFor(p256()) });
  assert.ok(
    !refused.ok && refused.code === 'UNAUTHENTICATED' && /client certificate revoked/.test(refused.details),
    JSON.stringify(refused),
  );
  const again = agentStream(svid);
  again.request('clusters', { node: { id: 'httpbin.foo', metadata: AGENT } });
  assert.match(await refusal(again), /^UNAUTHENTICATED: client certificate revoked/);
});

test.run();
