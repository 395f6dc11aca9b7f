import { Command } from 'commander';
import { readConfigSnapshot } from '../store/config-transaction.js';
import type { StoredValue } from '../store/etcd-store.js';
import { kindMatches, knownKindNames, resolveKind } from '../store/kind-query.js';
import { CLUSTER_SCOPED, parseConfigKey } from '../store/store-keys.js';
import { EXIT, resourceName, type StoreFlags, withStore } from './store-command.js';
import { addStoreFlags } from './store-connection.js';

interface GetFlags extends StoreFlags {
  namespace?: string;
  allNamespaces?: boolean;
  output: 'table' | 'yaml' | 'json' | 'name';
}

export function getCommand(): Command {
  return addStoreFlags(
    new Command('get')
      .description('list the config resources in the store (all namespaces unless -n); -o yaml prints them as input for apply')
      .argument('[kind]', 'Gateway, gateway, gateways, authorizationpolicies, ...')
      .argument('[name]', 'one resource of that kind')
      .option('-n, --namespace <ns>', 'only this namespace')
      .option('-A, --all-namespaces', 'every namespace (the default)'),
  )
    .option('-o, --output <format>', 'table, yaml, json or name', getFormat, 'table')
    .action(async (kind: string | undefined, name: string | undefined, flags: GetFlags) => {
      if (kind !== undefined && resolveKind(kind).length === 0) {
        process.stderr.write(`meshlite get: unknown kind ${JSON.stringify(kind)} (meshlite reads ${knownKindNames().join(', ')})\n`);
        process.exitCode = EXIT.refused;
        return;
      }
      const namespace = flags.allNamespaces ? undefined : flags.namespace;
      await withStore(flags, async (store) => {
        const snapshot = await readConfigSnapshot(store);
        const found = snapshot.resources.filter((r) => selected(r, kind, name, namespace));
        if (name !== undefined && found.length === 0) {
          const where = namespace === undefined ? '' : ` in namespace ${namespace}`;
          process.stderr.write(`meshlite get: ${kind} ${JSON.stringify(name)} not found${where}\n`);
          return EXIT.refused;
        }
        printResources(found, flags.output);
        if (found.length === 0 && flags.output === 'table') process.stderr.write('no resources found\n');
        return EXIT.ok;
      });
    });
}

function selected(entry: StoredValue, kind: string | undefined, name: string | undefined, namespace: string | undefined): boolean {
  const parts = parseConfigKey(entry.key);
  if (!parts) return kind === undefined && namespace === undefined; // a key written by hand: listed when nothing narrows the list
  if (kind !== undefined && !kindMatches(parts, kind)) return false;
  if (name !== undefined && parts.name !== name) return false;
  return namespace === undefined || parts.namespace === namespace;
}

function printResources(found: readonly StoredValue[], output: GetFlags['output']): void {
  if (output === 'yaml') {
    process.stdout.write(found.map((r) => withNewline(r.value.toString('utf8'))).join('---\n'));
    return;
  }
  if (output === 'name') {
    for (const r of found) process.stdout.write(`${resourceName(r.key)}\n`);
    return;
  }
  if (output === 'json') {
    const list = found.map((r) => ({
      key: r.key,
      ...parseConfigKey(r.key),
      modRevision: r.modRevision,
      createRevision: r.createRevision,
      value: r.value.toString('utf8'),
    }));
    process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return;
  }
  if (found.length === 0) return;
  const rows = [['NAMESPACE', 'KIND', 'NAME', 'REVISION']];
  for (const r of found) {
    const parts = parseConfigKey(r.key);
    rows.push(
      parts ? [parts.namespace ?? CLUSTER_SCOPED, parts.kind, parts.name, String(r.modRevision)] : ['?', '?', r.key, String(r.modRevision)],
    );
  }
  const widths = rows[0]!.map((_, i) => rows.reduce((w, row) => Math.max(w, row[i]!.length), 0));
  for (const row of rows)
    process.stdout.write(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('')}\n`);
}

function getFormat(value: string): GetFlags['output'] {
  if (value !== 'table' && value !== 'yaml' && value !== 'json' && value !== 'name')
    throw new Error(`-o ${value}: expected table, yaml, json or name`);
  return value;
}

function withNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}
