import { Command } from 'commander';
import { formatIssues } from '../config/diagnostics.js';
import { loadMeshConfig } from '../control-plane/load-mesh.js';
import { addLimitOptions, limitsFrom } from './limit-options.js';
import { collect } from './load.js';

export function validateCommand(): Command {
  return addLimitOptions(
    new Command('validate')
      .description('check a config directory; prints every error with file:line:column, exit 1 on errors')
      .requiredOption('-c, --config <path>', 'config file or directory (repeatable)', collect),
  ).action((opts: { config: string[] } & Record<string, unknown>) => {
    const result = loadMeshConfig(opts.config, { limits: limitsFrom(opts) });
    if (!result.ok) {
      for (const line of formatIssues(result.issues, result.totalIssues)) process.stderr.write(`${line}\n`);
      process.stderr.write(`${result.totalIssues} error(s)\n`);
      process.exitCode = 1;
      return;
    }
    const c = result.config;
    const count = c.peerAuthentications.length + c.destinationRules.length + c.serviceEntries.length + c.workloadEntries.length;
    process.stdout.write(`ok: ${count} resources in ${result.files.length} file(s)\n`);
  });
}
