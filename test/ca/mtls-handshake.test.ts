import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { CertificateAuthority, type IssuedCertificate } from '../../src/ca/certificate-authority.js';
import { identity, removeTempDirs, tempDir, TRUST_DOMAIN } from './ca-fixtures.js';
import { after, before } from '../support/hooks.js';

let meshCa: CertificateAuthority;
let otherCa: CertificateAuthority;
before(test, async () => {
  meshCa = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN });
  otherCa = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN });
});
after(test, removeTempDirs);

async function svid(ca: CertificateAuthority, ns: string, sa: string): Promise<IssuedCertificate> {
  const result = await ca.issueWorkloadCertificate(identity(ns, sa));
  if (!result.ok) throw new Error(result.error);
  return result.certificate;
}

interface Outcome {
  serverSawPeer?: string;
  serverError?: string;
  clientSawPeer?: string;
  clientError?: string;
}

/** One mTLS connection; resolves once either side has succeeded and echoed, or failed. */
function handshake(server: tls.TlsOptions, client: tls.ConnectionOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = {};
    const srv = tls.createServer({ ...server, requestCert: true, rejectUnauthorized: true }, (socket) => {
      outcome.serverSawPeer = socket.getPeerCertificate().subjectaltname;
      socket.end('hello from server');
    });
    const finish = () => {
      srv.close();
      resolve(outcome);
    };
    // Node reports a rejected client certificate as a hang-up; the reason is on the socket.
    srv.on(
      'tlsClientError',
      (err, socket) => (outcome.serverError = socket.authorizationError ? String(socket.authorizationError) : err.message),
    );
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      const conn = tls.connect({ ...client, host: '127.0.0.1', port });
      let received = '';
      conn.on('secureConnect', () => (outcome.clientSawPeer = conn.getPeerCertificate().subjectaltname));
      conn.on('data', (d) => (received += d));
      conn.on('error', (err) => {
        outcome.clientError = err.message;
        finish();
      });
      conn.on('close', () => {
        if (received !== 'hello from server') outcome.clientError ??= 'connection closed without data';
        finish();
      });
    });
  });
}

/** Client-side check of the server's SPIFFE identity (there is no host name to check). */
const expectSpiffe = (expected: string) => (_host: string, cert: tls.PeerCertificate) =>
  cert.subjectaltname === `URI:${expected}` ? undefined : new Error(`server identity ${cert.subjectaltname}, want ${expected}`);

test('mTLS between two workloads of the mesh CA succeeds; each side sees the other SPIFFE id', async () => {
  const server = await svid(meshCa, 'bar', 'httpbin');
  const client = await svid(meshCa, 'foo', 'sleep');
  const outcome = await handshake(
    { key: server.privateKeyPem!, cert: server.certChainPem, ca: meshCa.rootCertPem },
    { key: client.privateKeyPem!, cert: client.certChainPem, ca: meshCa.rootCertPem, checkServerIdentity: expectSpiffe(server.spiffeId!) },
  );
  assert.equal(outcome, {
    serverSawPeer: 'URI:spiffe://cluster.local/ns/foo/sa/sleep',
    clientSawPeer: 'URI:spiffe://cluster.local/ns/bar/sa/httpbin',
  });
});

test('a client certificate from a second CA is rejected by the server', async () => {
  const server = await svid(meshCa, 'bar', 'httpbin');
  const stranger = await svid(otherCa, 'foo', 'sleep');
  const outcome = await handshake(
    { key: server.privateKeyPem!, cert: server.certChainPem, ca: meshCa.rootCertPem },
    {
      key: stranger.privateKeyPem!,
      cert: stranger.certChainPem,
      ca: meshCa.rootCertPem,
      checkServerIdentity: expectSpiffe(server.spiffeId!),
    },
  );
  assert.is(outcome.serverSawPeer, undefined, 'the server application never saw the connection');
  assert.match(outcome.serverError ?? '', /CERT|ISSUER/, `the server rejected the client certificate: ${JSON.stringify(outcome)}`);
  assert.ok(outcome.clientError, 'the client did not get through');
});

test('a server certificate from a second CA is rejected by the client', async () => {
  const impostor = await svid(otherCa, 'bar', 'httpbin');
  const client = await svid(meshCa, 'foo', 'sleep');
  const outcome = await handshake(
    { key: impostor.privateKeyPem!, cert: impostor.certChainPem, ca: meshCa.rootCertPem },
    {
      key: client.privateKeyPem!,
      cert: client.certChainPem,
      ca: meshCa.rootCertPem,
      checkServerIdentity: expectSpiffe(impostor.spiffeId!),
    },
  );
  assert.is(outcome.serverSawPeer, undefined);
  assert.match(outcome.clientError ?? '', /certificate/i);
});

test('the ADS listener certificate passes standard host name verification', async () => {
  const issued = await meshCa.issueServerCertificate(['localhost'], ['127.0.0.1']);
  if (!issued.ok) throw new Error(issued.error);
  const client = await svid(meshCa, 'foo', 'sleep');
  const outcome = await handshake(
    { key: issued.certificate.privateKeyPem!, cert: issued.certificate.certChainPem, ca: meshCa.rootCertPem },
    { key: client.privateKeyPem!, cert: client.certChainPem, ca: meshCa.rootCertPem, servername: 'localhost' },
  );
  assert.is(outcome.clientError, undefined);
  assert.is(outcome.clientSawPeer, 'DNS:localhost, IP Address:127.0.0.1');
});

test.run();
