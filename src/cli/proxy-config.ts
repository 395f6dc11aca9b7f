// `meshlite proxy-config <kind> [proxy]`: a proxy's clusters, listeners,
// routes, endpoints or secrets as tables (or the full resources), from one of
// three sources that all give a config_dump: a real Envoy's admin, meshlite's
// view of what it serves the proxy, or an offline translation (-c | --store).
import { Command, InvalidArgumentError, Option } from 'commander';
import { stringify } from 'yaml';
import { dumpProxyConfig } from '../translate/proxy-config-dump.js';
import { meshProxies } from '../translate/translator.js';
import { addConfigSourceFlags, type ConfigSourceFlags, loadModelFromSourceOrExit } from './config-source.js';
import { DUMP_KINDS, type DumpKind, dumpEndpoints, dumpSecrets, redactKeys, resourcesOf, type Resource } from './config-dump-sections.js';
import { type ClusterFilter, clusterMatches, clusterTable, listenerTable, routeTable, type Table } from './config-dump-tables.js';
import { type AdminTarget, adminBase, answerError, exitLine, getJson, tokenFromFile } from './http-json.js';
import { endpointTableFromEds, endpointTableFromEnvoyClusters, secretTable } from './secret-endpoint-tables.js';
import { MESHLITE_ADMIN_HELP } from './status.js';
import { EXIT } from './store-command.js';
import { formatColumns } from './text-columns.js';

type Kind = DumpKind | 'all';

interface ProxyConfigOptions extends ConfigSourceFlags, ClusterFilter {
  meshliteAdmin?: string;
  envoyAdmin?: string;
  adminTokenFile?: string;
  output: 'table' | 'json' | 'yaml';
  name?: string;
  cluster?: string;
}

/** Where the dump came from; an Envoy can also be asked for its endpoints' live health. */
interface LoadedDump {
  dump: unknown;
  envoy?: AdminTarget;
}

export function proxyConfigCommand(): Command {
  return addConfigSourceFlags(
    new Command('proxy-config')
      .description(
        "a proxy's clusters, listeners, routes, endpoints or secrets: from a running Envoy (--envoy-admin), from what meshlite serves it (--meshlite-admin), or translated offline (-c | --store)",
      )
      .argument('<kind>', `${DUMP_KINDS.join(', ')} or all`, kindArgument)
      .argument('[proxy]', 'the proxy (name.namespace); optional with --envoy-admin'),
    'config file or directory to translate offline (repeatable)',
  )
    .option('--meshlite-admin <url>', MESHLITE_ADMIN_HELP)
    .option('--admin-token-file <path>', "with --meshlite-admin: file holding meshlite serve's admin bearer token")
    .option('--envoy-admin <url>', "a running Envoy's admin (http://host:port or host:port)")
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .option('--fqdn <host>', 'clusters: only this service host')
    .option('--port <number>', 'clusters: only this port', portArgument)
    .addOption(new Option('--direction <direction>', 'clusters: only this direction').choices(['inbound', 'outbound']))
    .option('--name <name>', 'listeners and routes: only the one of this name')
    .option('--cluster <name>', 'endpoints: only this cluster')
    .action(async (kind: Kind, proxy: string | undefined, opts: ProxyConfigOptions) => {
      const loaded = await loadDump(proxy, opts);
      const kinds = kind === 'all' ? DUMP_KINDS : [kind];
      if (opts.output !== 'table') {
        const value =
          kind === 'all' ? redactKeys(loaded.dump) : redactKeys(selectResources(loaded.dump, kind, opts).map((r) => r as unknown));
        process.stdout.write(opts.output === 'yaml' ? stringify(value, { lineWidth: 0 }) : `${JSON.stringify(value, null, 2)}\n`);
        return;
      }
      const tables: string[] = [];
      for (const k of kinds) {
        const table = await tableOf(k, loaded, opts);
        tables.push(formatColumns(table.header, table.rows));
      }
      process.stdout.write(tables.join('\n'));
    });
}

function kindArgument(value: string): Kind {
  if (value === 'all' || (DUMP_KINDS as readonly string[]).includes(value)) return value as Kind;
  throw new InvalidArgumentError(`one of ${DUMP_KINDS.join(', ')}, all`);
}

function portArgument(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new InvalidArgumentError('a port number (1-65535)');
  return port;
}

/** The resources of one kind, after the filters given. */
function selectResources(dump: unknown, kind: DumpKind, opts: ProxyConfigOptions): Resource[] {
  const resources = resourcesOf(dump, kind);
  switch (kind) {
    case 'clusters':
      return resources.filter((c) => clusterMatches(c, opts));
    case 'listeners':
    case 'routes':
      return opts.name === undefined ? resources : resources.filter((r) => r.name === opts.name);
    case 'endpoints':
      return opts.cluster === undefined ? resources : resources.filter((e) => e.cluster_name === opts.cluster);
    case 'secrets':
      return resources;
  }
}

async function tableOf(kind: DumpKind, loaded: LoadedDump, opts: ProxyConfigOptions): Promise<Table> {
  switch (kind) {
    case 'clusters':
      return clusterTable(selectResources(loaded.dump, kind, opts));
    case 'listeners':
      return listenerTable(selectResources(loaded.dump, kind, opts));
    case 'routes':
      return routeTable(selectResources(loaded.dump, kind, opts));
    case 'secrets':
      return secretTable(dumpSecrets(loaded.dump), Date.now());
    case 'endpoints': {
      // An Envoy asked without include_eds, or an older one, dumps no EDS: its /clusters has every host.
      if (loaded.envoy && dumpEndpoints(loaded.dump).length === 0) {
        const answer = await getJson('proxy-config', loaded.envoy, '/clusters?format=json');
        if (answer.status !== 200) exitLine(`meshlite proxy-config: /clusters answered: ${answerError(answer)}`, EXIT.refused);
        return endpointTableFromEnvoyClusters(answer.body as Resource, opts.cluster);
      }
      return endpointTableFromEds(dumpEndpoints(loaded.dump), opts.cluster);
    }
  }
}

async function loadDump(proxy: string | undefined, opts: ProxyConfigOptions): Promise<LoadedDump> {
  const offline = (opts.config?.length ?? 0) > 0 || opts.store !== undefined;
  const given = [opts.envoyAdmin !== undefined, opts.meshliteAdmin !== undefined, offline].filter(Boolean).length;
  if (given !== 1)
    exitLine(
      `meshlite proxy-config: give exactly one source: --envoy-admin <url>, --meshlite-admin <url>, or -c <dir> | --store <url>`,
      EXIT.usage,
    );
  if (opts.envoyAdmin !== undefined) {
    const envoy: AdminTarget = { base: adminBase('proxy-config', opts.envoyAdmin, '--envoy-admin'), what: 'the Envoy admin' };
    const answer = await getJson('proxy-config', envoy, '/config_dump?include_eds');
    if (answer.status !== 200) exitLine(`meshlite proxy-config: the Envoy's /config_dump answered: ${answerError(answer)}`, EXIT.refused);
    return { dump: answer.body, envoy };
  }
  if (opts.meshliteAdmin !== undefined) {
    if (proxy === undefined) exitLine('meshlite proxy-config: with --meshlite-admin give the proxy (name.namespace)', EXIT.usage);
    const target: AdminTarget = {
      base: adminBase('proxy-config', opts.meshliteAdmin, '--meshlite-admin'),
      token: tokenFromFile('proxy-config', opts.adminTokenFile),
      what: "meshlite's admin server",
    };
    const answer = await getJson('proxy-config', target, `/debug/config_dump?proxy=${encodeURIComponent(proxy)}`);
    if (answer.status !== 200) {
      const connected = (answer.body as { connected?: string[] }).connected;
      exitLine(
        `meshlite proxy-config: ${answerError(answer)}${connected ? ` (connected: ${connected.join(', ') || 'none'})` : ''}`,
        EXIT.refused,
      );
    }
    return { dump: answer.body };
  }
  const model = await loadModelFromSourceOrExit(opts, 'proxy-config');
  const proxies = meshProxies(model).map((p) => p.workload.id);
  if (proxy === undefined) exitLine(`meshlite proxy-config: give the proxy (name.namespace); proxies: ${proxies.join(', ')}`, EXIT.usage);
  const result = dumpProxyConfig(model, proxy);
  if (!result.ok) exitLine(`meshlite proxy-config: ${result.error}`, EXIT.refused);
  return { dump: result.dump };
}
