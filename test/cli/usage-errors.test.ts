// Every command, run with a flag it does not have, prints commander's one line
// and exits 2 (a usage error), as scripts and systemd units expect; help is exit 0.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/paths.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');

function meshlite(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The command names `meshlite --help` lists (so a new command is covered without editing this test). */
function commandNames(help: string): string[] {
  const section = help.slice(help.indexOf('Commands:'));
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
}

test('an unknown flag is exit 2 with one stderr line on every command; --help is exit 0', async () => {
  const top = await meshlite(['--help']);
  assert.is(top.code, 0, top.stderr);
  const names = commandNames(top.stdout);
  assert.ok(names.length >= 20 && names.includes('status') && names.includes('completion'), names.join(' '));
  const results = await Promise.all(names.map(async (name) => ({ name, r: await meshlite([name, '--no-such-flag']) })));
  for (const { name, r } of results) {
    assert.is(r.code, 2, `${name}: exit ${r.code}, stderr ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.is(lines.length, 1, `${name}: ${r.stderr}`);
    // A command with a required flag reports that first; either way one line of commander's.
    assert.match(lines[0]!, /--no-such-flag|required option/, name);
  }
  const help = await meshlite(['proxy-config', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /Usage: meshlite proxy-config/);
});

test('a bad choice and a missing argument are usage errors too', async () => {
  const choice = await meshlite(['generate', '-c', 'examples/demo', '--type', 'nope']);
  assert.is(choice.code, 2, choice.stderr);
  assert.match(choice.stderr, /Allowed choices/);
  const missing = await meshlite(['authz', 'check', 'httpbin.foo']);
  assert.is(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /^meshlite authz check: .*--from/);
});

test.run();
