// EnvoySupervisor with real Envoy: a killed Envoy is replaced by a new process
// that serves again, readiness follows Envoy (down between the two), stop()
// ends it for good, and Envoys side by side need (and get) their own base ids.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { agentBootstrap, writeAgentBootstrap } from '../../src/agent/agent-bootstrap.js';
import { freeLoopbackPort, pickBaseId } from '../../src/agent/envoy-supervisor.js';
import { startStatusServer } from '../../src/agent/status-server.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { TYPE } from '../../src/xds/type-urls.js';
import { AdsSocketStub } from './ads-socket-stub.js';
import { alive, getText, memoryLogger, Supervisors, tempDir, until, writeStaticBootstrap } from './envoy-test-support.js';

/** The n-th fixed listener address of this file's loopback block. */
const listenerHost = (n: number) => loopbackAddress('agent/envoy-supervisor.test.ts', n);
const LISTENER_PORT = 15100;
const QUIET = ['--concurrency', '1', '-l', 'error'];

async function staticEnvoy(dir: string, name: string, host: number) {
  const adminPort = await freeLoopbackPort();
  const bootstrapPath = join(dir, `${name}.json`);
  const listener = `http://${listenerHost(host)}:${LISTENER_PORT}/`;
  writeStaticBootstrap(bootstrapPath, { adminPort, listenerHost: listenerHost(host), listenerPort: LISTENER_PORT, name });
  return { adminPort, adminUrl: `http://127.0.0.1:${adminPort}`, bootstrapPath, listener };
}

async function serverInfo(adminUrl: string): Promise<Record<string, any>> {
  return (await fetch(`${adminUrl}/server_info`)).json() as Promise<Record<string, any>>;
}

test('kill -9 of Envoy: readiness drops to 503, a new Envoy process starts after the pause and serves again; stop() ends it for good', async () => {
  const tmp = tempDir('meshlite-supervisor-');
  const supervisors = new Supervisors();
  let status: Awaited<ReturnType<typeof startStatusServer>> | undefined;
  try {
    const e = await staticEnvoy(tmp.dir, 'sup-a', 1);
    const logger = memoryLogger();
    const baseId = pickBaseId('sup-a.test');
    const s = supervisors.make({ ...e, baseId, extraArgs: QUIET, logger, restart: { initialMs: 1500, maxMs: 5000 } });
    status = await startStatusServer({ address: '127.0.0.1:0', checks: [s.check] });
    const readiness = `${status.url}/healthz/ready`;
    const before = await getText(readiness);
    assert.is(before?.status, 503, 'not ready before Envoy runs');
    assert.match(before!.body, /envoy is not running/);

    const pid1 = await s.start();
    await until('ready 200', async () => ((await getText(readiness))?.status === 200 ? true : undefined));
    assert.equal(await getText(e.listener), { status: 200, body: 'up sup-a' });
    const shm = `/dev/shm/envoy_shared_memory_${baseId * 10}`;
    if (process.platform === 'linux') assert.ok(existsSync(shm), 'Envoy made its shared memory under our base id');

    process.kill(pid1, 'SIGKILL');
    const down = await until('503 while Envoy is down', async () => {
      const r = await getText(readiness);
      return r?.status === 503 ? r : undefined;
    });
    assert.match(down.body, /"ok": false/);
    const pid2 = await until('a new Envoy', () => (s.pid !== undefined && s.pid !== pid1 ? s.pid : undefined));
    await until('ready 200 again', async () => ((await getText(readiness))?.status === 200 ? true : undefined));
    assert.equal(await getText(e.listener), { status: 200, body: 'up sup-a' }, 'the new Envoy serves the listener');
    assert.not.ok(alive(pid1));
    assert.is(s.restarts, 1);
    assert.equal(s.status(), { state: 'running', pid: pid2, restarts: 1, lastExitCode: null, adminUrl: e.adminUrl, args: s.args });
    const crash = logger.entries.find((x) => x.msg.includes('exited unexpectedly'));
    assert.is(crash?.fields.signal, 'SIGKILL');
    assert.is(crash?.fields.restartInMs, 1500);

    assert.is(await s.stop(), 0, 'Envoy exits cleanly on SIGTERM');
    assert.not.ok(alive(pid2));
    assert.is((await getText(readiness))?.status, 503, 'not ready once Envoy is stopped');
    // Longer than the restart pause: a restart would have happened by now.
    await sleep(2500);
    assert.is(s.pid, undefined);
    assert.is(s.restarts, 1, 'no restart after stop()');
    assert.equal(s.status(), { state: 'stopped', pid: undefined, restarts: 1, lastExitCode: 0, adminUrl: e.adminUrl, args: s.args });
    assert.is(await getText(`${e.adminUrl}/ready`), undefined, 'nothing answers on the admin port');
    if (process.platform === 'linux') assert.not.ok(existsSync(shm), 'the shared memory is removed once no restart follows');
  } finally {
    await status?.close();
    await supervisors.stopAll();
    tmp.remove();
  }
});

test("two Envoys at once run under their own base ids and admin ports; a third with another's base id cannot start", async () => {
  const tmp = tempDir('meshlite-supervisor-two-');
  const supervisors = new Supervisors();
  try {
    const a = await staticEnvoy(tmp.dir, 'two-a', 2);
    const b = await staticEnvoy(tmp.dir, 'two-b', 3);
    const [idA, idB] = [pickBaseId('a.foo'), pickBaseId('b.foo')];
    assert.is.not(idA, idB);
    assert.is.not(a.adminPort, b.adminPort);
    const sa = supervisors.make({ ...a, baseId: idA, extraArgs: QUIET });
    const sb = supervisors.make({ ...b, baseId: idB, extraArgs: QUIET });
    await Promise.all([sa.start(), sb.start()]);
    for (const [s, e, id] of [[sa, a, idA] as const, [sb, b, idB] as const]) {
      await until('ready', async () => ((await s.ready()).ready ? true : undefined));
      assert.is((await serverInfo(e.adminUrl)).command_line_options.base_id, String(id), "Envoy's own view of its base id");
    }
    assert.is((await getText(a.listener))?.body, 'up two-a');
    assert.is((await getText(b.listener))?.body, 'up two-b');

    // The same base id as a running Envoy: the new one exits at once, and says why.
    const c = await staticEnvoy(tmp.dir, 'two-c', 4);
    const output = new PassThrough();
    let said = '';
    output.on('data', (chunk: Buffer) => (said += chunk.toString()));
    const logger = memoryLogger();
    const sc = supervisors.make({ ...c, baseId: idA, extraArgs: QUIET, logger, output, restart: { initialMs: 60_000, maxMs: 60_000 } });
    const pidC = await sc.start();
    await until('the clashing Envoy to exit', () => (sc.running ? undefined : true));
    assert.match(said, new RegExp(`^envoy\\[${pidC}\\]: .*unable to bind domain socket with base_id=${idA * 10}`, 'm'));
    assert.ok(logger.entries.some((x) => x.msg.includes('exited unexpectedly') && x.fields.code !== 0));
    assert.ok((await sa.ready()).ready, 'the first Envoy is unharmed');
  } finally {
    await supervisors.stopAll();
    tmp.remove();
  }
});

test("the user's arguments replace the agent's defaults flag by flag; with logDir Envoy's output goes to envoy.log", async () => {
  const tmp = tempDir('meshlite-supervisor-args-');
  const supervisors = new Supervisors();
  try {
    const e = await staticEnvoy(tmp.dir, 'args', 5);
    const s = supervisors.make({
      ...e,
      baseId: pickBaseId('args.test'),
      extraArgs: ['--concurrency', '1', '-l', 'info', '--drain-time-s', '30'],
      logDir: tmp.dir,
    });
    await s.start();
    await until('ready', async () => ((await s.ready()).ready ? true : undefined));
    const options = (await serverInfo(e.adminUrl)).command_line_options;
    assert.is(options.drain_time, '30s', "the user's --drain-time-s");
    assert.is(options.parent_shutdown_time, '10s', "the agent's --parent-shutdown-time-s");
    assert.is(options.drain_strategy, 'Immediate');
    assert.is(options.config_path, e.bootstrapPath);
    assert.match(readFileSync(join(tmp.dir, 'envoy.log'), 'utf8'), /starting main dispatch loop/);
  } finally {
    await supervisors.stopAll();
    tmp.remove();
  }
});

test('the agent bootstrap: Envoy starts with nobody on its ADS socket (admin up, 503); the first request names the agent node; answered, it goes LIVE (200)', async () => {
  const tmp = tempDir('meshlite-agent-envoy-');
  const supervisors = new Supervisors();
  let status: Awaited<ReturnType<typeof startStatusServer>> | undefined;
  let stub: AdsSocketStub | undefined;
  try {
    const socket = join(tmp.dir, 'xds.sock');
    const adminPort = await freeLoopbackPort();
    const bootstrapPath = join(tmp.dir, 'sleep.foo.json');
    await writeAgentBootstrap(
      bootstrapPath,
      agentBootstrap({
        proxyId: 'sleep.foo',
        cluster: 'sleep.foo',
        adsSocketPath: socket,
        adminAddress: { host: '127.0.0.1', port: adminPort },
        metadata: { NAMESPACE: 'foo' },
      }),
    );
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    const s = supervisors.make({ bootstrapPath, adminUrl, baseId: pickBaseId('sleep.foo'), extraArgs: QUIET });
    status = await startStatusServer({ address: '127.0.0.1:0', checks: [s.check] });
    const readiness = `${status.url}/healthz/ready`;
    await s.start();
    await until('the admin to answer', () => getText(`${adminUrl}/ready`));
    const waiting = await getText(readiness);
    assert.is(waiting?.status, 503);
    assert.match(JSON.parse(waiting!.body).checks[0].detail, /^envoy (PRE_)?INITIALIZING$/);

    stub = await AdsSocketStub.listen(socket);
    const first = await until('the first ADS request', () => stub!.requests[0]);
    assert.is(first.typeUrl, TYPE.cluster, 'CDS first');
    assert.is(first.node?.id, 'sleep.foo');
    assert.is(first.node?.cluster, 'sleep.foo');
    assert.equal(first.node?.metadata, { NAMESPACE: 'foo', MESHLITE_AGENT: 'true' });
    assert.is((await getText(readiness))?.status, 503, 'not ready while CDS is unanswered');

    stub.answer();
    await until('ready 200', async () => ((await getText(readiness))?.status === 200 ? true : undefined));
    const lds = stub.requests.find((r) => r.typeUrl === TYPE.listener);
    assert.ok(lds, 'Envoy asked for listeners on the same stream');
    assert.is(lds!.node, undefined, 'the node is sent on the first message only');
    assert.is(await s.stop(), 0);
    assert.is((await getText(readiness))?.status, 503);
  } finally {
    stub?.close();
    await status?.close();
    await supervisors.stopAll();
    tmp.remove();
  }
});

test.run();
