import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { diffConfigDumps, formatDiff } from '../diff/config-diff.js';
import { dumpProxyConfig } from '../translate/proxy-config-dump.js';
import type { StoreFlags } from './store-command.js';
import { addStoreFlags } from './store-connection.js';
import { collect } from './load.js';
import { loadModelFromSourceOrExit } from './config-source.js';
import { addNamespaceFlag } from './namespace-flag.js';

type Obj = Record<string, unknown>;

async function fetchJson(url: string): Promise<Obj> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as Obj;
}

export function diffCommand(): Command {
  const command = new Command('diff')
    .description(
      'compare what an Envoy holds with what meshlite means for it (clusters, listeners, routes, secret names); exit 1 on any difference',
    )
    .requiredOption('--proxy <name.namespace>', 'the proxy')
    .option('--envoy-admin <url>', "the Envoy's admin URL, e.g. http://127.0.0.1:15000")
    .option('--file <path>', 'an Envoy config_dump saved to a file instead')
    .option('-c, --config <path>', "meshlite's meaning from a config directory (offline translation)", collect)
    .option('--meshlite-admin <url>', "meshlite's meaning from a running meshlite's admin, e.g. http://127.0.0.1:15014");
  return addStoreFlags(addNamespaceFlag(command), false, "meshlite's meaning from the config in a store").action(
    async (
      opts: Partial<StoreFlags> & {
        proxy: string;
        envoyAdmin?: string;
        file?: string;
        config?: string[];
        namespace?: string;
        meshliteAdmin?: string;
      },
    ) => {
      if (!opts.envoyAdmin === !opts.file) return usage('give exactly one of --envoy-admin or --file');
      if (opts.store !== undefined) {
        if (opts.meshliteAdmin || opts.config) return usage('give exactly one of -c/--config, --store or --meshlite-admin');
      } else if (!opts.config === !opts.meshliteAdmin) return usage('give exactly one of -c/--config or --meshlite-admin');
      const held = opts.file
        ? (JSON.parse(readFileSync(opts.file, 'utf8')) as Obj)
        : await fetchJson(`${opts.envoyAdmin!.replace(/\/$/, '')}/config_dump`);
      let meant: Obj;
      if (opts.meshliteAdmin) {
        meant = await fetchJson(`${opts.meshliteAdmin.replace(/\/$/, '')}/debug/config_dump?proxy=${encodeURIComponent(opts.proxy)}`);
      } else {
        const result = dumpProxyConfig(await loadModelFromSourceOrExit(opts, 'diff'), opts.proxy);
        if (!result.ok) return usage(result.error);
        meant = result.dump as Obj;
      }
      const diffs = diffConfigDumps(meant, held);
      process.stdout.write(formatDiff(diffs));
      process.exitCode = diffs.every((d) => d.match) ? 0 : 1;
    },
  );
}

function usage(message: string): void {
  process.stderr.write(`meshlite diff: ${message}\n`);
  process.exitCode = 2;
}
