import { createPrivateKey, X509Certificate } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildAdminServer } from '../../src/admin/admin-server.js';
import { Metrics } from '../../src/admin/metrics.js';
import { SnapshotCache } from '../../src/cache/snapshot-cache.js';
import type { CertificateAuthority } from '../../src/ca/certificate-authority.js';
import { ControlPlane } from '../../src/control-plane/control-plane.js';
import type { WorkloadCredentialSource } from '../../src/control-plane/workload-credentials.js';
import { registerCredentialMetrics } from '../../src/credentials/credential-metrics.js';
import { credentialReport, type CredentialReport } from '../../src/credentials/credential-report.js';
import { CredentialStore } from '../../src/credentials/credential-store.js';
import { CredentialWatcher } from '../../src/credentials/credential-watcher.js';
import type { AdsServer } from '../../src/server/ads-server.js';
import type { JsonObject } from '../../src/xds/common.js';
import { destinationRule, loadManifests, serviceEntry, workloadEntry } from '../support/fixtures/index.js';
import { issue, keyBody, removeTempDirs, tempDir, waitFor, writeFolder, type TestCert } from './credential-fixtures.js';
import { after } from '../support/hooks.js';

after(test, removeTempDirs);

/** A DestinationRule for db, visible only to clients in its own namespace, presenting this client credential. */
const dbClientTls = (namespace: string, credentialName: string) =>
  destinationRule(`${namespace}/db-tls`, {
    host: 'db.bar.svc.cluster.local',
    exportTo: ['.'],
    trafficPolicy: { tls: { mode: 'MUTUAL', credentialName } },
  });

const mesh = [
  serviceEntry('bar/db'),
  workloadEntry('bar/db', { address: '127.0.2.9', sidecar: false }),
  workloadEntry('foo/sleep', { address: '127.0.1.2' }),
  workloadEntry('baz/client', { address: '127.0.3.2' }),
  dbClientTls('foo', 'db-cred'),
  dbClientTls('baz', 'other-cred'),
];

const workloadCredentials: WorkloadCredentialSource = {
  rootCertPem: () => 'ROOT',
  certificateFor: async ({ namespace, serviceAccount }) => ({
    certChainPem: `CERT-${namespace}/${serviceAccount}`,
    privateKeyPem: 'KEY',
    serialNumber: '1',
    notAfter: new Date(),
  }),
  onRotated: () => {},
};

interface CertificateSecret {
  tls_certificate: { certificate_chain: { inline_string: string }; private_key: { inline_string: string } };
}
interface CaSecret {
  validation_context: { trusted_ca: { inline_string: string } };
}

interface Logged {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  message?: string;
}

async function setUp(secrets: (dir: string) => void | Promise<void>) {
  const dir = tempDir();
  await secrets(dir);
  const logged: Logged[] = [];
  const logger = {
    info: (fields: object, message?: string) => void logged.push({ level: 'info', fields: fields as Record<string, unknown>, message }),
    warn: (fields: object, message?: string) => void logged.push({ level: 'warn', fields: fields as Record<string, unknown>, message }),
    debug() {},
  };
  const store = new CredentialStore(dir);
  const cache = new SnapshotCache();
  const cp = new ControlPlane(cache, workloadCredentials, logger, {}, store);
  const refreshed: string[][] = [];
  const watcher = new CredentialWatcher({
    store,
    debounceMs: 50,
    resyncMs: 0,
    onChange: (names) => void cp.credentialsChanged(names).then((ids) => refreshed.push(ids)),
  });
  watcher.start();
  await cp.applyConfig(loadManifests(mesh), 'start');
  await cp.proxyConnected('sleep.foo');
  await cp.proxyConnected('client.baz');
  const secret = (proxy: string, name: string) => cache.get(proxy)!.secrets.resources.get(name)?.json as JsonObject | undefined;
  const served = (proxy: string, name: string) => {
    const s = secret(proxy, name) as Partial<CertificateSecret> | undefined;
    return s?.tls_certificate
      ? new X509Certificate(s.tls_certificate.certificate_chain.inline_string).serialNumber.toLowerCase()
      : undefined;
  };
  return { dir, cp, cache, store, watcher, logged, refreshed, secret, served };
}

const serialOf = (c: TestCert) => new X509Certificate(c.certChainPem).serialNumber.toLowerCase();
const samePrivateKey = (a: string, b: string) =>
  createPrivateKey(a)
    .export({ type: 'pkcs8', format: 'der' })
    .equals(createPrivateKey(b).export({ type: 'pkcs8', format: 'der' }));

test('a MUTUAL credentialName is served as kubernetes://<name> and -cacert, only to the proxies referencing it', async () => {
  const db = await issue('db.example.com');
  const other = await issue('other.example.com', { ca: 'other' });
  const setup = await setUp((dir) => {
    writeFolder(dir, 'db-cred', db, 'tls');
    writeFolder(dir, 'other-cred', other, 'generic');
  });
  try {
    const cert = setup.secret('sleep.foo', 'kubernetes://db-cred') as CertificateSecret | undefined;
    assert.ok(cert, 'certificate served');
    assert.is(new X509Certificate(cert!.tls_certificate.certificate_chain.inline_string).serialNumber.toLowerCase(), serialOf(db));
    assert.ok(samePrivateKey(cert!.tls_certificate.private_key.inline_string, db.privateKeyPem), 'the key of the secret');
    const ca = setup.secret('sleep.foo', 'kubernetes://db-cred-cacert') as CaSecret | undefined;
    assert.is(
      new X509Certificate(ca!.validation_context.trusted_ca.inline_string).fingerprint256,
      new X509Certificate(db.caPem).fingerprint256,
    );
    const names = (proxy: string) =>
      [...setup.cache.get(proxy)!.secrets.resources.keys()].filter((n) => n.startsWith('kubernetes://')).sort();
    assert.equal(names('sleep.foo'), ['kubernetes://db-cred', 'kubernetes://db-cred-cacert']);
    assert.equal(names('client.baz'), ['kubernetes://other-cred', 'kubernetes://other-cred-cacert']);
    assert.equal(setup.cp.missingCredentials(), []);
    assert.equal(
      setup.logged.filter((l) => l.level === 'warn'),
      [],
    );
  } finally {
    setup.watcher.stop();
  }
});

test('a missing credential is not served, and is logged, counted and listed; adding it serves it', async () => {
  const other = await issue('other.example.com');
  const setup = await setUp((dir) => void writeFolder(dir, 'other-cred', other));
  try {
    assert.is(setup.secret('sleep.foo', 'kubernetes://db-cred'), undefined);
    assert.is(setup.secret('sleep.foo', 'kubernetes://db-cred-cacert'), undefined);
    assert.equal(setup.cp.missingCredentials(), ['kubernetes://db-cred', 'kubernetes://db-cred-cacert']);
    const warned = setup.logged.filter((l) => l.level === 'warn');
    assert.equal(
      warned.map((l) => [l.fields.proxy, l.fields.credential]),
      [
        ['sleep.foo', 'kubernetes://db-cred'],
        ['sleep.foo', 'kubernetes://db-cred-cacert'],
      ],
    );
    assert.match(String(warned[0]!.fields.reason), `no secret "db-cred" in ${setup.dir}`);
    const registry = new Registry();
    registerCredentialMetrics(registry, () => setup.cp.missingCredentials());
    assert.match(await registry.metrics(), /meshlite_credentials_missing 2\n/);
    const report = credentialReport(setup.store.set, setup.cp.credentialReferences());
    assert.equal(
      report.missing.map((m) => [m.secretName, m.proxies]),
      [
        ['kubernetes://db-cred', ['sleep.foo']],
        ['kubernetes://db-cred-cacert', ['sleep.foo']],
      ],
    );
    assert.equal(
      report.credentials.map((c) => [c.name, c.referencedBy]),
      [['other-cred', { 'kubernetes://other-cred': ['client.baz'], 'kubernetes://other-cred-cacert': ['client.baz'] }]],
    );

    const db = await issue('db.example.com');
    const clientBefore = setup.cache.get('client.baz');
    writeFolder(setup.dir, 'db-cred', db);
    await waitFor(() => setup.served('sleep.foo', 'kubernetes://db-cred') === serialOf(db), 'added credential served');
    await waitFor(() => setup.secret('sleep.foo', 'kubernetes://db-cred-cacert') !== undefined, 'its CA served');
    assert.equal(setup.cp.missingCredentials(), []);
    assert.match(await registry.metrics(), /meshlite_credentials_missing 0\n/);
    assert.is(setup.cache.get('client.baz'), clientBefore, 'a proxy not referencing it is not rebuilt');
    assert.ok(
      setup.logged.some(
        (l) => l.level === 'info' && l.fields.credential === 'kubernetes://db-cred' && l.message?.includes('available again'),
      ),
    );
  } finally {
    setup.watcher.stop();
  }
});

test('rotating the files updates the snapshot of the proxy using it and no other; an invalid rotation is withdrawn', async () => {
  const [v1, v2, v3, other] = await Promise.all([
    issue('db.example.com'),
    issue('db.example.com'),
    issue('db.example.com'),
    issue('other.example.com'),
  ]);
  const setup = await setUp((dir) => {
    writeFolder(dir, 'db-cred', v1);
    writeFolder(dir, 'other-cred', other);
  });
  try {
    assert.is(setup.served('sleep.foo', 'kubernetes://db-cred'), serialOf(v1));
    const clientBefore = setup.cache.get('client.baz');
    const replace = (file: string, text: string) => {
      writeFileSync(join(setup.dir, 'db-cred', `${file}.tmp`), text);
      renameSync(join(setup.dir, 'db-cred', `${file}.tmp`), join(setup.dir, 'db-cred', file));
    };
    replace('tls.key', v2.privateKeyPem);
    replace('tls.crt', v2.certChainPem);
    await waitFor(() => setup.served('sleep.foo', 'kubernetes://db-cred') === serialOf(v2), 'rotated certificate served');
    assert.is(setup.cache.get('client.baz'), clientBefore, 'client.baz untouched');
    assert.ok(
      setup.refreshed.length > 0 && setup.refreshed.every((ids) => ids.length === 1 && ids[0] === 'sleep.foo'),
      JSON.stringify(setup.refreshed),
    );

    // A certificate without its key: withdrawn (fail closed), reported without key bytes.
    replace('tls.crt', v3.certChainPem);
    await waitFor(() => setup.secret('sleep.foo', 'kubernetes://db-cred') === undefined, 'mismatched credential withdrawn');
    assert.equal(setup.cp.missingCredentials(), ['kubernetes://db-cred', 'kubernetes://db-cred-cacert']);
    const warning = setup.logged.find((l) => l.level === 'warn' && l.fields.credential === 'kubernetes://db-cred');
    assert.match(String(warning?.fields.reason), 'private key does not match the certificate');
    assert.not.ok(JSON.stringify(setup.logged).includes(keyBody(v2.privateKeyPem)), 'no key bytes logged');
    replace('tls.key', v3.privateKeyPem);
    await waitFor(() => setup.served('sleep.foo', 'kubernetes://db-cred') === serialOf(v3), 'fixed credential served again');
    assert.is(setup.cache.get('client.baz'), clientBefore, 'client.baz still untouched');
  } finally {
    setup.watcher.stop();
  }
});

test('/debug/credentialz lists credentials and missing references, never key material', async () => {
  const db = await issue('db.example.com');
  const setup = await setUp((dir) => void writeFolder(dir, 'db-cred', db));
  try {
    const ads = { listConnections: () => [], connectedProxies: () => new Set<string>() } as unknown as AdsServer;
    const ca = { info: {}, trustDomain: 'cluster.local' } as unknown as CertificateAuthority;
    const app = buildAdminServer({
      controlPlane: setup.cp,
      ads,
      cache: setup.cache,
      metrics: new Metrics(),
      ca,
      insecure: true,
      credentials: setup.store,
    });
    const res = await app.inject({ method: 'GET', url: '/debug/credentialz' });
    assert.is(res.statusCode, 200);
    assert.not.ok(res.body.includes('PRIVATE KEY'), 'no PEM key');
    assert.not.ok(res.body.includes(keyBody(db.privateKeyPem)), 'no key bytes');
    assert.not.ok(res.body.includes('BEGIN CERTIFICATE'), 'summaries, not PEM');
    const body = res.json() as CredentialReport;
    assert.is(body.directory, setup.dir);
    const entry = body.credentials[0]!;
    assert.equal(
      [entry.name, entry.form, entry.layout, entry.certificate?.subjectAltNames],
      ['db-cred', 'directory', 'tls', ['DNS:db.example.com']],
    );
    assert.is(entry.notAfter, new Date(new X509Certificate(db.certChainPem).validTo).toISOString());
    assert.equal(entry.referencedBy, { 'kubernetes://db-cred': ['sleep.foo'], 'kubernetes://db-cred-cacert': ['sleep.foo'] });
    assert.equal(
      body.missing.map((m) => m.secretName),
      ['kubernetes://other-cred', 'kubernetes://other-cred-cacert'],
    );
    assert.equal(body.missing[0]!.proxies, ['client.baz']);
    const authz = await app.inject({ method: 'GET', url: '/debug/authorizationz?proxy=sleep.foo' });
    assert.is(authz.statusCode, 200);
    assert.equal((authz.json() as Record<string, { authorizationPolicies: unknown[]; enforced: boolean }>)['sleep.foo'], {
      ...(authz.json() as Record<string, object>)['sleep.foo'],
      authorizationPolicies: [],
      enforced: true,
    });
    assert.is((await app.inject({ method: 'GET', url: '/debug/authorizationz?proxy=nobody.nowhere' })).statusCode, 404);
    const dump = await app.inject({ method: 'GET', url: '/debug/config_dump?proxy=sleep.foo' });
    assert.ok(dump.body.includes('kubernetes://db-cred'), 'the credential is in the dump');
    assert.not.ok(dump.body.includes(keyBody(db.privateKeyPem)), 'its key is redacted');
    await app.close();
  } finally {
    setup.watcher.stop();
  }
});

test('without a secrets directory no credential is served, and the reason says so', async () => {
  const cache = new SnapshotCache();
  const warns: Record<string, unknown>[] = [];
  const cp = new ControlPlane(cache, workloadCredentials, {
    info() {},
    debug() {},
    warn: (f: object) => void warns.push(f as Record<string, unknown>),
  });
  await cp.applyConfig(loadManifests(mesh), 'start');
  await cp.proxyConnected('sleep.foo');
  assert.is(cache.get('sleep.foo')!.secrets.resources.has('kubernetes://db-cred'), false);
  assert.match(String(warns[0]?.reason), '--secrets-dir');
  assert.equal(credentialReport(undefined, cp.credentialReferences()).missing.length, 2);
  cp.proxyDisconnected('sleep.foo');
  assert.equal(cp.missingCredentials(), [], 'a disconnected proxy references nothing');
});

test.run();
