#!/usr/bin/env node
import { Command } from 'commander';
import { agentCommand } from './agent.js';
import { applyCommand } from './apply.js';
import { bootstrapCommand } from './bootstrap.js';
import { caCommand } from './ca.js';
import { deleteCommand } from './delete.js';
import { describeCommand } from './describe.js';
import { diffCommand } from './diff.js';
import { generateCommand } from './generate.js';
import { getCommand } from './get.js';
import { importCommand } from './import-marathon.js';
import { matrixCommand } from './matrix.js';
import { proxiesCommand } from './proxies.js';
import { replicasCommand } from './replicas.js';
import { serveCommand } from './serve.js';
import { tokenCommand } from './token.js';
import { validateCommand } from './validate.js';

const program = new Command();
program.name('meshlite').description('A lite Istio-style control plane for Envoy outside Kubernetes').version('0.1.0');
// Options after a subcommand belong to it (`token revoke --proxy` is not `token --proxy`).
program.enablePositionalOptions();
program.addCommand(validateCommand());
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
program.addCommand(matrixCommand());
try {
  await program.parseAsync(process.argv);
} catch (err) {
  // A bad flag value or an unusable setting: one line for the user, not a stack trace.
  process.stderr.write(`meshlite: ${(err as Error).message ?? String(err)}\n`);
  process.exitCode = 2;
}
