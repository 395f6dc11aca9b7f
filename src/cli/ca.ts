import { Command } from 'commander';
import { caIssueCommand } from './ca-issue.js';
import { caRotateRootCommand } from './ca-rotate-root.js';
import { caStatusCommand } from './ca-status.js';

/** `meshlite ca ...`: workload certificates from a running meshlite's CA, and the rotation of its root. */
export function caCommand(): Command {
  return new Command('ca')
    .description("meshlite's CA: workload certificates from a running meshlite, its roots and their rotation")
    .enablePositionalOptions()
    .addCommand(caIssueCommand())
    .addCommand(caRotateRootCommand())
    .addCommand(caStatusCommand());
}
