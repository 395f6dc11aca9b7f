#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { meshliteVersion } from '../util/meshlite-version.js';
import { COMMANDS } from './commands.js';
import { completionCommand } from './completion.js';

/** Every command throws commander's usage errors to the catch below instead of exiting 1 on its own. */
function exitTwoOnUsageErrors(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) exitTwoOnUsageErrors(sub);
}

/** The one command to load for these arguments; undefined when every one is needed (help, completion, a typo). */
function onlyCommand(args: readonly string[]): (typeof COMMANDS)[number] | undefined {
  return COMMANDS.find((c) => c.name === args[0]);
}

const program = new Command();
program.name('meshlite').description('A lite Istio-style control plane for Envoy outside Kubernetes').version(meshliteVersion());
// Options after a subcommand belong to it (`token revoke --proxy` is not `token --proxy`).
program.enablePositionalOptions();
const args = process.argv.slice(2);
const versionOnly = args.length === 1 && (args[0] === '--version' || args[0] === '-V');
if (!versionOnly) {
  const only = onlyCommand(args);
  for (const command of await Promise.all((only ? [only] : COMMANDS).map((c) => c.load()))) program.addCommand(command);
  if (!only) program.addCommand(completionCommand(program));
}
exitTwoOnUsageErrors(program);
try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander printed its own line (unknown flag, missing argument, bad choice); help and --version are not errors.
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
    process.exit();
  }
  // A bad flag value or an unusable setting: one line for the user, not a stack trace.
  process.stderr.write(`meshlite: ${(err as Error).message ?? String(err)}\n`);
  process.exitCode = 2;
}
