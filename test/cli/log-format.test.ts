// --log-format on the long-running commands, as the processes print it:
// json (the default) is one JSON object per line; pretty is one line per entry
// with the time, the level, the message and then the fields.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/paths.js';
import { until } from '../support/poll.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const PRETTY_LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR|DEBUG): (.+?) (\{.*\})$/;

interface Running {
  child: ChildProcess;
  lines: () => string[];
  stop(): Promise<void>;
}

function run(args: string[]): Running {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  return {
    child,
    lines: () => out.split('\n').filter((l) => l !== ''),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((res) => child.once('exit', res));
    },
  };
}

const serveArgs = (stateDir: string, ...more: string[]) => [
  'serve',
  '-c',
  'examples/s1-auto-mtls',
  '--ads-address',
  '127.0.0.1:0',
  '--admin-address',
  '127.0.0.1:0',
  '--state-dir',
  stateDir,
  ...more,
];

test('serve: JSON lines by default', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-log-format-'));
  const serve = run(serveArgs(join(dir, 'state')));
  try {
    const line = await until('serve logs that it is serving', () => serve.lines().find((l) => l.includes('meshlite serving')));
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.is(entry.level, 30);
    assert.is(entry.service, 'meshlite');
    assert.match(String(entry.ads), /^127\.0\.0\.1:\d+$/);
    for (const l of serve.lines()) assert.type(JSON.parse(l), 'object');
  } finally {
    await serve.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serve and agent --log-format pretty: time, level, message, then the fields', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-log-format-'));
  const serve = run(serveArgs(join(dir, 'state'), '--log-format', 'pretty'));
  let agent: Running | undefined;
  try {
    const line = await until('serve logs that it is serving', () => serve.lines().find((l) => l.includes('meshlite serving')));
    const m = PRETTY_LINE.exec(line);
    assert.ok(m, `not a pretty line: ${line}`);
    assert.is(m![1], 'INFO');
    assert.ok(m![2]!.startsWith('meshlite serving'), m![2]);
    const fields = JSON.parse(m![3]!) as Record<string, unknown>;
    assert.is(fields.service, 'meshlite');
    assert.not.ok('pid' in fields || 'hostname' in fields || 'msg' in fields || 'level' in fields);
    const ads = String(fields.ads);
    for (const l of serve.lines()) assert.match(l, PRETTY_LINE);

    // An agent with a token meshlite refuses: it starts, then warns about the certificate, both in pretty lines.
    writeFileSync(join(dir, 'token'), 'not-a-token\n');
    agent = run([
      'agent',
      '--proxy',
      'web.default',
      '--control-plane',
      ads,
      '--token-file',
      join(dir, 'token'),
      '--root-cert',
      join(dir, 'state/ca/root-cert.pem'),
      '--work-dir',
      join(dir, 'agent'),
      '--status-address',
      '127.0.0.1:0',
      '--no-envoy',
      '--log-format',
      'pretty',
    ]);
    const warned = await until('the agent warns that it has no certificate', () => agent!.lines().find((l) => l.includes('WARN:')));
    assert.match(warned, PRETTY_LINE);
    assert.is(JSON.parse(PRETTY_LINE.exec(warned)![3]!).service, 'meshlite-agent');
    for (const l of agent.lines()) assert.match(l, PRETTY_LINE, l);
  } finally {
    await agent?.stop();
    await serve.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown --log-format is refused before anything starts', () => {
  for (const command of [
    ['serve', '-c', 'examples/s1-auto-mtls'],
    ['agent', '--proxy', 'a.b'],
  ]) {
    const r = spawnSync(process.execPath, [CLI, ...command, '--log-format', 'xml'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 20_000 });
    assert.is.not(r.status, 0);
    assert.is(r.stdout, '');
    assert.match(r.stderr.trim(), /^error: option '--log-format <format>' argument 'xml' is invalid\. Allowed choices are json, pretty\.$/);
  }
});

test.run();
