// The agent's CreateCertificate client over real TLS: what goes over the wire
// (the CSR and a lifetime, never the key), token and certificate credentials
// against a real meshlite, refusals as status + message, the trust bundle read
// at each call, and a meshlite that cannot be reached.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CaClient } from '../../src/agent/ca-client.js';
import { requestCertificate } from '../../src/agent/certificate-request.js';
import { CA_SERVICE_DEFINITION, decodeRequest } from '../../src/ca-service/ca-proto.js';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { startTestMeshlite, type TestMeshlite } from '../ca-service/ca-client.js';
import { checkCsr } from '../../src/ca/csr.js';
import { after, before } from '../support/hooks.js';
import { pemCertificates } from '../support/agent/agent-fixtures.js';

let t: TestMeshlite;
let foreign: CertificateAuthority;
const clients: CaClient[] = [];

before(test, async () => {
  t = await startTestMeshlite({ certTtlSeconds: 3600 });
  foreign = await CertificateAuthority.loadOrCreate({ stateDir: `${t.dir}/foreign`, trustDomain: 'cluster.local' });
});
after(test, async () => {
  for (const c of clients) c.close();
  await t?.stop();
});

function client(address = `127.0.0.1:${t.m.adsPort}`, bundle = () => t.m.ca.rootCertPem): CaClient {
  const c = new CaClient({ address, trustBundlePem: bundle });
  clients.push(c);
  return c;
}

/** meshlite's "CreateCertificate signed" log lines, as parsed JSON. */
const signedLines = () => t.logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'CreateCertificate signed');

/** The field numbers present in an encoded message. */
function fieldNumbers(bytes: Uint8Array): number[] {
  const reader = protobuf.Reader.create(bytes);
  const fields: number[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    fields.push(tag >>> 3);
    reader.skipType(tag & 7);
  }
  return fields;
}

test('over the wire: the CSR and the lifetime, the token as authorization metadata; no byte of the key', async () => {
  const received: { bytes: Buffer; authorization: grpc.MetadataValue[] }[] = [];
  const server = new grpc.Server();
  const recording = { CreateCertificate: { ...CA_SERVICE_DEFINITION.CreateCertificate, requestDeserialize: (b: Buffer) => b } };
  server.addService(recording, {
    CreateCertificate: async (call: grpc.ServerUnaryCall<Buffer, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      received.push({ bytes: call.request, authorization: call.metadata.get('authorization') });
      const decoded = decodeRequest(call.request);
      if (!decoded.ok) return callback({ code: grpc.status.INVALID_ARGUMENT, details: decoded.malformed });
      const identity = { trustDomain: 'cluster.local', namespace: 'foo', serviceAccount: 'sleep' };
      const issued = await t.m.ca.signCsr(decoded.request.csr, identity, { ttlSeconds: Number(decoded.request.validitySeconds) });
      if (!issued.ok) return callback({ code: grpc.status.INTERNAL, details: issued.error });
      callback(null, { certChain: pemCertificates(issued.certificate.certChainPem) });
    },
  });
  const serving = await t.m.ca.issueServerCertificate(['meshlite'], []);
  if (!serving.ok) throw new Error(serving.error);
  const credentials = grpc.ServerCredentials.createSsl(null, [
    { private_key: Buffer.from(serving.certificate.privateKeyPem!), cert_chain: Buffer.from(serving.certificate.certChainPem) },
  ]);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  try {
    const r = await requestCertificate({ ca: client(`127.0.0.1:${port}`), credential: { token: 'the-token' }, validitySeconds: 900 });
    if (!r.ok) throw new Error(r.message);
    assert.is(received.length, 1);
    const [{ bytes, authorization }] = received as [(typeof received)[0]];
    assert.equal(authorization, ['Bearer the-token']);
    assert.equal(fieldNumbers(bytes), [1, 3], 'csr and validity_duration, nothing else');
    const decoded = decodeRequest(bytes);
    assert.ok(decoded.ok && decoded.request.validitySeconds === 900n);
    const csr = decoded.ok ? checkCsr(decoded.request.csr) : undefined;
    const key = createPrivateKey(r.certificate.privateKeyPem);
    assert.ok(
      csr?.ok && csr.value.spkiDer.equals(createPublicKey(key).export({ format: 'der', type: 'spki' })),
      'the CSR is for the held key',
    );
    const scalar = Buffer.from(key.export({ format: 'jwk' }).d!, 'base64url');
    assert.is(scalar.length, 32);
    assert.not.ok(bytes.includes(scalar), 'the private scalar is not in the request');
    assert.not.ok(bytes.includes(key.export({ format: 'der', type: 'pkcs8' })), 'nor the PKCS#8 key');
  } finally {
    server.forceShutdown();
  }
});

test('meshlite: a token gets a chain; then the certificate alone, as TLS client certificate, renews it', async () => {
  const c = client();
  const first = await requestCertificate({ ca: c, credential: { token: await t.m.tokens!.issue('sleep.foo') } });
  if (!first.ok) throw new Error(first.message);
  assert.is(first.certificate.spiffeId, 'spiffe://cluster.local/ns/foo/sa/sleep');
  assert.is(first.certificate.rootPem, t.m.ca.rootCertPem);
  const renewed = await requestCertificate({ ca: c, credential: { certificate: first.certificate } });
  if (!renewed.ok) throw new Error(renewed.message);
  assert.is(renewed.certificate.spiffeId, first.certificate.spiffeId);
  assert.is.not(renewed.certificate.serialNumber, first.certificate.serialNumber);
  const byCertificate = signedLines().find((l) => l.serialNumber === renewed.certificate.serialNumber);
  assert.is(byCertificate?.auth, 'certificate');
  assert.is(byCertificate?.clientCertificateSerial, first.certificate.serialNumber);
  assert.is(signedLines().find((l) => l.serialNumber === first.certificate.serialNumber)?.auth, 'token');
});

test('refusals come back as meshlite`s status and message', async () => {
  const c = client();
  const garbage = await requestCertificate({ ca: c, credential: { token: 'not-a-jwt' } });
  assert.ok(!garbage.ok && garbage.code === grpc.status.UNAUTHENTICATED && /invalid token/.test(garbage.message));
  const ghost = await requestCertificate({ ca: c, credential: { token: await t.m.tokens!.issue('ghost.foo') } });
  assert.ok(!ghost.ok && ghost.code === grpc.status.PERMISSION_DENIED && /unknown workload "ghost.foo"/.test(ghost.message));
});

test('the bundle is read at each call: a foreign root fails the handshake, meshlite`s root then works', async () => {
  let bundle = foreign.rootCertPem;
  const c = client(undefined, () => bundle);
  const token = await t.m.tokens!.issue('sleep.foo');
  const refused = await requestCertificate({ ca: c, credential: { token } });
  assert.ok(!refused.ok && refused.code === grpc.status.UNAVAILABLE, refused.ok ? 'signed' : refused.message);
  bundle = `${foreign.rootCertPem}${t.m.ca.rootCertPem}`;
  const accepted = await requestCertificate({ ca: c, credential: { token } });
  assert.ok(accepted.ok, accepted.ok ? '' : accepted.message);
  bundle = '';
  const none = await requestCertificate({ ca: c, credential: { token } });
  assert.ok(!none.ok && none.code === grpc.status.FAILED_PRECONDITION && /no trust bundle/.test(none.message));
});

test('nothing listening: UNAVAILABLE well within the deadline; a closed client refuses', async () => {
  const server = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  server.forceShutdown();
  const c = client(`127.0.0.1:${port}`);
  const started = Date.now();
  const r = await c.createCertificate({ csrPem: 'x', credential: { token: 't' } });
  assert.ok(!r.ok && r.code === grpc.status.UNAVAILABLE, r.ok ? 'signed' : r.message);
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  c.close();
  const closed = await c.createCertificate({ csrPem: 'x', credential: { token: 't' } });
  assert.ok(!closed.ok && closed.code === grpc.status.CANCELLED);
});

test.run();
