import { X509Certificate } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CredentialStore } from '../../src/credentials/credential-store.js';
import { CredentialWatcher } from '../../src/credentials/credential-watcher.js';
import { issue, pause, removeTempDirs, tempDir, waitFor, writeFolder, type TestCert } from './credential-fixtures.js';
import { after } from '../support/hooks.js';

after(test, removeTempDirs);

const serial = (pem: string | undefined) => (pem ? new X509Certificate(pem).serialNumber.toLowerCase() : undefined);

function watched(dir: string) {
  const store = new CredentialStore(dir);
  const changes: string[][] = [];
  const watcher = new CredentialWatcher({ store, debounceMs: 50, resyncMs: 0, onChange: (names) => changes.push(names) });
  watcher.start();
  const servedSerial = (name: string) => {
    const found = store.lookup(`kubernetes://${name}`);
    return found.ok && found.kind === 'certificate' ? serial(found.certChainPem) : undefined;
  };
  return { store, watcher, changes, servedSerial };
}

/** Files written next to the target and renamed into place, as editors and `kubectl cp` tools do. */
function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** A Kubernetes-style mounted secret: timestamped dir, `..data` link to it, key links through `..data`. */
function k8sVolume(root: string, version: string, files: Record<string, string>): void {
  const dated = join(root, `..${version}`);
  mkdirSync(dated, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dated, name), text);
}

function swapData(root: string, version: string, oldVersion?: string): void {
  symlinkSync(`..${version}`, join(root, '..data_tmp'));
  renameSync(join(root, '..data_tmp'), join(root, '..data'));
  if (oldVersion) rmSync(join(root, `..${oldVersion}`), { recursive: true, force: true });
}

const tlsFiles = (c: TestCert) => ({ 'tls.crt': c.certChainPem, 'tls.key': c.privateKeyPem, 'ca.crt': c.caPem });

test('adding, rotating and removing a secret folder each reload with the new content', async () => {
  const dir = tempDir();
  const { store, watcher, changes, servedSerial } = watched(dir);
  try {
    writeFolder(dir, 'stable', await issue('stable.example.com'));
    await waitFor(() => servedSerial('stable') !== undefined, 'first secret');
    const first = await issue('db.example.com');
    writeFolder(dir, 'db-cred', first);
    await waitFor(() => servedSerial('db-cred') === serial(first.certChainPem), 'added secret served');
    assert.ok(changes.flat().includes('db-cred'));
    changes.length = 0;

    const second = await issue('db.example.com');
    replaceFile(join(dir, 'db-cred', 'tls.key'), second.privateKeyPem);
    replaceFile(join(dir, 'db-cred', 'tls.crt'), second.certChainPem);
    await waitFor(() => servedSerial('db-cred') === serial(second.certChainPem), 'rotated secret served');
    assert.ok(
      changes.every((names) => names.length === 1 && names[0] === 'db-cred'),
      `only db-cred reported: ${JSON.stringify(changes)}`,
    );
    changes.length = 0;

    // A file that is no secret changes nothing.
    writeFileSync(join(dir, 'README'), 'notes');
    await pause(300);
    assert.equal(changes, [], 'no change reported');

    rmSync(join(dir, 'db-cred'), { recursive: true });
    await waitFor(() => !store.set.credentials.has('db-cred'), 'removed secret gone');
    assert.equal(changes.flat(), ['db-cred']);
    assert.ok(store.set.credentials.has('stable'));
  } finally {
    watcher.stop();
  }
});

test('an atomic ..data symlink swap inside a mounted secret reloads it', async () => {
  const dir = tempDir();
  const v1 = await issue('k8s.example.com');
  const v2 = await issue('k8s.example.com');
  const mount = join(dir, 'k8s-cred');
  k8sVolume(mount, '2024_01_01', tlsFiles(v1));
  swapData(mount, '2024_01_01');
  for (const key of ['tls.crt', 'tls.key', 'ca.crt']) symlinkSync(`..data/${key}`, join(mount, key));
  const { watcher, changes, servedSerial } = watched(dir);
  try {
    assert.is(servedSerial('k8s-cred'), serial(v1.certChainPem));
    k8sVolume(mount, '2024_02_01', tlsFiles(v2));
    await pause(150);
    assert.equal(changes, [], 'files written next to the live ones change nothing yet');
    swapData(mount, '2024_02_01', '2024_01_01');
    await waitFor(() => servedSerial('k8s-cred') === serial(v2.certChainPem), 'swapped secret served');
    assert.equal(changes.flat(), ['k8s-cred']);
  } finally {
    watcher.stop();
  }
});

test('an atomic ..data swap of a whole mounted secrets directory reloads every secret in it', async () => {
  const dir = tempDir();
  const [a1, a2, b1] = await Promise.all([issue('a.example.com'), issue('a.example.com'), issue('b.example.com')]);
  // <dir>/..<version>/<name>/tls.*, <dir>/..data -> ..<version>, <dir>/<name> -> ..data/<name>
  const put = (version: string, files: Record<string, TestCert>) => {
    for (const [name, cert] of Object.entries(files)) {
      const folder = join(dir, `..${version}`, name);
      mkdirSync(folder, { recursive: true });
      for (const [key, text] of Object.entries(tlsFiles(cert))) writeFileSync(join(folder, key), text);
    }
  };
  put('v1', { a: a1, b: b1 });
  swapData(dir, 'v1');
  symlinkSync('..data/a', join(dir, 'a'));
  symlinkSync('..data/b', join(dir, 'b'));
  const { watcher, changes, servedSerial } = watched(dir);
  try {
    assert.equal([servedSerial('a'), servedSerial('b')], [serial(a1.certChainPem), serial(b1.certChainPem)]);
    put('v2', { a: a2, b: b1 });
    swapData(dir, 'v2', 'v1');
    await waitFor(() => servedSerial('a') === serial(a2.certChainPem), 'swapped directory served');
    assert.equal(servedSerial('b'), serial(b1.certChainPem));
    assert.equal(changes.flat(), ['a'], 'b has the same content: not reported');
  } finally {
    watcher.stop();
  }
});

test('a secrets directory created after start is picked up', async () => {
  const parent = tempDir();
  const dir = join(parent, 'secrets');
  const { store, watcher, servedSerial } = watched(dir);
  try {
    assert.equal(store.set.directoryErrors.length, 1);
    const cert = await issue('late.example.com');
    mkdirSync(dir);
    writeFolder(dir, 'late', cert);
    await waitFor(() => servedSerial('late') === serial(cert.certChainPem), 'late directory read');
    assert.equal(store.set.directoryErrors, []);
  } finally {
    watcher.stop();
  }
});

test.run();
