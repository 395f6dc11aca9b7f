// The Secrets a proxy is served, with the memo the control plane keeps: the
// same material gives the same objects (so their encodings are found by
// identity), and any change of material gives new ones with the new content.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { proxySecrets, SecretMemo } from '../../src/control-plane/proxy-secrets.js';
import type { WorkloadKeyPair } from '../../src/control-plane/workload-credentials.js';
import { ROOT_CA, type SecretRef, WORKLOAD_CERT } from '../../src/model/secret-refs.js';

const REFS: SecretRef[] = [WORKLOAD_CERT, ROOT_CA];
const NO_CREDENTIALS = new Map();

const pair = (serial: string): WorkloadKeyPair => ({
  certChainPem: `chain ${serial}`,
  privateKeyPem: `key ${serial}`,
  serialNumber: serial,
  notAfter: new Date(0),
});

test('the same material gives the same Secret objects and list; a proxy of another identity gets its own', () => {
  const memo = new SecretMemo();
  const a1 = proxySecrets(REFS, pair('1'), 'root A', NO_CREDENTIALS, { memo, identity: 'ns/a' });
  const a2 = proxySecrets(REFS, { ...pair('1') }, 'root A', NO_CREDENTIALS, { memo, identity: 'ns/a' });
  assert.is(a2.secrets, a1.secrets, 'the same list');
  assert.equal(
    a1.secrets.map((s) => s.name),
    ['default', 'ROOTCA'],
  );
  const b = proxySecrets(REFS, pair('2'), 'root A', NO_CREDENTIALS, { memo, identity: 'ns/b' });
  assert.is.not(b.secrets[0], a1.secrets[0]);
  assert.is(b.secrets[1], a1.secrets[1], 'one ROOTCA object for every proxy');
  assert.is(b.secrets[0]!.tls_certificate?.certificate_chain?.inline_string, 'chain 2');
  // a's entries survived b's.
  assert.is(proxySecrets(REFS, pair('1'), 'root A', NO_CREDENTIALS, { memo, identity: 'ns/a' }).secrets, a1.secrets);
});

test('a renewed certificate or a new root gives new objects with the new material', () => {
  const memo = new SecretMemo();
  const before = proxySecrets(REFS, pair('1'), 'root A', NO_CREDENTIALS, { memo, identity: 'ns/a' });
  const renewed = proxySecrets(REFS, pair('3'), 'root A', NO_CREDENTIALS, { memo, identity: 'ns/a' });
  assert.is.not(renewed.secrets, before.secrets);
  assert.is.not(renewed.secrets[0], before.secrets[0]);
  assert.is(renewed.secrets[0]!.tls_certificate?.private_key?.inline_string, 'key 3');
  assert.is(renewed.secrets[1], before.secrets[1]);
  const rerooted = proxySecrets(REFS, pair('3'), 'root B', NO_CREDENTIALS, { memo, identity: 'ns/a' });
  assert.is(rerooted.secrets[0], renewed.secrets[0]);
  assert.is(rerooted.secrets[1]!.validation_context?.trusted_ca?.inline_string, 'root B');
});

test('with and without the memo, the secrets and the unserved names are equal', () => {
  const memo = new SecretMemo(2);
  for (const [p, root] of [
    [pair('1'), 'root A'],
    [undefined, 'root A'],
    [pair('1'), ''],
    [pair('4'), 'root C'],
  ] as const) {
    for (const identity of ['ns/a', 'ns/b', 'ns/c']) {
      const plain = proxySecrets(REFS, p, root, NO_CREDENTIALS);
      const memoized = proxySecrets(REFS, p, root, NO_CREDENTIALS, { memo, identity });
      assert.equal(memoized.secrets, plain.secrets);
      assert.equal([...memoized.unserved], [...plain.unserved]);
    }
  }
});

test.run();
