// CreateCertificate against a real `meshlite serve` composition (TLS, tokens,
// the CA of its state directory), called by a client generated from
// protos/istio-certificate-service.proto: who gets which identity, which
// CSRs and lifetimes are accepted, the per-identity rate limit, metrics, and
// that no log line carries key material.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OID } from '../../src/ca/x509-template.js';
import { addRevocations } from '../../src/identity/token-revocations.js';
import { hasOpenssl, opensslVerify } from '../ca/ca-fixtures.js';
import { csrFor, dsa, p256, p384, rsa } from '../support/csr.js';
import { after, before } from '../support/hooks.js';
import { createMeshliteState } from '../support/meshlite-state.js';
import { type CallResult, caClient, createCertificate, signed, sleep, startTestMeshlite, type TestMeshlite, uriSans } from './ca-client.js';

const SLEEP_FOO = 'spiffe://cluster.local/ns/foo/sa/sleep';
const CERT_TTL = 6 * 3600;
const RATE_BURST = 20;

let t: TestMeshlite;
let client: grpc.Client;
const key = p256();
const csr = csrFor(key);
/** Every key a test made a CSR for: none may show up in the log. */
const keysUsed: KeyObject[] = [key];

before(test, async () => {
  t = await startTestMeshlite({ certTtlSeconds: CERT_TTL, csrRateLimit: { burst: RATE_BURST, perMillis: 3600_000 } });
  client = caClient(t.m);
});
after(test, async () => {
  client?.close();
  await t?.stop();
});

const token = (proxy: string, ttl?: number) => t.m.tokens!.issue(proxy, ttl);
const refusal = (r: CallResult) => (r.ok ? `signed ${uriSans(r.leaf).join(',')}` : `${r.code}: ${r.details}`);

test('a token for sleep.foo gets a chain, leaf first and root last, naming only sleep.foo: the CSR subject and SANs are ignored', async () => {
  const asking = p256();
  keysUsed.push(asking);
  const pem = csrFor(asking, {
    subject: [
      [OID.organization, 'system:masters'],
      [OID.commonName, 'admin'],
    ],
    sans: [
      { type: 'uri', value: 'spiffe://cluster.local/ns/kube-system/sa/admin' },
      { type: 'uri', value: 'spiffe://evil.example/ns/foo/sa/sleep' },
      { type: 'dns', value: 'api.example.com' },
      { type: 'ip', value: '10.0.0.1' },
    ],
  });
  const r = signed(await createCertificate(client, { csr: pem, token: await token('sleep.foo'), metadata: { CertSigner: 'other' } }));
  assert.is(r.chain.length, 2, 'leaf and the self-signed root');
  assert.is(r.chain[1], t.m.ca.rootCertPem);
  assert.is(r.leaf.subjectAltName, `URI:${SLEEP_FOO}`);
  assert.not.ok(r.leaf.subject, 'empty subject');
  assert.not.ok(r.leaf.ca);
  assert.ok(r.leaf.publicKey.equals(createPublicKey(asking)), 'certifies the CSR key');
  if (hasOpenssl()) {
    for (const purpose of ['sslclient', 'sslserver'] as const) {
      const verified = opensslVerify(r.chain.join(''), purpose);
      assert.ok(verified.ok, verified.output);
    }
  }
});

test('the identity comes from the token: a token for httpbin.bar with a CSR asking for sleep.foo gets httpbin.bar', async () => {
  const pem = csrFor(key, { sans: [{ type: 'uri', value: SLEEP_FOO }] });
  const r = signed(await createCertificate(client, { csr: pem, token: await token('httpbin.bar') }));
  assert.equal(uriSans(r.leaf), ['spiffe://cluster.local/ns/bar/sa/httpbin']);
});

test('no credential, a malformed header or a token signed elsewhere: UNAUTHENTICATED', async () => {
  const none = await createCertificate(client, { csr });
  assert.ok(!none.ok && none.code === 'UNAUTHENTICATED' && /no credential/.test(none.details), refusal(none));
  const garbage = await createCertificate(client, { csr, token: 'not-a-jwt' });
  assert.ok(!garbage.ok && garbage.code === 'UNAUTHENTICATED' && /invalid token/.test(garbage.details), refusal(garbage));
  const otherDir = mkdtempSync(join(tmpdir(), 'meshlite-ca-other-'));
  try {
    const other = await createMeshliteState(otherDir);
    const foreign = await createCertificate(client, { csr, token: await other.tokens.issue('sleep.foo') });
    assert.ok(!foreign.ok && foreign.code === 'UNAUTHENTICATED' && /signature/.test(foreign.details), refusal(foreign));
  } finally {
    rmSync(otherDir, { recursive: true, force: true });
  }
});

test('an expired token and a revoked one: UNAUTHENTICATED', async () => {
  const shortLived = await token('sleep.foo', 1);
  const revocable = await t.m.tokens!.issueToken('httpbin.foo');
  assert.ok((await createCertificate(client, { csr, token: revocable.token })).ok, 'valid before the revocation');
  await addRevocations(t.stateDir, [{ tokenId: revocable.tokenId, revokedAt: new Date().toISOString() }]);
  await sleep(2100);
  const expired = await createCertificate(client, { csr, token: shortLived });
  assert.ok(!expired.ok && expired.code === 'UNAUTHENTICATED' && /exp/.test(expired.details), refusal(expired));
  let revoked: CallResult | undefined;
  for (let i = 0; i < 30; i++) {
    revoked = await createCertificate(client, { csr, token: revocable.token });
    if (!revoked.ok) break;
    await sleep(100);
  }
  assert.ok(revoked && !revoked.ok && revoked.code === 'UNAUTHENTICATED' && /revoked/.test(revoked.details), refusal(revoked!));
});

test('a token for a workload meshlite does not serve, or does not know: PERMISSION_DENIED', async () => {
  const legacy = await createCertificate(client, { csr, token: await token('legacy.foo') });
  assert.ok(!legacy.ok && legacy.code === 'PERMISSION_DENIED' && /runs no sidecar/.test(legacy.details), refusal(legacy));
  const unknown = await createCertificate(client, { csr, token: await token('ghost.foo') });
  assert.ok(!unknown.ok && unknown.code === 'PERMISSION_DENIED' && /unknown workload "ghost.foo"/.test(unknown.details), refusal(unknown));
});

test('CSRs: bad signature, foreign signer, DSA, RSA-1024 and P-384 keys, no CSR: INVALID_ARGUMENT; RSA-2048 is signed', async () => {
  const auth = await token('httpbin.foo');
  const cases: [string, string, RegExp][] = [
    ['tampered signature', csrFor(key, { corrupt: true }), /does not verify/],
    ['signed by another key', csrFor(key, { signer: p256() }), /does not verify/],
    ['DSA', csrFor(dsa()), /DSA keys are not accepted/],
    ['RSA-1024', csrFor(rsa(1024)), /1024 bits is too weak/],
    ['P-384', csrFor(p384(), { hash: 'sha384' }), /curve P-384 is not accepted/],
    ['empty', '', /exactly one PEM "CERTIFICATE REQUEST"/],
    ['two CSRs', csr + csr, /exactly one PEM/],
    ['a certificate', t.m.ca.rootCertPem, /exactly one PEM "CERTIFICATE REQUEST"/],
    ['garbage DER', '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', /not a valid PKCS#10/],
  ];
  for (const [what, pem, reason] of cases) {
    const r = await createCertificate(client, { csr: pem, token: auth });
    assert.ok(!r.ok && r.code === 'INVALID_ARGUMENT' && reason.test(r.details), `${what}: ${refusal(r)}`);
  }
  const strong = rsa(2048);
  keysUsed.push(strong);
  const r = signed(await createCertificate(client, { csr: csrFor(strong), token: auth }));
  assert.is(r.leaf.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
});

test('validity: none or 0 gets --cert-ttl, a shorter one is granted, a longer one capped, a negative one refused', async () => {
  const auth = await token('sleep.foo');
  const lifetime = (r: CallResult) => {
    const { leaf } = signed(r);
    return Math.round((Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 1000) - 120; // NotBefore is backdated 120 s
  };
  assert.is(lifetime(await createCertificate(client, { csr, token: auth })), CERT_TTL);
  assert.is(lifetime(await createCertificate(client, { csr, token: auth, validityDuration: 600 })), 600);
  assert.is(lifetime(await createCertificate(client, { csr, token: auth, validityDuration: 90 * 86400 })), CERT_TTL);
  assert.is(lifetime(await createCertificate(client, { csr, token: auth, validityDuration: '9223372036854775807' })), CERT_TTL);
  const negative = await createCertificate(client, { csr, token: auth, validityDuration: -5 });
  assert.ok(!negative.ok && negative.code === 'INVALID_ARGUMENT' && /negative/.test(negative.details), refusal(negative));
});

test('rate limit per identity: RESOURCE_EXHAUSTED once the burst is used, other identities unaffected', async () => {
  const auth = await token('sleep.bar');
  for (let i = 0; i < RATE_BURST; i++) signed(await createCertificate(client, { csr, token: auth }));
  const limited = await createCertificate(client, { csr, token: auth });
  assert.ok(!limited.ok && limited.code === 'RESOURCE_EXHAUSTED' && /ns\/bar\/sa\/sleep/.test(limited.details), refusal(limited));
  signed(await createCertificate(client, { csr, token: await token('httpbin.foo') }));
});

test('a request that is not an IstioCertificateRequest: INVALID_ARGUMENT', async () => {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${await token('httpbin.foo')}`);
  const result = await new Promise<grpc.ServiceError | null>((resolve) =>
    client.makeUnaryRequest(
      '/istio.v1.auth.IstioCertificateService/CreateCertificate',
      () => Buffer.from([0x0a, 0xff, 0xff]),
      (b: Buffer) => b,
      {},
      metadata,
      (err) => resolve(err),
    ),
  );
  assert.ok(result && result.code === grpc.status.INVALID_ARGUMENT && /malformed request/.test(result.details), String(result?.details));
  const huge = await createCertificate(client, { csr: 'x'.repeat(300 * 1024), token: await token('httpbin.foo') });
  assert.ok(!huge.ok && huge.code === 'INVALID_ARGUMENT' && /larger than 262144/.test(huge.details), refusal(huge));
});

test('metrics: signed by auth, refused by reason, the signing latency histogram', async () => {
  const text = await (await fetch(`http://127.0.0.1:${t.m.adminPort}/metrics`)).text();
  assert.match(text, /meshlite_ca_certificates_signed_total\{auth="token"\} [1-9]/);
  for (const reason of ['unauthenticated', 'permission_denied', 'invalid_csr', 'invalid_request', 'rate_limited', 'malformed_request'])
    assert.match(text, new RegExp(`meshlite_ca_requests_refused_total\\{reason="${reason}"\\} [1-9]`), reason);
  assert.match(text, /meshlite_ca_sign_seconds_count [1-9]/);
});

test('one warning per refusal, and no log line carries a key, a CSR or a certificate', async () => {
  const log = t.logLines.join('');
  const refusals = t.logLines.filter((l) => l.includes('CreateCertificate refused'));
  const metrics = await (await fetch(`http://127.0.0.1:${t.m.adminPort}/metrics`)).text();
  const counted = [...metrics.matchAll(/^meshlite_ca_requests_refused_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  assert.ok(refusals.length >= 20, `${refusals.length} refusals logged`);
  assert.is(refusals.length, counted, 'one line per refused call');
  for (const line of refusals) assert.match(line, /"level":40/);
  assert.match(
    log,
    /"code":"INVALID_ARGUMENT","reason":"invalid_csr","spiffeId":"spiffe:\/\/cluster.local\/ns\/foo\/sa\/httpbin","auth":"token"/,
  );
  assert.not.match(log, 'PRIVATE KEY');
  assert.not.match(log, 'BEGIN');
  for (const k of keysUsed) {
    const der = createPrivateKey(k.export({ format: 'pem', type: 'pkcs8' }))
      .export({ format: 'der', type: 'pkcs8' })
      .toString('base64');
    for (let i = 0; i + 24 <= der.length; i += 24) assert.not.ok(log.includes(der.slice(i, i + 24)), 'key material in the log');
  }
  const csrBody = csr.replace(/-----[A-Z ]+-----|\s/g, '');
  assert.not.ok(log.includes(csrBody.slice(40, 80)), 'CSR in the log');
});

test.run();
