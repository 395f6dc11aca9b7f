import { Command } from 'commander';
import { formatIssue } from '../config/diagnostics.js';
import { loadMeshConfig } from '../control-plane/load-mesh.js';
import { collect } from './load.js';

export function validateCommand(): Command {
  return new Command('validate')
    .description('check a config directory; prints every error with file:line:column, exit 1 on errors')
    .requiredOption('-c, --config <path>', 'config file or directory (repeatable)', collect)
    .action((opts: { config: string[] }) => {
      const result = loadMeshConfig(opts.config);
      if (!result.ok) {
        for (const issue of result.issues) process.stderr.write(`${formatIssue(issue)}\n`);
        process.stderr.write(`${result.issues.length} error(s)\n`);
        process.exitCode = 1;
        return;
      }
      const c = result.config;
      const count = c.peerAuthentications.length + c.destinationRules.length + c.serviceEntries.length + c.workloadEntries.length;
      process.stdout.write(`ok: ${count} resources in ${result.files.length} file(s)\n`);
    });
}
