// The supervisor's restart policy and command line, with real processes that
// stand in for a crashing Envoy: shell scripts that log when they start and
// exit, so the pauses between them can be measured.
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EnvoyArgsError, EnvoySupervisor, envoyCommandLine, freeLoopbackPort, pickBaseId } from '../../src/agent/envoy-supervisor.js';
import { memoryLogger, tempDir, until } from './envoy-test-support.js';

function script(dir: string, body: string): string {
  const path = join(dir, 'fake-envoy.sh');
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

function runs(dir: string): Array<{ event: string; n: number; at: number }> {
  if (!existsSync(join(dir, 'runs'))) return [];
  return readFileSync(join(dir, 'runs'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [event, n, at] = line.split(' ');
      return { event: event!, n: Number(n), at: Number(at) };
    });
}

test('a process that keeps dying is restarted after pauses that double up to the maximum; one that ran stably resets the pause', async () => {
  const tmp = tempDir('meshlite-backoff-');
  const logger = memoryLogger();
  // Run 4 lives longer than stableMs; all others exit at once.
  const bin = script(
    tmp.dir,
    `d='${tmp.dir}'
n=$(cat "$d/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$d/count"
echo "start $n $(date +%s%3N)" >> "$d/runs"
[ "$n" = 4 ] && sleep 0.8
echo "exit $n $(date +%s%3N)" >> "$d/runs"
exit 3`,
  );
  const s = new EnvoySupervisor({
    envoyBin: bin,
    bootstrapPath: join(tmp.dir, 'unused.json'),
    extraArgs: [],
    baseId: 1,
    adminUrl: 'http://127.0.0.1:9',
    logger,
    restart: { initialMs: 100, maxMs: 800, stableMs: 600 },
  });
  try {
    await s.start();
    await until('nine runs', () => (runs(tmp.dir).filter((r) => r.event === 'exit').length >= 9 ? true : undefined), 30_000);
    await s.stop();
    const seen = runs(tmp.dir);
    const starts = seen.filter((r) => r.event === 'start');
    // Pause after run n, from its exit to the next start.
    const pauses = seen.filter((r) => r.event === 'exit' && r.n < 9).map((r) => starts.find((x) => x.n === r.n + 1)!.at - r.at);
    const expected = [100, 200, 400, 100, 200, 400, 800, 800];
    for (const [i, pause] of pauses.entries()) {
      assert.ok(pause >= expected[i]! - 5, `pause after run ${i + 1}: ${pause} ms, expected ${expected[i]} (all: ${pauses})`);
      assert.ok(pause < expected[i]! + 300, `pause after run ${i + 1}: ${pause} ms, expected ${expected[i]} (all: ${pauses})`);
    }
    const counted = starts.length;
    assert.is(s.restarts, counted - 1);
    const delays = logger.entries.filter((x) => x.msg.includes('exited unexpectedly')).map((x) => x.fields.restartInMs);
    assert.equal(delays.slice(0, 8), expected);
    assert.equal(
      logger.entries.filter((x) => x.msg.includes('exited unexpectedly')).map((x) => x.fields.code),
      delays.map(() => 3),
    );
    // Longer than the longest pause: stop() left no restart pending.
    await sleep(1000);
    assert.is(runs(tmp.dir).filter((r) => r.event === 'start').length, counted);
  } finally {
    await s.stop();
    tmp.remove();
  }
});

test('stop() sends SIGKILL when the process ignores the signal past the grace period', async () => {
  const tmp = tempDir('meshlite-stop-grace-');
  const logger = memoryLogger();
  const bin = script(tmp.dir, `trap '' TERM\necho up > '${tmp.dir}/up'\nwhile :; do sleep 0.1; done`);
  const s = new EnvoySupervisor({
    envoyBin: bin,
    bootstrapPath: 'unused.json',
    extraArgs: [],
    baseId: 1,
    adminUrl: 'http://127.0.0.1:9',
    logger,
    stopGraceMs: 300,
  });
  try {
    await s.start();
    await until('the script to trap SIGTERM', () => (existsSync(join(tmp.dir, 'up')) ? true : undefined));
    const t0 = Date.now();
    assert.is(await s.stop('SIGTERM'), null, 'ended by a signal, not an exit code');
    assert.ok(Date.now() - t0 >= 290, 'it waited for the grace period');
    assert.ok(logger.entries.some((x) => x.msg.includes('did not exit in time')));
    assert.is(s.restarts, 0);
    assert.equal(await s.ready(), { ready: false, detail: 'envoy is not running (stopped)' });
  } finally {
    await s.stop();
    tmp.remove();
  }
});

test('an Envoy binary that cannot be started: start() rejects and nothing is retried', async () => {
  const tmp = tempDir('meshlite-no-envoy-');
  try {
    for (const [envoyBin, code] of [
      [join(tmp.dir, 'no-such-envoy'), 'ENOENT'],
      [tmp.dir, 'EACCES'],
      ['bad\0path', 'ERR_INVALID_ARG_VALUE'],
    ]) {
      const s = new EnvoySupervisor({
        envoyBin: envoyBin!,
        bootstrapPath: 'unused.json',
        extraArgs: [],
        baseId: 1,
        adminUrl: 'http://127.0.0.1:9',
        logger: memoryLogger(),
        restart: { initialMs: 10, maxMs: 10 },
      });
      const err = await s.start().then(
        () => undefined,
        (e: NodeJS.ErrnoException) => e,
      );
      assert.is(err?.code, code, envoyBin);
      await sleep(200);
      assert.is(s.restarts, 0);
      assert.is(s.running, false);
      assert.equal(await s.ready(), { ready: false, detail: 'envoy is not running (stopped)' });
      assert.is(await s.stop(), null);
    }
  } finally {
    tmp.remove();
  }
});

test('a restart that cannot start the binary (it was removed) is retried after the next pause until it can', async () => {
  const tmp = tempDir('meshlite-envoy-gone-');
  const logger = memoryLogger();
  const body = 'exec sleep 30';
  const bin = script(tmp.dir, body);
  const s = new EnvoySupervisor({
    envoyBin: bin,
    bootstrapPath: 'unused.json',
    extraArgs: [],
    baseId: 1,
    adminUrl: 'http://127.0.0.1:9',
    logger,
    restart: { initialMs: 50, maxMs: 200 },
  });
  try {
    const pid1 = await s.start();
    rmSync(bin);
    process.kill(pid1, 'SIGKILL');
    const failedStarts = () => logger.entries.filter((x) => x.msg.includes('exited unexpectedly') && /ENOENT/.test(String(x.fields.err)));
    await until('two failed restarts', () => (failedStarts().length >= 2 ? true : undefined));
    assert.is(s.pid, undefined);
    script(tmp.dir, body);
    const pid2 = await until('a running process again', () => (s.running && s.pid !== undefined ? s.pid : undefined));
    assert.is.not(pid2, pid1);
    assert.ok(s.restarts >= 3, `${s.restarts} restarts`);
    assert.is(await s.stop(), null, 'sleep ends by the signal');
  } finally {
    await s.stop();
    tmp.remove();
  }
});

test("envoyCommandLine: the agent's defaults, each dropped when the user gives the same flag; the bootstrap is not the user's to replace", () => {
  assert.equal(envoyCommandLine('/b.json', 7, ['--concurrency', '2']), {
    args: [
      '-c',
      '/b.json',
      '--base-id',
      '7',
      '--drain-strategy',
      'immediate',
      '--drain-time-s',
      '5',
      '--parent-shutdown-time-s',
      '10',
      '--log-level',
      'warning',
      '--concurrency',
      '2',
    ],
    baseId: 7,
  });
  assert.equal(
    envoyCommandLine('/b.json', 7, ['-l', 'debug']).args.slice(-4),
    ['--parent-shutdown-time-s', '10', '-l', 'debug'],
    '-l is --log-level',
  );
  const replaced = envoyCommandLine('/b.json', 7, ['--drain-time-s', '30', '--drain-strategy', 'gradual', '--base-id', '9']);
  assert.equal(replaced.args, [
    '-c',
    '/b.json',
    '--parent-shutdown-time-s',
    '10',
    '--log-level',
    'warning',
    '--drain-time-s',
    '30',
    '--drain-strategy',
    'gradual',
    '--base-id',
    '9',
  ]);
  assert.is(replaced.baseId, undefined, 'the user chose the base id');
  const dynamic = envoyCommandLine('/b.json', 7, ['--use-dynamic-base-id']);
  assert.not.ok(dynamic.args.includes('--base-id'));
  // After `--` Envoy reads no more flags, so nothing there replaces a default.
  assert.ok(envoyCommandLine('/b.json', 7, ['--', '--base-id']).args.includes('7'));
  for (const own of [
    ['-c', 'x.yaml'],
    ['--config-path', 'x.yaml'],
  ]) {
    assert.throws(
      () => envoyCommandLine('/b.json', 7, own),
      (e: Error) => e instanceof EnvoyArgsError && /--config-yaml/.test(e.message),
    );
  }
  assert.throws(
    () => envoyCommandLine('/b.json', -1, []),
    (e: Error) => e instanceof EnvoyArgsError,
  );
  assert.throws(
    () => envoyCommandLine('/b.json', 2 ** 32, []),
    (e: Error) => e instanceof EnvoyArgsError,
  );
});

test('pickBaseId: stable for one agent, apart for other pids and (mostly) other proxies, within what Envoy can scale by ten', () => {
  assert.is(pickBaseId('sleep.foo', 4242), pickBaseId('sleep.foo', 4242));
  assert.is.not(pickBaseId('sleep.foo', 4242), pickBaseId('sleep.foo', 4243));
  assert.is.not(pickBaseId('sleep.foo', 1), pickBaseId('httpbin.bar', 1));
  const ids = new Set<number>();
  for (let pid = 1; pid < 2000; pid++) ids.add(pickBaseId('sleep.foo', pid));
  assert.is(ids.size, 1999, 'distinct pids, distinct ids');
  for (const pid of [1, 4_194_303, 4_194_304, 2 ** 31]) {
    const id = pickBaseId('x'.repeat(pid % 50), pid);
    assert.ok(id >= 0 && id * 10 < 2 ** 32, `${id}`);
  }
});

test('freeLoopbackPort: a port nothing listens on that can then be bound', async () => {
  const port = await freeLoopbackPort();
  assert.ok(port > 0 && port < 65536);
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test.run();
