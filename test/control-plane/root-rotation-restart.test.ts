// A root rotation survives restarts of meshlite: each restart resumes the
// phase it was in with the same new root and the ledger it kept, and a
// restart after it finished loads the new root (self-signed CA) or the next
// CA directory (plugged-in CA, even when started with the old --ca-dir), and
// still serves the cross-signed certificate.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type MeshliteOptions, type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { caClient, createCertificate, signed } from '../ca-service/ca-client.js';
import { cacertsFor, makeIntermediate, makeRoot, writeCaCerts } from '../ca/ca-fixtures.js';
import { csrFor, p256 } from '../support/csr.js';
import { after } from '../support/hooks.js';
import { EXAMPLES_DIR } from '../support/paths.js';
import { AckingSecrets, adsHandshake, certificatesOf, fingerprintsOf, until } from './root-rotation-support.js';

const dirs: string[] = [];
const open: { m?: RunningMeshlite; clients: grpc.Client[] } = { clients: [] };
after(test, async () => {
  for (const c of open.clients) c.close();
  await open.m?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function world(): { dir: string; stateDir: string; configDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-root-restart-'));
  dirs.push(dir);
  const configDir = join(dir, 'config');
  mkdirSync(configDir);
  for (const f of readdirSync(join(EXAMPLES_DIR, 's1-auto-mtls')))
    writeFileSync(join(configDir, f), readFileSync(join(EXAMPLES_DIR, 's1-auto-mtls', f)));
  return { dir, stateDir: join(dir, 'state'), configDir };
}

/** Starts meshlite on the world's directories; its log lines are collected in `lines`. */
async function boot(w: ReturnType<typeof world>, lines: string[], options: Partial<MeshliteOptions> = {}): Promise<RunningMeshlite> {
  open.m = await startMeshlite({
    configPaths: [w.configDir],
    stateDir: w.stateDir,
    adsAddress: '127.0.0.1:0',
    adminAddress: '127.0.0.1:0',
    insecure: false,
    settleMs: 0,
    logger: pino({ level: 'info' }, { write: (line: string) => lines.push(line) }),
    ...options,
  });
  return open.m;
}

async function stop(m: RunningMeshlite): Promise<void> {
  for (const c of open.clients.splice(0)) c.close();
  await m.stop();
  open.m = undefined;
}

/** A CreateCertificate chain for `proxy` (token), as certificates: leaf first. */
async function chainFor(m: RunningMeshlite, proxy: string) {
  const client = caClient(m);
  open.clients.push(client);
  const r = signed(await createCertificate(client, { csr: csrFor(p256()), token: await m.tokens!.issue(proxy) }));
  return r.chain.flatMap(certificatesOf);
}

const phaseOf = (m: RunningMeshlite) => (m.rootRotation.status() as { phase: string }).phase;
const resumedIn = (lines: string[]) =>
  lines.map((l) => JSON.parse(l)).find((l: { msg: string }) => l.msg === 'CA root rotation resumed')?.phase as string | undefined;
const stateOf = (stateDir: string) => JSON.parse(readFileSync(join(stateDir, 'ca', 'rotation', 'state.json'), 'utf8'));

test('self-signed CA: restarts resume trust-both and signing-new with the same new root; after done the new root is stored', async () => {
  const w = world();
  const ttl = { certTtlSeconds: 12 };
  let m = await boot(w, [], ttl);
  const oldRoot = m.ca.rootCertPem;
  const [oldFp] = fingerprintsOf(oldRoot);
  const lagging = await AckingSecrets.open(m, 'sleep.bar', oldRoot, 1);
  open.clients.push(lagging.client);
  await until('the proxy accepted its first secrets', () => lagging.responses > 0);
  assert.ok((await m.rootRotation.start({ phaseTimeoutMs: 120_000 })).ok);
  await until('the lagging proxy was sent both roots', () => fingerprintsOf(lagging.trustedPem).length === 2);
  const newFp = fingerprintsOf(lagging.trustedPem)[1]!;
  // Valid 12 s: it holds signing-new until it expires.
  const oldLeaf = (await chainFor(m, 'httpbin.foo'))[0]!;
  assert.ok(oldLeaf.verify(certificatesOf(oldRoot)[0]!.publicKey), 'issued under the old root during trust-both');
  await stop(m);
  assert.is(stateOf(w.stateDir).phase, 'trust-both');

  let lines: string[] = [];
  m = await boot(w, lines, ttl);
  assert.is(resumedIn(lines), 'trust-both', 'the restart resumed trust-both');
  // No proxy is connected now: signing moves to the new root, the same one as before the restart.
  await until('signing-new', () => phaseOf(m) === 'signing-new');
  assert.equal(fingerprintsOf(m.ca.rootCertPem), [newFp, oldFp]);
  await stop(m);

  lines = [];
  m = await boot(w, lines, ttl);
  assert.is(resumedIn(lines), 'signing-new');
  assert.is(phaseOf(m), 'signing-new', 'the old-root certificate issued before the restarts is still live (the ledger kept it)');
  const status = m.rootRotation.status() as Record<string, any>;
  // The CreateCertificate one, and sleep.bar's direct-mode one (its proxy is gone: nothing supersedes it).
  const live = status.oldSigned.certificates.map((c: { holder: string; serial: string }) => `${c.holder} ${c.serial}`).sort();
  assert.equal(live, [`httpbin.foo ${oldLeaf.serialNumber.toLowerCase()}`, live[1]]);
  assert.match(live[1], /^spiffe:\/\/cluster.local\/ns\/bar\/sa\/sleep /);
  assert.is(status.unknownCertificatesUntil, undefined, 'clean stops: the ledger is complete');
  assert.is(fingerprintsOf((await chainFor(m, 'httpbin.foo')).at(-1)!.toString())[0], newFp, 'the new root signs after the restart');
  assert.is((await adsHandshake(m.adsPort, oldRoot)).verdict, 'verified', 'cross-signed chain served after the restart');
  await until('done once the old certificate expired', () => phaseOf(m) === 'done', 20_000);
  await stop(m);

  lines = [];
  m = await boot(w, lines, ttl);
  assert.is(resumedIn(lines), undefined);
  assert.is(phaseOf(m), 'done');
  assert.equal(fingerprintsOf(m.ca.rootCertPem), [newFp], 'the stored root is the new root');
  assert.is(m.ca.info.directory, join(w.stateDir, 'ca'));
  assert.is((await adsHandshake(m.adsPort, oldRoot)).verdict, 'verified', 'an old-root client still verifies meshlite');
  assert.is((await adsHandshake(m.adsPort, certificatesOf(m.ca.rootCertPem)[0]!.toString())).verdict, 'verified');
  await stop(m);
});

test('plugged-in CA: --new-ca-dir is required; signing moves to the next directory, which a restart with the old --ca-dir keeps', async () => {
  const w = world();
  const [root1, root2] = [await makeRoot(), await makeRoot()];
  const [int1, int2] = [
    await makeIntermediate(root1, { name: 'intermediate one' }),
    await makeIntermediate(root2, { name: 'intermediate two' }),
  ];
  const caDir = (name: string) => {
    mkdirSync(join(w.dir, name));
    return join(w.dir, name);
  };
  const oldDir = writeCaCerts(caDir('ca-one'), cacertsFor(int1, [], root1));
  const newDir = writeCaCerts(caDir('ca-two'), cacertsFor(int2, [], root2));
  const lines: string[] = [];
  let m = await boot(w, lines, { caDir: oldDir, certTtlSeconds: 3 });
  const refused = await m.rootRotation.start({});
  assert.equal(refused.ok ? 'started' : [refused.httpStatus, refused.error.includes('--new-ca-dir')], [400, true]);
  assert.ok((await m.rootRotation.start({ newCaDir: newDir })).ok);
  await until('signing-new', () => phaseOf(m) === 'signing-new');
  const chain = await chainFor(m, 'httpbin.foo');
  assert.equal(
    chain.map((c) => c.subject?.split('\n').pop()),
    [undefined, 'CN=intermediate two', 'CN=meshlite root CA'],
  );
  assert.is(chain[2]!.fingerprint256, fingerprintsOf(root2.certPem)[0]);
  // The phase reads signing-new a moment before the ADS certificate of the new root is served.
  await until('the ADS certificate of the new root', async () => (await adsHandshake(m.adsPort, root2.certPem)).verdict === 'verified');
  assert.is((await adsHandshake(m.adsPort, root1.certPem)).verdict, 'verified', 'old root: leaf -> int two -> cross -> int one');
  await until('done', () => phaseOf(m) === 'done', 15_000);
  await stop(m);

  const again: string[] = [];
  m = await boot(w, again, { caDir: oldDir, certTtlSeconds: 3 });
  assert.ok(
    again.some((l) => l.includes(`start serve with --ca-dir ${newDir}`)),
    'warned to switch --ca-dir',
  );
  assert.is(m.ca.info.directory, newDir);
  assert.equal(fingerprintsOf(m.ca.rootCertPem), fingerprintsOf(root2.certPem));
  assert.is((await adsHandshake(m.adsPort, root1.certPem)).verdict, 'verified', 'cross-signed chain still served');
  await stop(m);
});

test.run();
