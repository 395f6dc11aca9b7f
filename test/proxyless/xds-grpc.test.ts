// End to end, all real processes: `meshlite serve --insecure` on
// examples/proxyless-grpc, Greeter servers on their WorkloadEntry addresses, and
// a proxyless client (@grpc/grpc-js-xds, bootstrap from `meshlite bootstrap
// --grpc`) calling `xds:///greeter.bar:50051`. A second WorkloadEntry written
// into the watched config must spread the same client's calls over both servers.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mapAddresses, prepareConfigDir } from '../support/e2e/config-dir.js';
import { APPS, type Child, CLI, calls, callsAfterFirstSuccess, eventually, startChild } from './children.js';
import { after, before } from '../support/hooks.js';

const work = mkdtempSync(join(tmpdir(), 'meshlite-proxyless-'));
const configDir = join(work, 'config');
const bootstrapFile = join(work, 'greeter-client.foo.json');
const children: Child[] = [];
let admin = '';
// This process's loopback address block (so a concurrent run's greeters never take these addresses).
let block = 0;
let client: Child;

function greeter(name: string, address: string): Child {
  const child = startChild(name, [join(APPS, 'greeter-server.js'), address, '50051', name]);
  children.push(child);
  return child;
}

function proxylessClient(name: string, target: string, maxCalls = 0): Child {
  const child = startChild(name, [join(APPS, 'greeter-client.js'), target, '50', '3000', String(maxCalls)], {
    GRPC_XDS_BOOTSTRAP: bootstrapFile,
  });
  children.push(child);
  return child;
}

async function getJson(path: string): Promise<any> {
  const res = await fetch(`http://${admin}${path}`);
  return res.json();
}

async function startAll(): Promise<void> {
  // Copies the example into configDir; the greeters listen on port 50051 of their addresses.
  block = (await prepareConfigDir(work, 'proxyless-grpc', [50051])).block;
  const g1 = greeter('greeter-1', mapAddresses('127.0.60.1', block));
  const g2 = greeter('greeter-2', mapAddresses('127.0.60.2', block)); // running, but not in the config until the second test
  const serve = startChild('meshlite', [
    CLI,
    'serve',
    '-c',
    configDir,
    '--insecure',
    '--ads-address',
    '127.0.0.1:0',
    '--admin-address',
    '127.0.0.1:0',
    '--state-dir',
    join(work, 'state'),
    '--debounce',
    '50',
  ]);
  children.push(serve);
  const serving = JSON.parse(await serve.waitForLine((l) => l.includes('"meshlite serving'), 15_000)) as { ads: string; admin: string };
  admin = serving.admin;
  await g1.waitForLine((l) => l.includes('listening'), 10_000);
  await g2.waitForLine((l) => l.includes('listening'), 10_000);
  const boot = spawnSync(
    process.execPath,
    [
      CLI,
      'bootstrap',
      '-c',
      configDir,
      '--grpc',
      '--insecure',
      '--proxy',
      'greeter-client.foo',
      '--ads-address',
      serving.ads,
      '-o',
      bootstrapFile,
    ],
    { encoding: 'utf8' },
  );
  assert.is(boot.status, 0, boot.stderr);
}

// The hooks wrapper prints why setup failed.
before(test, startAll);

after(test, async () => {
  await Promise.all(children.map((c) => c.stop()));
  rmSync(work, { recursive: true, force: true });
});

test('a proxyless client resolves xds:///greeter.bar:50051 through meshlite and its calls reach greeter-1', async () => {
  client = proxylessClient('client', 'xds:///greeter.bar:50051');
  const resolved = await callsAfterFirstSuccess(client, 5, 20_000);
  assert.equal(
    resolved.filter((c) => !c.ok),
    [],
    'no failed calls once the name resolved',
  );
  assert.equal([...new Set(resolved.map((c) => c.server))], ['greeter-1']);
  // meshlite's view: the node is connected as a proxyless gRPC client and accepted every type it was sent.
  const adsz = (await getJson('/debug/adsz')) as { proxy: string; node: { userAgent: string }; warnings: string[] }[];
  const conn = adsz.find((c) => c.proxy === 'greeter-client.foo');
  assert.ok(conn, JSON.stringify(adsz));
  assert.match(conn.node.userAgent, /^gRPC Node/);
  assert.equal(conn.warnings, []);
  const syncz = await getJson('/debug/syncz?proxy=greeter-client.foo');
  assert.ok(syncz.synced, JSON.stringify(syncz, null, 1));
  assert.ok(!syncz.types.some((t: { state: string }) => t.state === 'NACKED'), JSON.stringify(syncz.types));
});

test('a second greeter WorkloadEntry appears live: the same channel then reaches both servers', async () => {
  const before = calls(client).length;
  writeFileSync(
    join(configDir, 'greeter-2.yaml'),
    `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: greeter-2, namespace: bar}
spec:
  address: ${mapAddresses('127.0.60.2', block)}
  serviceAccount: greeter
  locality: local/zone-b
  labels: {app: greeter}
`,
  );
  await eventually(
    () =>
      calls(client)
        .slice(before)
        .some((c) => c.server === 'greeter-2') || undefined,
    15_000,
    () => `no call reached greeter-2; last lines:\n${client.lines.slice(-5).join('\n')}`,
  );
  // greeter-2 is in another locality (zone-b): grpc picks a locality at random by
  // weight, so 20 calls reach both unless a locality weight is missing (grpc
  // then drops that locality) - the odds of a false failure are 2^-19.
  const mark = calls(client).length;
  await eventually(
    () => calls(client).length >= mark + 20 || undefined,
    10_000,
    () => 'client stopped calling',
  );
  const recent = calls(client).slice(mark, mark + 20);
  assert.equal(
    recent.filter((c) => !c.ok),
    [],
  );
  assert.equal([...new Set(recent.map((c) => c.server))].sort(), ['greeter-1', 'greeter-2']);
  assert.equal(
    calls(client)
      .slice(before)
      .filter((c) => !c.ok),
    [],
    'no call failed across the config change',
  );
});

test('other published names resolve too: the FQDN with port, and `greeter.bar` without one (single gRPC port)', async () => {
  const targets = ['xds:///greeter.bar.svc.cluster.local:50051', 'xds:///greeter.bar'];
  const clients = targets.map((target) => proxylessClient(`client ${target}`, target));
  for (const [i, one] of clients.entries()) {
    const resolved = (await callsAfterFirstSuccess(one, 3, 20_000)).slice(0, 3);
    assert.equal(
      resolved.filter((c) => !c.ok),
      [],
      targets[i],
    );
    for (const c of resolved) assert.ok(c.server === 'greeter-1' || c.server === 'greeter-2', JSON.stringify(c));
  }
});

test('the wait for a first success fails when no call ever succeeds (a name meshlite does not serve)', async () => {
  const lost = proxylessClient('client xds:///nope.bar:50051', 'xds:///nope.bar:50051');
  try {
    await callsAfterFirstSuccess(lost, 1, 4000);
    assert.unreachable('a client that never succeeds must fail the wait');
  } catch (err) {
    assert.match((err as Error).message, 'no call succeeded');
  }
  await eventually(
    () => (calls(lost).length > 0 ? true : undefined),
    10_000,
    () => 'the client made no call',
  );
  assert.ok(
    calls(lost).every((c) => !c.ok),
    'every call failed',
  );
});

test.run();
