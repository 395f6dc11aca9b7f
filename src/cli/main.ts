#!/usr/bin/env node
import { Command } from 'commander';
import { describeCommand } from './describe.js';
import { generateCommand } from './generate.js';
import { proxiesCommand } from './proxies.js';
import { validateCommand } from './validate.js';

const program = new Command();
program.name('meshlite').description('A lite Istio-style control plane for Envoy outside Kubernetes').version('0.1.0');
program.addCommand(validateCommand());
program.addCommand(generateCommand());
program.addCommand(proxiesCommand());
program.addCommand(describeCommand());
await program.parseAsync(process.argv);
