// `meshlite completion bash|zsh`: the bash script, sourced in a real bash and
// asked the way bash's programmable completion asks (COMP_WORDS, COMP_CWORD),
// completes commands, nested subcommands, flags and flag values as the CLI's
// own --help lists them; the zsh script names every command.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/paths.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
}

/** The commands a --help page lists (Commands: section), and its long flags (Options: section). */
function helpOf(...command: string[]): { commands: string[]; flags: string[] } {
  const out = cli(...command, '--help').stdout;
  const section = (title: string) => out.split(`${title}:\n`)[1]?.split(/\n\n/)[0] ?? '';
  return {
    commands: [...section('Commands').matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!),
    flags: [...section('Options').matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]!),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'meshlite-completion-'));
const bashScript = join(dir, 'meshlite.bash');
const generated = cli('completion', 'bash');
writeFileSync(bashScript, generated.stdout);

/** What the bash completion offers for `words`, the last one being the word under the cursor. */
function complete(...words: string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const r = spawnSync(
    'bash',
    [
      '-c',
      `source "$1"; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _meshlite; printf '%s\\n' "\${COMPREPLY[@]}"`,
      'bash',
      bashScript,
    ],
    { encoding: 'utf8' },
  );
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr, '');
  return r.stdout.split('\n').filter(Boolean);
}

test('bash: the script is generated and sources cleanly', () => {
  assert.is(generated.status, 0, generated.stderr);
  assert.match(generated.stdout, /complete -o default -F _meshlite meshlite/);
});

test("bash: 'meshlite pro' completes to the commands starting with pro", () => {
  const expected = helpOf().commands.filter((c) => c.startsWith('pro'));
  assert.ok(expected.includes('proxies'), expected.join(' '));
  assert.equal(complete('meshlite', 'pro'), expected);
});

test("bash: 'meshlite validate --' completes to validate's flags", () => {
  const expected = helpOf('validate').flags;
  assert.ok(expected.includes('--config') && expected.includes('--store'));
  assert.equal(complete('meshlite', 'validate', '--').sort(), [...expected].sort());
});

test('bash: nested subcommands, flag values skipped, choices offered, nothing after --', () => {
  assert.equal(
    complete('meshlite', 'token', 're'),
    helpOf('token').commands.filter((c) => c.startsWith('re')),
  );
  assert.equal(complete('meshlite', 'ca', 'rotate-root', '--').sort(), [...helpOf('ca', 'rotate-root').flags].sort());
  // "serve" is the value of -c here, not the serve command.
  assert.equal(complete('meshlite', 'validate', '-c', 'serve', '--max-e'), ['--max-errors']);
  assert.equal(complete('meshlite', 'serve', '--log-format', ''), ['json', 'pretty']);
  assert.equal(complete('meshlite', 'agent', '--proxy', 'web.default', '--', '--'), []);
});

test('zsh: the script registers itself and names every command and flag', () => {
  const zsh = cli('completion', 'zsh');
  assert.is(zsh.status, 0, zsh.stderr);
  assert.match(zsh.stdout, /^#compdef meshlite\n/);
  assert.match(zsh.stdout, /compdef _meshlite meshlite/);
  for (const command of helpOf().commands.filter((c) => c !== 'help'))
    assert.ok(zsh.stdout.includes(`_meshlite_subs['meshlite ${command}']=`), command);
  for (const command of ['serve', 'agent']) {
    const flags = zsh.stdout.match(new RegExp(`_meshlite_flags\\['meshlite ${command}'\\]='([^']*)'`))?.[1]?.split(' ') ?? [];
    for (const flag of helpOf(command).flags) assert.ok(flags.includes(flag), `${command} ${flag}`);
  }
  const zshBin = ['/usr/bin/zsh', '/bin/zsh'].find((p) => existsSync(p));
  if (zshBin) {
    const file = join(dir, '_meshlite');
    writeFileSync(file, zsh.stdout);
    const check = spawnSync(zshBin, ['-n', file], { encoding: 'utf8' });
    assert.is(check.status, 0, check.stderr);
  }
});

test('an unknown shell is refused', () => {
  const r = cli('completion', 'fish');
  assert.is.not(r.status, 0);
  assert.is(r.stdout, '');
  assert.match(r.stderr.trim(), /^error: command-argument value 'fish' is invalid for argument 'shell'\. Allowed choices are bash, zsh\.$/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
