import { Command } from 'commander';
import { type ConfigIssue, formatIssues } from '../config/diagnostics.js';
import { DEFAULT_NAMESPACE, type LoadResult } from '../config/load-config.js';
import { parseYamlText, readYamlFiles, type YamlDocument } from '../config/yaml-files.js';
import { documentLocator } from '../analyze/document-locator.js';
import type { FieldLocator } from '../analyze/finding.js';
import type { ConfigSet } from '../config/types.js';
import { loadMeshConfig } from '../control-plane/load-mesh.js';
import { type TranslationWarning, translationWarnings } from '../analyze/translation-warnings.js';
import { addConfigSourceFlags, loadStoreConfig, withConfigSource } from './config-source.js';
import { addLimitOptions, limitsFrom } from './limit-options.js';

interface ValidateOptions extends Record<string, unknown> {
  config?: string[];
  store?: string;
  namespace?: string;
  output: string;
}

export function validateCommand(): Command {
  return addLimitOptions(
    addConfigSourceFlags(
      new Command('validate').description(
        'check a config directory (or the config in a store); prints every error with file:line:column, exit 1 on errors',
      ),
    ),
  )
    .option('-o, --output <format>', 'text or json', 'text')
    .action((opts: ValidateOptions) => {
      if (opts.output !== 'text' && opts.output !== 'json') throw new Error(`validate: -o must be text or json, not "${opts.output}"`);
      return withConfigSource(opts, 'validate', async (source, store) => {
        const limits = limitsFrom(opts);
        if (source.kind === 'files') {
          const result = loadMeshConfig(source.paths, { limits, defaultNamespace: opts.namespace });
          const documents = () => readYamlFiles(source.paths, process.cwd(), undefined, opts.namespace ?? DEFAULT_NAMESPACE).documents;
          return report(result, `${result.files.length} file(s)`, opts.output, documents);
        }
        const loaded = await loadStoreConfig(store!, { limits });
        const documents = () => loaded.texts.flatMap((t) => parseYamlText(t.text, t.name).documents);
        return report(
          loaded.result,
          `${loaded.keys} key(s) of ${store!.description} at revision ${loaded.revision}`,
          opts.output,
          documents,
        );
      });
    });
}

/** How many resources of each kind, in a fixed order, kinds without any left out. */
export function kindCounts(c: ConfigSet): Record<string, number> {
  const lists: [string, readonly unknown[]][] = [
    ['ServiceEntry', c.serviceEntries],
    ['WorkloadEntry', c.workloadEntries],
    ['WorkloadGroup', c.workloadGroups ?? []],
    ['PeerAuthentication', c.peerAuthentications],
    ['DestinationRule', c.destinationRules],
    ['VirtualService', c.virtualServices],
    ['Gateway', c.gateways],
    ['AuthorizationPolicy', c.authorizationPolicies],
    ['RequestAuthentication', c.requestAuthentications],
    ['Sidecar', c.sidecars],
  ];
  return Object.fromEntries(lists.filter(([, list]) => list.length > 0).map(([kind, list]) => [kind, list.length]));
}

const issueJson = (i: ConfigIssue) => ({ file: i.file, line: i.line, column: i.column, field: i.path, message: i.message });

/** `documents`: the YAML read again, to place each warning at its rule (read only when there is a warning). */
function report(result: LoadResult, where: string, output: string, documents: () => YamlDocument[]): void {
  if (!result.ok) {
    process.exitCode = 1;
    if (output === 'json') {
      const json = { ok: false, errors: result.issues.map(issueJson), totalErrors: result.totalIssues, warnings: [] };
      process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      return;
    }
    for (const line of formatIssues(result.issues, result.totalIssues)) process.stderr.write(`${line}\n`);
    process.stderr.write(`${result.totalIssues} error(s)\n`);
    return;
  }
  const byKind = kindCounts(result.config);
  const total = Object.values(byKind).reduce((a, b) => a + b, 0);
  let locator: FieldLocator | undefined;
  const warnings = translationWarnings(result.config, {
    locate: (source, path) => (locator ??= documentLocator(documents()))(source, path),
  });
  if (output === 'json') {
    const json = { ok: true, resources: total, byKind, where, errors: [], totalErrors: 0, warnings };
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  for (const w of warnings) process.stderr.write(`${warningLine(w)}\n`);
  const kinds = Object.entries(byKind)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');
  process.stdout.write(`ok: ${total} resources${kinds ? ` (${kinds})` : ''} in ${where}\n`);
}

function warningLine(w: TranslationWarning): string {
  const at = w.file ? `${w.file}:${w.line}: ` : '';
  const shown = w.proxies.slice(0, 3).join(', ');
  const more = w.proxies.length > 3 ? ` and ${w.proxies.length - 3} more` : '';
  return `warning: ${at}${w.message} (proxies: ${shown}${more})`;
}
