import { Command } from 'commander';
import { meshProxies } from '../translate/translator.js';
import { collect, loadModelOrExit } from './load.js';

export function proxiesCommand(): Command {
  return new Command('proxies')
    .description('list the proxies of a config: sidecars, gateways and proxyless gRPC apps')
    .requiredOption('-c, --config <path>', 'config file or directory (repeatable)', collect)
    .action((opts: { config: string[] }) => {
      const model = loadModelOrExit(opts.config);
      for (const { workload: w, kind } of meshProxies(model)) process.stdout.write(`${w.id}\t${kind}\t${w.address}\t${w.identity}\n`);
    });
}
