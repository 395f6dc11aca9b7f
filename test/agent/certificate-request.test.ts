// What the agent accepts back from CreateCertificate before serving it: the
// chain meshlite's own CA signs (a root CA and a plugged-in intermediate) is
// taken apart into leaf chain and root; a chain for another key, an expired
// leaf, a leaf without one SPIFFE id, a broken or unrooted chain are refused.
import { createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkIssuedChain } from '../../src/agent/certificate-request.js';
import { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { cacertsFor, makeIntermediate, makeRoot, writeCaCerts } from '../ca/ca-fixtures.js';
import { csrFor } from '../support/csr.js';
import { pemCertificates } from '../support/agent/agent-fixtures.js';
import { after, before } from '../support/hooks.js';

const dir = mkdtempSync(join(tmpdir(), 'meshlite-issued-chain-'));
const SLEEP_FOO = { trustDomain: 'cluster.local', namespace: 'foo', serviceAccount: 'sleep' };
let ca: CertificateAuthority;
let other: CertificateAuthority;

before(test, async () => {
  ca = await CertificateAuthority.loadOrCreate({ stateDir: join(dir, 'a'), trustDomain: 'cluster.local' });
  other = await CertificateAuthority.loadOrCreate({ stateDir: join(dir, 'b'), trustDomain: 'cluster.local' });
});
after(test, () => rmSync(dir, { recursive: true, force: true }));

const newKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

async function chainFor(signer: CertificateAuthority, key = newKey()) {
  const issued = await signer.signCsr(csrFor(key), SLEEP_FOO, { ttlSeconds: 600 });
  if (!issued.ok) throw new Error(issued.error);
  return { key, chain: pemCertificates(issued.certificate.certChainPem), serial: issued.certificate.serialNumber };
}

const refusal = (r: ReturnType<typeof checkIssuedChain>) => (r.ok ? 'accepted' : r.error);

test('meshlite`s chain: the leaf and the root apart, its serial, SPIFFE id and validity', async () => {
  const { key, chain, serial } = await chainFor(ca);
  const r = checkIssuedChain(chain, createPublicKey(key), new Date());
  if (!r.ok) throw new Error(r.error);
  assert.is(r.value.certChainPem, chain[0]);
  assert.is(r.value.rootPem, ca.rootCertPem);
  assert.is(r.value.serialNumber, serial);
  assert.is(r.value.spiffeId, 'spiffe://cluster.local/ns/foo/sa/sleep');
  assert.is(r.value.notAfter.getTime(), new Date(new X509Certificate(chain[0]!).validTo).getTime());
});

test('a plugged-in intermediate: the held chain is leaf + intermediate, the root comes last', async () => {
  const root = await makeRoot();
  const intermediate = await makeIntermediate(root);
  const cacerts = join(dir, 'cacerts');
  mkdirSync(cacerts);
  writeCaCerts(cacerts, cacertsFor(intermediate, [], root));
  const plugged = await CertificateAuthority.loadOrCreate({ pluggedInDir: cacerts, trustDomain: 'cluster.local' });
  const { key, chain } = await chainFor(plugged);
  assert.is(chain.length, 3);
  const r = checkIssuedChain(chain, createPublicKey(key), new Date());
  if (!r.ok) throw new Error(r.error);
  assert.is(r.value.certChainPem, chain[0]! + chain[1]!);
  assert.is(r.value.rootPem.trim(), root.certPem.trim());
  const unrooted = checkIssuedChain(chain.slice(0, 2), createPublicKey(key), new Date());
  assert.ok(!unrooted.ok && /not a self-signed CA certificate/.test(unrooted.error), refusal(unrooted));
});

test('refused: another key, expired, no root, a foreign root, garbage, two certificates in one entry', async () => {
  const { key, chain } = await chainFor(ca);
  const pub = createPublicKey(key);
  const now = new Date();
  const cases: [string, ReturnType<typeof checkIssuedChain>, RegExp][] = [
    ['another key', checkIssuedChain(chain, createPublicKey(newKey()), now), /another public key/],
    ['expired', checkIssuedChain(chain, pub, new Date(now.getTime() + 601_000)), /expired at/],
    ['leaf alone', checkIssuedChain(chain.slice(0, 1), pub, now), /expected the leaf and at least its root/],
    ['foreign root', checkIssuedChain([chain[0]!, other.rootCertPem], pub, now), /entry 1 is not signed by entry 2/],
    ['garbage', checkIssuedChain([chain[0]!, 'not a certificate'], pub, now), /no PEM CERTIFICATE block/],
    ['two in one', checkIssuedChain([chain.join(''), chain[1]!], pub, now), /holds 2 certificates/],
    ['empty', checkIssuedChain([], pub, now), /0 certificate/],
  ];
  for (const [what, r, reason] of cases) assert.ok(!r.ok && reason.test(r.error), `${what}: ${refusal(r)}`);
});

test('a leaf with no SPIFFE id (a server certificate) is refused', async () => {
  const issued = await ca.issueServerCertificate(['meshlite'], []);
  if (!issued.ok) throw new Error(issued.error);
  const r = checkIssuedChain(
    pemCertificates(issued.certificate.certChainPem),
    createPublicKey(issued.certificate.privateKeyPem!),
    new Date(),
  );
  assert.ok(!r.ok && /0 URI SAN/.test(r.error), refusal(r));
});

test.run();
