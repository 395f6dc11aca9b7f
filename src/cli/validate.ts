import { Command } from 'commander';
import { formatIssues } from '../config/diagnostics.js';
import type { LoadResult } from '../config/load-config.js';
import { loadMeshConfig } from '../control-plane/load-mesh.js';
import { addConfigSourceFlags, loadStoreConfig, withConfigSource } from './config-source.js';
import { addLimitOptions, limitsFrom } from './limit-options.js';

export function validateCommand(): Command {
  return addLimitOptions(
    addConfigSourceFlags(
      new Command('validate').description(
        'check a config directory (or the config in a store); prints every error with file:line:column, exit 1 on errors',
      ),
    ),
  ).action((opts: { config?: string[]; store?: string; namespace?: string } & Record<string, unknown>) =>
    withConfigSource(opts, 'validate', async (source, store) => {
      const limits = limitsFrom(opts);
      if (source.kind === 'files')
        return report(loadMeshConfig(source.paths, { limits, defaultNamespace: opts.namespace }), (files) => `${files} file(s)`);
      const loaded = await loadStoreConfig(store!, { limits });
      return report(loaded.result, () => `${loaded.keys} key(s) of ${store!.description} at revision ${loaded.revision}`);
    }),
  );
}

function report(result: LoadResult, where: (files: number) => string): void {
  if (!result.ok) {
    for (const line of formatIssues(result.issues, result.totalIssues)) process.stderr.write(`${line}\n`);
    process.stderr.write(`${result.totalIssues} error(s)\n`);
    process.exitCode = 1;
    return;
  }
  const c = result.config;
  const count = c.peerAuthentications.length + c.destinationRules.length + c.serviceEntries.length + c.workloadEntries.length;
  process.stdout.write(`ok: ${count} resources in ${where(result.files.length)}\n`);
}
