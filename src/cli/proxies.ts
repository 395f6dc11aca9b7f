import { Command } from 'commander';
import { meshProxies } from '../translate/translator.js';
import { addConfigSourceFlags, type ConfigSourceFlags, loadModelFromSourceOrExit } from './config-source.js';

export function proxiesCommand(): Command {
  return addConfigSourceFlags(
    new Command('proxies').description('list the proxies of a config (files or a store): sidecars, gateways and proxyless gRPC apps'),
  ).action(async (opts: ConfigSourceFlags) => {
    const model = await loadModelFromSourceOrExit(opts, 'proxies');
    for (const { workload: w, kind } of meshProxies(model)) process.stdout.write(`${w.id}\t${kind}\t${w.address}\t${w.identity}\n`);
  });
}
