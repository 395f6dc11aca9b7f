import { Command } from 'commander';
import { parseDurationSeconds } from './duration.js';
import { collect, loadModelOrExit } from './load.js';
import { DEFAULT_STATE_DIR, loadIdentityState, requireEnvoyProxy } from './state.js';

export function tokenCommand(): Command {
  return new Command('token')
    .description('print the ADS bearer token for a proxy (signed with the key in the state directory)')
    .requiredOption('-c, --config <path>', 'config file or directory (repeatable)', collect)
    .requiredOption('--proxy <name.namespace>', 'the workload the token is for')
    .option('--state-dir <dir>', 'meshlite state directory (CA root, token key)', DEFAULT_STATE_DIR)
    .option('--ca-dir <dir>', 'plugged-in CA directory (Istio cacerts layout)')
    .option('--ttl <duration>', 'token lifetime', '365d')
    .action(async (opts: { config: string[]; proxy: string; stateDir: string; caDir?: string; ttl: string }) => {
      const model = loadModelOrExit(opts.config);
      requireEnvoyProxy(model, opts.proxy);
      const { tokens } = await loadIdentityState(opts.stateDir, opts.caDir, model);
      process.stdout.write(`${await tokens.issue(opts.proxy, parseDurationSeconds(opts.ttl))}\n`);
    });
}
