// The cross-signed certificate of a root rotation: a leaf of the new root,
// served with it, verifies for a client that trusts only the old root and for
// one that trusts only the new root: with openssl, and in real TLS handshakes.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { crossChainTail, crossSign } from '../../src/ca/cross-sign.js';
import { SERVER_USAGES, signLeaf, type Signer } from '../../src/ca/issue.js';
import { generateKeyPair, privateKeyToPem } from '../../src/ca/keys.js';
import { createRootPem, rootSigner } from '../../src/ca/root-store.js';
import { after } from '../support/hooks.js';
import {
  cacertsFor,
  DAY,
  makeIntermediate,
  makeRoot,
  removeTempDirs,
  splitChain,
  tempDir,
  TRUST_DOMAIN,
  writeCaCerts,
} from './ca-fixtures.js';

after(test, removeTempDirs);

async function newRootSigner(now = new Date()): Promise<Signer> {
  const made = await createRootPem(TRUST_DOMAIN, 3650 * DAY, 'ecdsa-p256', now, 'meshlite root CA (next)');
  const signer = rootSigner(made.certPem, made.keyPem, 'new root', 'new root key', now);
  if (!signer.ok) throw new Error(signer.error);
  return signer.value;
}

/** A serverAuth leaf for DNS `meshlite` from `signer`: its PEM alone and its key. */
async function serverLeaf(signer: Signer): Promise<{ leafPem: string; keyPem: string }> {
  const key = await generateKeyPair('ecdsa-p256');
  const issued = signLeaf(
    signer,
    key.spkiDer,
    { names: [{ type: 'dns', value: 'meshlite' }], extendedKeyUsage: SERVER_USAGES },
    3600,
    new Date(),
  );
  if (!issued.ok) throw new Error(issued.error);
  return { leafPem: splitChain(issued.certificate.certChainPem)[0]!.toString(), keyPem: privateKeyToPem(key.privateKey) };
}

function verify(trusted: string, untrusted: string, leaf: string): { ok: boolean; output: string } {
  const dir = tempDir();
  writeFileSync(join(dir, 'trusted.pem'), trusted);
  writeFileSync(join(dir, 'leaf.pem'), leaf);
  const args = ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', join(dir, 'trusted.pem')];
  if (untrusted) {
    writeFileSync(join(dir, 'untrusted.pem'), untrusted);
    args.push('-untrusted', join(dir, 'untrusted.pem'));
  }
  const run = spawnSync('openssl', [...args, join(dir, 'leaf.pem')], { encoding: 'utf8' });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** A TLS handshake to a server presenting `chainPem`; resolves to the client's verdict. */
function handshake(chainPem: string, keyPem: string, trusted: string): Promise<string> {
  return new Promise((resolve) => {
    const server = tls.createServer({ cert: chainPem, key: keyPem }, (socket) => socket.end('ok'));
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const client = tls.connect({ host: '127.0.0.1', port, servername: 'meshlite', ca: trusted });
      const done = (verdict: string) => {
        client.destroy();
        server.close();
        resolve(verdict);
      };
      client.once('secureConnect', () => done('verified'));
      client.once('error', (err) => done(`${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`));
    });
  });
}

test('self-signed old root: old-only and new-only clients both verify a new leaf served with the cross-signed certificate', async () => {
  const old = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN });
  const next = await newRootSigner();
  const cross = crossSign(next.root, old.signer, new Date());
  if (!cross.ok) throw new Error(cross.error);
  const c = cross.value;
  assert.is(c.node.subject, next.root.node.subject, "the new root's subject");
  assert.ok(c.node.publicKey.equals(next.root.node.publicKey), "the new root's key");
  assert.is(c.node.issuer, old.signer.root.node.subject, 'issued by the old root');
  assert.ok(c.node.verify(old.signer.root.node.publicKey), 'signed by the old root');
  assert.ok(c.node.ca, 'a CA certificate');
  assert.ok(c.cert.notAfter <= old.signer.root.cert.notAfter && c.cert.notAfter <= next.root.cert.notAfter, 'lifetime within both');
  assert.ok(c.cert.notBefore >= old.signer.root.cert.notBefore && c.cert.notBefore >= next.root.cert.notBefore);

  const { leafPem, keyPem } = await serverLeaf(next);
  const tail = crossChainTail(next, c, old.signer);
  assert.is(tail, c.pem, 'a root that signs itself adds no intermediates');
  const oldRoot = old.signer.root.pem;
  const newRoot = next.root.pem;
  const viaCross = verify(oldRoot, tail, leafPem);
  assert.ok(viaCross.ok, `openssl verify -CAfile old -untrusted cross leaf: ${viaCross.output}`);
  const direct = verify(newRoot, '', leafPem);
  assert.ok(direct.ok, `openssl verify -CAfile new leaf: ${direct.output}`);
  const newWithCross = verify(newRoot, tail, leafPem);
  assert.ok(newWithCross.ok, `a new-root client given the cross-signed certificate too: ${newWithCross.output}`);
  const withoutCross = verify(oldRoot, '', leafPem);
  assert.not.ok(withoutCross.ok, 'without the cross-signed certificate an old-root client cannot verify the new leaf');

  const chain = leafPem + tail;
  assert.is(await handshake(chain, keyPem, oldRoot), 'verified', 'TLS: a client trusting only the old root');
  assert.is(await handshake(chain, keyPem, newRoot), 'verified', 'TLS: a client trusting only the new root');
  const refused = await handshake(leafPem, keyPem, oldRoot);
  assert.match(refused, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', `TLS without the cross-signed certificate fails: ${refused}`);
});

test('plugged-in old CA with an intermediate: the cross-signed certificate comes from the intermediate, which follows it in the chain', async () => {
  const root = await makeRoot();
  const intermediate = await makeIntermediate(root, { name: 'old intermediate' });
  const dir = writeCaCerts(tempDir(), cacertsFor(intermediate, [], root));
  const old = await CertificateAuthority.loadOrCreate({ pluggedInDir: dir, trustDomain: TRUST_DOMAIN });
  const next = await newRootSigner();
  const cross = crossSign(next.root, old.signer, new Date());
  if (!cross.ok) throw new Error(cross.error);
  assert.is(cross.value.node.issuer, old.signer.certificate.node.subject);
  const tail = crossChainTail(next, cross.value, old.signer);
  assert.is(splitChain(tail).length, 2, 'cross-signed certificate, then the old intermediate');
  const { leafPem, keyPem } = await serverLeaf(next);
  const viaCross = verify(root.certPem, tail, leafPem);
  assert.ok(viaCross.ok, viaCross.output);
  assert.is(await handshake(leafPem + tail, keyPem, root.certPem), 'verified');
  assert.is(await handshake(leafPem + tail, keyPem, next.root.pem), 'verified');
});

test('no cross-signing when the two CAs are never valid together after now', async () => {
  const old = await CertificateAuthority.loadOrCreate({ stateDir: tempDir(), trustDomain: TRUST_DOMAIN });
  const longAgo = new Date(Date.now() - 4000 * DAY * 1000);
  const made = await createRootPem(TRUST_DOMAIN, 10, 'ecdsa-p256', longAgo, 'expired next root');
  const signer = rootSigner(made.certPem, made.keyPem, 'c', 'k', longAgo);
  if (!signer.ok) throw new Error(signer.error);
  const cross = crossSign(signer.value.root, old.signer, new Date());
  assert.not.ok(cross.ok);
  assert.match(!cross.ok ? cross.error : '', 'never valid together');
});

test.run();
