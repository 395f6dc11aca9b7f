// Envoy and several replicas: `meshlite bootstrap --control-plane a,b` lists
// both replicas in the ADS cluster; when the replica Envoy is on stops, Envoy
// opens its stream to the other within seconds and keeps the same config
// (both replicas share one state dir and one config dir, so they serve the
// same mesh, under the same CA and token key).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { type Envoy, configDumpSections, startEnvoyFromFile } from '../support/e2e/envoy.js';
import { meshliteCli } from '../support/e2e/meshlite.js';
import { ProcessManager } from '../support/e2e/process-manager.js';
import { createMeshliteState } from '../support/meshlite-state.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { relayTestConfig } from '../agent/relay-fixture.js';

type Json = Record<string, any>;
const PROXY = 'sleep.foo';
const address = (n: number) => loopbackAddress('server/replica-failover-envoy.test.ts', n);
let CONFIG: string;

let pm: ProcessManager;
let stateDir: string;
const replicas: RunningMeshlite[] = [];

test.before(async () => {
  pm = new ProcessManager('replica-failover-envoy');
  stateDir = join(pm.dir, 'state');
  await createMeshliteState(stateDir);
  // One config dir for both replicas; the workloads' addresses in this file's block.
  CONFIG = join(pm.dir, 'config');
  mkdirSync(CONFIG);
  const caFile = join(pm.dir, 'goserver-ca.pem');
  writeFileSync(caFile, readFileSync(join(stateDir, 'ca', 'root-cert.pem')));
  writeFileSync(join(CONFIG, 'mesh.yaml'), relayTestConfig(address, caFile));
});

test.after(async () => {
  for (const r of replicas) await r.stop().catch(() => undefined);
  await pm.stopAll();
  pm.removeDir();
});

function serve(): Promise<RunningMeshlite> {
  return startMeshlite({
    configPaths: [CONFIG],
    stateDir,
    adsAddress: '127.0.0.1:0',
    adminAddress: '127.0.0.1:0',
    insecure: false,
    logger: pino({ level: 'silent' }),
  });
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Version of every dynamic cluster, listener and route configuration Envoy holds. */
async function versions(envoy: Envoy): Promise<Record<string, string>> {
  const s = await configDumpSections(envoy);
  const out: Record<string, string> = {};
  for (const c of s.ClustersConfigDump?.dynamic_active_clusters ?? []) out[`cluster ${c.cluster.name}`] = c.version_info;
  for (const l of s.ListenersConfigDump?.dynamic_listeners ?? []) out[`listener ${l.name}`] = l.active_state?.version_info;
  for (const r of s.RoutesConfigDump?.dynamic_route_configs ?? []) out[`route ${r.route_config.name}`] = r.version_info;
  return out;
}

const holder = () => replicas.find((r) => r.controlPlane.connectedProxies().includes(PROXY));

test('the replica Envoy is on stops: Envoy reconnects to the other within seconds, its config unchanged', async () => {
  replicas.push(await serve(), await serve());
  const path = join(pm.dir, 'sleep.bootstrap.json');
  const addresses = replicas.map((r) => `127.0.0.1:${r.adsPort}`).join(',');
  await meshliteCli([
    'bootstrap',
    '-c',
    CONFIG,
    '--proxy',
    PROXY,
    '--state-dir',
    stateDir,
    '--control-plane',
    addresses,
    '--admin-port',
    '0',
    '-o',
    path,
  ]);
  const envoy = await startEnvoyFromFile(pm, 'sleep', path);

  const first = await until('Envoy on a replica', holder);
  const before = await until('Envoy to hold its listeners', async () => {
    const v = await versions(envoy).catch(() => ({}) as Record<string, string>);
    const complete = ['listener ', 'route '].every((kind) => Object.keys(v).some((k) => k.startsWith(kind)));
    const connected = (await envoy.stat('control_plane.connected_state')) === 1;
    return complete && connected && Object.values(v).every((version) => version !== undefined) ? v : undefined;
  });

  const stoppedAt = Date.now();
  await first.stop();
  replicas.splice(replicas.indexOf(first), 1);
  const second = await until('Envoy on the other replica', holder, 15_000);
  const failoverMs = Date.now() - stoppedAt;
  process.stdout.write(`\n  Envoy failover: on the other replica ${failoverMs} ms after its replica stopped\n`);
  assert.ok(second !== first);
  assert.ok(failoverMs < 5000, `failover took ${failoverMs} ms`);
  await until('Envoy connected again', async () => ((await envoy.stat('control_plane.connected_state')) === 1 ? true : undefined));
  await until('the other replica to see Envoy synced', () => (second.controlPlane.connectedProxies().includes(PROXY) ? true : undefined));
  // Nothing changed for Envoy: the same config, at the same versions.
  const after = await until(
    'the same versions from the other replica',
    async () => {
      const v = await versions(envoy);
      return JSON.stringify(v) === JSON.stringify(before) ? v : undefined;
    },
    5000,
  ).catch(async () => versions(envoy));
  assert.equal(after, before);
  assert.ok(envoy.process.running, 'Envoy kept running');
  const cluster = (await configDumpSections(envoy)).ClustersConfigDump?.static_clusters?.find(
    (c: Json) => c.cluster.name === 'meshlite-xds',
  );
  assert.is(cluster.cluster.load_assignment.endpoints[0].lb_endpoints.length, 2);
});

test.run();
