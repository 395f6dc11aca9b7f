import { Command } from 'commander';
import { sidecarProxies } from '../xds/proxy-resources.js';
import { collect, loadModelOrExit } from './load.js';

export function proxiesCommand(): Command {
  return new Command('proxies')
    .description('list the sidecar proxies (workloads with security.istio.io/tlsMode: istio) of a config')
    .requiredOption('-c, --config <path>', 'config file or directory (repeatable)', collect)
    .action((opts: { config: string[] }) => {
      const model = loadModelOrExit(opts.config);
      for (const w of sidecarProxies(model)) process.stdout.write(`${w.id}\t${w.address}\t${w.identity}\n`);
    });
}
