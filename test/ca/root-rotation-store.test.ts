// The root rotation's state directory: each phase is reloaded as it was left,
// a crash in the middle of storing the new root is finished at the next
// start, a damaged state file is one clear error, and the ledger of issued
// certificates tells a clean stop from a crash.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openCertificateAuthority } from '../../src/ca/root-rotation-open.js';
import { after } from '../support/hooks.js';
import { errorOf, identity, removeTempDirs, tempDir, TRUST_DOMAIN } from './ca-fixtures.js';

after(test, removeTempDirs);

const MAX_TTL = 3600;
const open = (stateDir: string) => openCertificateAuthority({ stateDir, trustDomain: TRUST_DOMAIN, maxTtlSeconds: MAX_TTL });
const fingerprints = (pem: string) => [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)].map((m) => m[0]);
const statePath = (stateDir: string) => join(stateDir, 'ca', 'rotation', 'state.json');
const readState = (stateDir: string) => JSON.parse(readFileSync(statePath(stateDir), 'utf8'));

test('each phase is reloaded as it was left: bundle order, signer, and at the end the stored root', async () => {
  const stateDir = tempDir();
  let { ca, rotation } = await open(stateDir);
  const [oldRoot] = fingerprints(ca.rootCertPem);
  const begun = await rotation.begin({ phaseTimeoutMs: 60_000 });
  assert.ok(begun.ok);
  const newRoot = rotation.newRootPem!;
  assert.equal(fingerprints(ca.rootCertPem), [oldRoot, newRoot]);
  await rotation.close();

  ({ ca, rotation } = await open(stateDir));
  assert.is(rotation.phase, 'trust-both');
  assert.equal(fingerprints(ca.rootCertPem), [oldRoot, newRoot], 'trust-both: old first, the same new root');
  assert.is(ca.signer.root.pem, oldRoot, 'the old root still signs');
  await rotation.advance('signing-new', 'test');
  await rotation.close();

  ({ ca, rotation } = await open(stateDir));
  assert.is(rotation.phase, 'signing-new');
  assert.equal(fingerprints(ca.rootCertPem), [newRoot, oldRoot]);
  const issued = await ca.issueWorkloadCertificate(identity('foo', 'sleep'));
  assert.ok(issued.ok && issued.certificate.certChainPem.endsWith(newRoot), 'the new root signs');
  await rotation.advance('done', 'test');
  assert.equal(fingerprints(readFileSync(join(stateDir, 'ca', 'root-cert.pem'), 'utf8')), [newRoot], 'stored as the root');
  assert.not.ok(existsSync(join(stateDir, 'ca', 'rotation', 'new-root-key.pem')), "the rotation's copy of the key is gone");
  await rotation.close();

  ({ ca, rotation } = await open(stateDir));
  assert.is(rotation.phase, 'done');
  assert.equal(fingerprints(ca.rootCertPem), [newRoot]);
  assert.ok(rotation.servingChainTail(new Date()), 'the cross-signed certificate is still served');
  await rotation.close();
});

test('a crash between storing the new root and recording it: the next start stores it again', async () => {
  const stateDir = tempDir();
  let { ca, rotation } = await open(stateDir);
  assert.ok((await rotation.begin({ phaseTimeoutMs: 0 })).ok);
  const newRoot = rotation.newRootPem!;
  await rotation.advance('signing-new', 'test');
  await rotation.close();
  // As if the process died after recording "done" but before writing the stored root.
  writeFileSync(statePath(stateDir), JSON.stringify({ ...readState(stateDir), phase: 'done', completedAt: new Date().toISOString() }));
  ({ ca, rotation } = await open(stateDir));
  assert.equal(fingerprints(ca.rootCertPem), [newRoot]);
  assert.is(ca.signer.root.pem, newRoot);
  assert.equal(fingerprints(readFileSync(join(stateDir, 'ca', 'root-cert.pem'), 'utf8')), [newRoot]);
  assert.is(readState(stateDir).promoted, true);
  await rotation.close();
});

test('a damaged state file, or one from another CA, stops the start with one line saying what to do', async () => {
  const stateDir = tempDir();
  const { rotation } = await open(stateDir);
  assert.ok((await rotation.begin({ phaseTimeoutMs: 0 })).ok);
  await rotation.close();
  const good = readFileSync(statePath(stateDir), 'utf8');
  writeFileSync(statePath(stateDir), '{"phase": "trust-');
  assert.match(await errorOf(open(stateDir)), `${statePath(stateDir)} is not JSON; restore it or remove`);
  writeFileSync(statePath(stateDir), JSON.stringify({ ...JSON.parse(good), phase: 'sideways', crossChainPem: 7 }));
  assert.match(await errorOf(open(stateDir)), 'missing or invalid phase, crossChainPem');
  writeFileSync(statePath(stateDir), JSON.stringify({ ...JSON.parse(good), oldRootFingerprint: 'AA:BB' }));
  assert.match(await errorOf(open(stateDir)), 'started from root AA:BB, but this CA');
});

test('ledger: a fresh root has no unknown certificates; a clean stop keeps it complete; a crash makes it blind for one lifetime', async () => {
  const stateDir = tempDir();
  let { rotation } = await open(stateDir);
  assert.is(rotation.ledger.blindUntil, 0, 'nothing was issued before this root existed');
  await rotation.ca.issueWorkloadCertificate(identity('foo', 'sleep'));
  await rotation.close();
  ({ rotation } = await open(stateDir));
  assert.is(rotation.ledger.blindUntil, 0, 'clean stop');
  assert.is(rotation.ledger.size, 1, 'the certificate issued before the restart is known');
  // No close: a crash. The next start cannot know what was issued after the last write.
  const crashedAt = Date.now();
  ({ rotation } = await open(stateDir));
  assert.ok(rotation.ledger.blindUntil >= crashedAt + MAX_TTL * 1000, `blind until ${rotation.ledger.blindUntil}`);
  await rotation.close();
  writeFileSync(join(stateDir, 'ca', 'issued-ledger.json'), 'garbage');
  ({ rotation } = await open(stateDir));
  assert.ok(rotation.ledger.blindUntil > Date.now(), 'an unreadable ledger is treated like a crash');
  await rotation.close();
});

test.run();
