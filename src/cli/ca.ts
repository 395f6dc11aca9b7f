import { Command } from 'commander';
import { caIssueCommand } from './ca-issue.js';

/** `meshlite ca ...`: workload certificates from a running meshlite's CA. */
export function caCommand(): Command {
  return new Command('ca')
    .description("workload certificates from a running meshlite's CA")
    .enablePositionalOptions()
    .addCommand(caIssueCommand());
}
