import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import type { Json } from '../proto/proto-json.js';
import type { MeshModel } from '../model/mesh-model.js';
import { viewToJson } from '../model/view-json.js';
import { authorizationReport } from '../translate/authorization-report.js';
import { dumpProxyConfig, formatJson } from '../translate/proxy-config-dump.js';
import { meshProxies } from '../translate/translator.js';
import { RESOURCE_TYPES, type ResourceType } from '../xds/type-urls.js';
import { addConfigSourceFlags, type ConfigSourceFlags, loadModelFromSourceOrExit } from './config-source.js';

const SECTION_INDEX: Record<ResourceType, number> = { clusters: 0, endpoints: 1, listeners: 2, routes: 3, secrets: 4 };

export function generateCommand(): Command {
  return addConfigSourceFlags(
    new Command('generate').description(
      "translate offline (files, or a store's config) and print a proxy's Envoy config in config_dump shape",
    ),
  )
    .option('--proxy <name.namespace>', 'the workload (sidecar, gateway or proxyless gRPC app) whose config to print')
    .option('--all', 'every proxy, as {proxy: dump}')
    .addOption(
      new Option(
        '--type <type>',
        "only one resource type; 'rbac': the access-control policies that apply and the Envoy filters enforcing them; 'view': what the model resolved for the proxy, before Envoy builders",
      )
        .choices([...RESOURCE_TYPES, 'rbac', 'view', 'all'])
        .default('all'),
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['json', 'yaml']).default('json'))
    .action(
      async (
        opts: ConfigSourceFlags & {
          proxy?: string;
          all?: boolean;
          type: ResourceType | 'rbac' | 'view' | 'all';
          output: 'json' | 'yaml';
        },
      ) => {
        const model = await loadModelFromSourceOrExit(opts, 'generate');
        if (!opts.proxy && !opts.all) {
          process.stderr.write(
            `--proxy <name.namespace> or --all is required; proxies: ${meshProxies(model)
              .map((p) => p.workload.id)
              .join(', ')}\n`,
          );
          process.exitCode = 2;
          return;
        }
        const ids = opts.all ? meshProxies(model).map((p) => p.workload.id) : [opts.proxy!];
        const out: Record<string, Json> = {};
        for (const id of ids) {
          const result = section(model, id, opts.type);
          if (!result.ok) {
            process.stderr.write(`${result.error}\n`);
            process.exitCode = 1;
            return;
          }
          for (const warning of result.warnings) process.stderr.write(`warning: ${id}: ${warning}\n`);
          out[id] = result.value;
        }
        const value = opts.all ? out : out[ids[0]!]!;
        process.stdout.write(opts.output === 'yaml' ? stringify(value, { lineWidth: 0 }) : formatJson(value));
      },
    );
}

/** What `generate` prints for one proxy: its config_dump (or one section of it), or its access-control report. */
function section(
  model: MeshModel,
  id: string,
  type: ResourceType | 'rbac' | 'view' | 'all',
): { ok: true; value: Json; warnings: readonly string[] } | { ok: false; error: string } {
  if (type === 'rbac') {
    const report = authorizationReport(model, id);
    return report.ok ? { ok: true, value: report.report as unknown as Json, warnings: report.report.warnings } : report;
  }
  const result = dumpProxyConfig(model, id);
  if (!result.ok) return result;
  const value = type === 'all' ? result.dump : type === 'view' ? (viewToJson(result.view) as Json) : pickSection(result.dump, type);
  return { ok: true, value, warnings: result.resources.warnings };
}

function pickSection(dump: Json, type: ResourceType): Json {
  const configs = (dump as { configs: Json[] }).configs;
  return configs[SECTION_INDEX[type]] ?? {};
}
