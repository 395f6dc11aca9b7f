#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { agentCommand } from './agent.js';
import { analyzeCommand } from './analyze.js';
import { applyCommand } from './apply.js';
import { authzCommand } from './authz.js';
import { bootstrapCommand } from './bootstrap.js';
import { caCommand } from './ca.js';
import { completionCommand } from './completion.js';
import { deleteCommand } from './delete.js';
import { describeCommand } from './describe.js';
import { diffCommand } from './diff.js';
import { generateCommand } from './generate.js';
import { getCommand } from './get.js';
import { importCommand } from './import-marathon.js';
import { matrixCommand } from './matrix.js';
import { proxiesCommand } from './proxies.js';
import { proxyConfigCommand } from './proxy-config.js';
import { replicasCommand } from './replicas.js';
import { serveCommand } from './serve.js';
import { statusCommand } from './status.js';
import { tokenCommand } from './token.js';
import { validateCommand } from './validate.js';
import { meshliteVersion } from '../util/meshlite-version.js';

/** Every command throws commander's usage errors to the catch below instead of exiting 1 on its own. */
function exitTwoOnUsageErrors(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) exitTwoOnUsageErrors(sub);
}

const program = new Command();
program.name('meshlite').description('A lite Istio-style control plane for Envoy outside Kubernetes').version(meshliteVersion());
// Options after a subcommand belong to it (`token revoke --proxy` is not `token --proxy`).
program.enablePositionalOptions();
program.addCommand(validateCommand());
program.addCommand(analyzeCommand());
program.addCommand(generateCommand());
program.addCommand(proxiesCommand());
program.addCommand(describeCommand());
program.addCommand(serveCommand());
program.addCommand(tokenCommand());
program.addCommand(bootstrapCommand());
program.addCommand(diffCommand());
program.addCommand(agentCommand());
program.addCommand(caCommand());
program.addCommand(applyCommand());
program.addCommand(getCommand());
program.addCommand(deleteCommand());
program.addCommand(replicasCommand());
program.addCommand(importCommand());
program.addCommand(statusCommand());
program.addCommand(proxyConfigCommand());
program.addCommand(matrixCommand());
program.addCommand(authzCommand());
program.addCommand(completionCommand(program));
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
