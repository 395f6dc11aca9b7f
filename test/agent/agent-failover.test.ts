// `meshlite agent --control-plane a,b` with two replicas sharing one state dir
// and one config dir: when the replica the agent is on stops, the agent opens
// its stream to the other at once, and its Envoy's stream to the agent never
// drops. Real Envoy under the agent; replicas in-process.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type RunningAgent, startAgent } from '../../src/agent/agent.js';
import { ReplicaRotation } from '../../src/agent/replica-rotation.js';
import { type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { envoyOrThrow } from '../support/envoy-binary.js';
import { envoyAdmin } from '../support/e2e/envoy.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { ProcessManager } from '../support/e2e/process-manager.js';
import { createMeshliteState } from '../support/meshlite-state.js';
import { PROXY, relayTestConfig } from './relay-fixture.js';
import { until } from '../support/poll.js';

const address = (n: number) => loopbackAddress('agent/agent-failover.test.ts', n);
let pm: ProcessManager;
let stateDir: string;
let configDir: string;
const replicas: RunningMeshlite[] = [];
let agent: RunningAgent | undefined;

test.before(async () => {
  pm = new ProcessManager('agent-failover');
  stateDir = join(pm.dir, 'state');
  const { tokens } = await createMeshliteState(stateDir);
  configDir = join(pm.dir, 'config');
  mkdirSync(configDir);
  const caFile = join(pm.dir, 'goserver-ca.pem');
  writeFileSync(caFile, readFileSync(join(stateDir, 'ca', 'root-cert.pem')));
  writeFileSync(join(configDir, 'mesh.yaml'), relayTestConfig(address, caFile));
  writeFileSync(join(pm.dir, 'token'), `${(await tokens.issueToken(PROXY, 3600)).token}\n`, { mode: 0o600 });
});

test.after(async () => {
  await agent?.stop();
  for (const r of replicas) await r.stop().catch(() => undefined);
  await pm.stopAll();
  pm.removeDir();
});

test('a rotation moves on at once until every replica failed, then asks for the backoff', () => {
  const r = ReplicaRotation.parse('a:1, b:2,c:3');
  assert.is(r.current, 'a:1');
  assert.ok(r.failed());
  assert.is(r.current, 'b:2');
  assert.ok(r.failed());
  assert.not.ok(r.failed(), 'the third failure in a row: every replica failed');
  assert.is(r.current, 'a:1');
  r.failed();
  r.succeeded();
  assert.ok(r.failed(), 'a success starts a new round');
  assert.throws(() => ReplicaRotation.parse(' , '), /at least one/);
});

test('the replica the agent is on stops: the agent moves to the other, its Envoy stays connected', async () => {
  const serve = () =>
    startMeshlite({
      configPaths: [configDir],
      stateDir,
      adsAddress: '127.0.0.1:0',
      adminAddress: '127.0.0.1:0',
      insecure: false,
      logger: pino({ level: 'silent' }),
    });
  replicas.push(await serve(), await serve());
  const rootCertPem = readFileSync(join(stateDir, 'ca', 'root-cert.pem'), 'utf8');
  agent = await startAgent({
    proxyId: PROXY,
    controlPlane: replicas.map((r) => `127.0.0.1:${r.adsPort}`).join(','),
    tokenFile: join(pm.dir, 'token'),
    rootCertPem,
    workDir: join(pm.dir, 'agent'),
    statusAddress: '127.0.0.1:0',
    envoy: { bin: envoyOrThrow(), args: ['--concurrency', '1', '-l', 'error'] },
    logger: pino({ level: 'silent' }),
  });
  const debug = async () => (await fetch(`${agent!.statusUrl}/debug/agent`)).json() as Promise<any>;
  const envoy = envoyAdmin(await until('the Envoy admin', async () => (await debug()).envoy?.adminUrl as string | undefined));
  const holder = () => replicas.find((r) => r.controlPlane.connectedProxies().includes(PROXY));
  const first = await until('the agent on a replica', holder);
  await until('Envoy connected to the agent', async () => ((await envoy.stat('control_plane.connected_state')) === 1 ? true : undefined));
  await until('Envoy holding its listeners', async () => ((await envoy.getJson('/config_dump')).configs.length > 0 ? true : undefined));

  // Envoy's own stream (to the agent's socket) is sampled all along the failover.
  let sampling = true;
  const drops: number[] = [];
  const sampler = (async () => {
    while (sampling) {
      const state = await envoy.stat('control_plane.connected_state').catch(() => undefined);
      if (state !== 1) drops.push(Date.now());
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const stoppedAt = Date.now();
  await first.stop();
  replicas.splice(replicas.indexOf(first), 1);
  const second = await until('the agent on the other replica', holder, 15_000);
  const failoverMs = Date.now() - stoppedAt;
  await until('the agent to report meshlite answering', async () => ((await debug()).upstream?.upstreamConnected ? true : undefined));
  sampling = false;
  await sampler;
  process.stdout.write(`\n  agent failover: on the other replica ${failoverMs} ms after its replica stopped\n`);
  assert.ok(second !== first);
  assert.ok(failoverMs < 5000, `failover took ${failoverMs} ms`);
  assert.equal(drops, [], "Envoy's stream to the agent never dropped");
  assert.is(await envoy.stat('control_plane.connected_state'), 1);
  assert.is((await debug()).envoy?.restarts ?? 0, 0, 'Envoy was not restarted');
});

test.run();
