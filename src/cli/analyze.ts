// `meshlite analyze`: cross-resource checks on a config that validates, each
// finding with a stable code, its severity, the resource and file:line of the
// field, and what to do. Exit 1 when a finding is at or above --failure-threshold.
import { Command } from 'commander';
import { formatIssues } from '../config/diagnostics.js';
import { DEFAULT_NAMESPACE, type LoadResult } from '../config/load-config.js';
import { parseYamlText, readYamlFiles, type YamlDocument } from '../config/yaml-files.js';
import { analyzeConfig } from '../analyze/analyze-config.js';
import { documentLocator } from '../analyze/document-locator.js';
import { countBySeverity, type Finding, formatFinding, SEVERITIES, type Severity, severityRank } from '../analyze/finding.js';
import { loadMeshConfig } from '../control-plane/load-mesh.js';
import { addConfigSourceFlags, type ConfigSourceFlags, loadStoreConfig, withConfigSource } from './config-source.js';

interface AnalyzeOptions extends ConfigSourceFlags {
  failureThreshold: string;
  output: string;
}

export function analyzeCommand(): Command {
  return addConfigSourceFlags(
    new Command('analyze').description(
      'cross-resource checks on a valid config (mTLS mismatches, selectors and hosts that match nothing, shadowed routes, ...); see docs/analyze.md',
    ),
  )
    .option('--failure-threshold <severity>', 'exit 1 when a finding is at least this severe: Error, Warning or Info', 'Error')
    .option('-o, --output <format>', 'text or json', 'text')
    .action((opts: AnalyzeOptions) => {
      const threshold = SEVERITIES.find((s) => s.toLowerCase() === opts.failureThreshold.toLowerCase());
      if (!threshold) throw new Error(`analyze: --failure-threshold must be Error, Warning or Info, not "${opts.failureThreshold}"`);
      if (opts.output !== 'text' && opts.output !== 'json') throw new Error(`analyze: -o must be text or json, not "${opts.output}"`);
      return withConfigSource(opts, 'analyze', async (source, store) => {
        if (source.kind === 'files') {
          const result = loadMeshConfig(source.paths, { defaultNamespace: opts.namespace });
          const documents = () => readYamlFiles(source.paths, process.cwd(), undefined, opts.namespace ?? DEFAULT_NAMESPACE).documents;
          return run(result, documents, threshold, opts.output);
        }
        const loaded = await loadStoreConfig(store!);
        const documents = () => loaded.texts.flatMap((t) => parseYamlText(t.text, t.name).documents);
        return run(loaded.result, documents, threshold, opts.output);
      });
    });
}

function run(result: LoadResult, documents: () => YamlDocument[], threshold: Severity, output: string): void {
  if (!result.ok) {
    for (const line of formatIssues(result.issues, result.totalIssues)) process.stderr.write(`${line}\n`);
    process.stderr.write(`${result.totalIssues} error(s): the config does not validate (meshlite validate); fix them before analyzing\n`);
    process.exitCode = 1;
    return;
  }
  const findings = analyzeConfig(result.config, { locate: documentLocator(documents()) });
  if (output === 'json') process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
  else process.stdout.write(textReport(findings));
  if (findings.some((f) => severityRank(f.severity) <= severityRank(threshold))) process.exitCode = 1;
}

function textReport(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'no findings\n';
  const counts = countBySeverity(findings);
  const summary = SEVERITIES.map((s) => `${counts[s]} ${s}`).join(', ');
  return `${findings.map(formatFinding).join('\n')}\n${findings.length} finding(s): ${summary}\n`;
}
