// The systemd units in deploy/: systemd-analyze verify finds nothing to say
// about them (and does find a typo'd directive or a bad value: the check
// can fail), they keep their hardening, and every meshlite flag they or
// deploy/README.md pass is one the CLI has.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/paths.js';

const DEPLOY = join(REPO_ROOT, 'deploy');
const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');
const INSTALLED_BIN = '/usr/local/bin/meshlite';
const ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

const UNITS = [
  { file: 'meshlite.service', verifyAs: 'meshlite.service', command: 'serve' },
  { file: 'meshlite-agent@.service', verifyAs: 'meshlite-agent@web-1.service', command: 'agent' },
];

const unitText = (file: string) => readFileSync(join(DEPLOY, file), 'utf8');

/** systemd-analyze verify on `text` saved as `file` (ExecStart pointed at a stand-in executable): exit code and output. */
function verify(file: string, verifyAs: string, text: string): { code: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-units-'));
  try {
    const bin = join(dir, 'meshlite');
    writeFileSync(bin, '#!/bin/sh\nexit 0\n');
    chmodSync(bin, 0o755);
    writeFileSync(join(dir, file), text.replaceAll(INSTALLED_BIN, bin));
    const r = spawnSync(ANALYZE!, ['verify', '--man=no', join(dir, verifyAs)], { encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const analyzeTest = ANALYZE ? test : test.skip;

analyzeTest('systemd-analyze verify passes both units without a word', () => {
  for (const unit of UNITS) {
    const text = unitText(unit.file);
    assert.ok(text.includes(`ExecStart=${INSTALLED_BIN} ${unit.command} `), `${unit.file} runs meshlite ${unit.command}`);
    assert.equal(verify(unit.file, unit.verifyAs, text), { code: 0, output: '' }, unit.file);
  }
});

analyzeTest('the check fails on a broken unit: a typo in a directive, a bad value, a missing binary', () => {
  for (const unit of UNITS) {
    const text = unitText(unit.file);
    const typo = verify(unit.file, unit.verifyAs, text.replace('NoNewPrivileges=yes', 'NoNewPrivilges=yes'));
    assert.match(typo.output, /Unknown key 'NoNewPrivilges'/, `${unit.file}: ${typo.output}`);
    const value = verify(unit.file, unit.verifyAs, text.replace('Restart=on-failure', 'Restart=sometimes'));
    assert.match(value.output, /restart specifier.*sometimes/, `${unit.file}: ${value.output}`);
    const missing = verify(unit.file, unit.verifyAs, text.replace(`ExecStart=${INSTALLED_BIN}`, 'ExecStart=/nonexistent/meshlite'));
    assert.is.not(missing.code, 0, `${unit.file}: ${missing.output}`);
  }
});

test('both units run unprivileged, read-only but for their own directory, and restart on failure (not on a usage error)', () => {
  const must = [
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'PrivateTmp=yes',
    'ProtectHome=yes',
    'Restart=on-failure',
    'RestartPreventExitStatus=2',
    'CapabilityBoundingSet=\n',
  ];
  const serve = unitText('meshlite.service');
  const agent = unitText('meshlite-agent@.service');
  for (const [file, text] of [
    ['meshlite.service', serve],
    ['meshlite-agent@.service', agent],
  ] as const) {
    for (const line of must) assert.ok(text.includes(`\n${line}`), `${file} has ${line.trim()}`);
    assert.match(text, /\nUser=meshlite/, `${file} has a dedicated user`);
  }
  assert.ok(serve.includes('\nReadWritePaths=/var/lib/meshlite\n') && serve.includes('--state-dir /var/lib/meshlite'));
  assert.ok(agent.includes('\nEnvironmentFile=/etc/meshlite/agent/%i.env\n'), 'the instance names its env file, which must exist');
  assert.ok(agent.includes('\nReadWritePaths=/run/meshlite-agent/%i\n') && agent.includes('--work-dir /run/meshlite-agent/%i'));
});

/** The long flags of `meshlite <command> --help`. */
function knownFlags(command: string): Set<string> {
  const r = spawnSync(process.execPath, [CLI, command, '--help'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return new Set([...r.stdout.matchAll(/--[a-z][a-z-]+/g)].map((m) => m[0]));
}

test('every flag the units and deploy/README.md give meshlite is a flag of that command', () => {
  const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
  for (const unit of UNITS) {
    const known = knownFlags(unit.command);
    const variable = unit.command === 'serve' ? 'MESHLITE_SERVE_ARGS' : 'MESHLITE_AGENT_ARGS';
    const text = unitText(unit.file);
    const execStart = text.split('\n').find((l) => l.startsWith('ExecStart='))!;
    const examples = [...`${readme}\n${text}`.matchAll(new RegExp(`${variable}="([^"]*)"`, 'g'))].map((m) => m[1]!);
    assert.ok(examples.length > 0, `an example of ${variable}`);
    const used = [execStart, ...examples].flatMap((l) => [...l.matchAll(/(?<=\s|")--[a-z][a-z-]+/g)].map((m) => m[0]));
    assert.ok(used.length > 3, used.join(' '));
    assert.equal(
      used.filter((f) => !known.has(f)),
      [],
      `flags meshlite ${unit.command} does not have`,
    );
  }
});

test.run();
