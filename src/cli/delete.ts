import { Command } from 'commander';
import type { ConfigIssue } from '../config/diagnostics.js';
import { readConfigFiles } from '../config/config-files.js';
import { withDefaults } from '../config/limits.js';
import { DEFAULT_NAMESPACE } from '../config/load-config.js';
import { loadMeshTexts } from '../control-plane/load-mesh.js';
import { type ConfigPlan, planDelete } from '../store/config-plan.js';
import type { ConfigSnapshot } from '../store/config-transaction.js';
import { writeConfig } from '../store/config-write.js';
import { kindMatches, knownKindNames, resolveKind } from '../store/kind-query.js';
import { splitResourceDocuments } from '../store/resource-documents.js';
import { parseConfigKey } from '../store/store-keys.js';
import { outputFormat } from './apply.js';
import { collect } from './load.js';
import {
  EXIT,
  parseCount,
  reportWrite,
  resourceName,
  type StoreFlags,
  whoWrites,
  withStore,
  holdAfterReadForTests,
} from './store-command.js';
import { addStoreFlags } from './store-connection.js';

interface DeleteFlags extends StoreFlags {
  filename?: string[];
  namespace?: string;
  ignoreNotFound?: boolean;
  dryRun?: boolean;
  retries: number;
  output: 'text' | 'json';
}

export function deleteCommand(): Command {
  return addStoreFlags(
    new Command('delete')
      .description(
        'remove config resources from the store, named by files (-f) or by kind and name; refused when the config left would be invalid',
      )
      .argument('[kind]', 'Gateway, gateways, ...')
      .argument('[name]', 'the resource')
      .option('-f, --filename <path>', 'delete the resources these files define (repeatable)', collect)
      .option('-n, --namespace <ns>', 'its namespace (needed when the name is in several); with -f, that of documents naming none'),
  )
    .option('--ignore-not-found', 'a resource that is not stored is no error')
    .option('--dry-run', 'check and print the diff; write nothing')
    .option('--retries <n>', 'on a concurrent write, read, check and try again up to n times', parseCount, 0)
    .option('-o, --output <format>', 'text or json', outputFormat, 'text')
    .action(async (kind: string | undefined, name: string | undefined, flags: DeleteFlags) => {
      const plan = planner(kind, name, flags);
      if (typeof plan === 'string') {
        process.stderr.write(`meshlite delete: ${plan}\n`);
        process.exitCode = EXIT.refused;
        return;
      }
      await withStore(flags, async (store) => {
        const outcome = await writeConfig(store, {
          plan,
          retries: flags.retries,
          dryRun: flags.dryRun === true,
          by: whoWrites(),
          afterRead: holdAfterReadForTests(),
        });
        return reportWrite(outcome, flags.output, 'delete');
      });
    });
}

/** How to plan the delete against a fresh read, or what is wrong with the request. */
function planner(kind: string | undefined, name: string | undefined, flags: DeleteFlags): ((s: ConfigSnapshot) => ConfigPlan) | string {
  const ignore = flags.ignoreNotFound === true;
  if (flags.filename) {
    if (kind !== undefined) return 'give either -f or a kind and name, not both';
    const keys = keysOfFiles(flags.filename, flags.namespace ?? DEFAULT_NAMESPACE);
    if (!Array.isArray(keys)) return keys;
    return (snapshot) => planDelete(snapshot, keys, ignore, { validate: loadMeshTexts });
  }
  if (kind === undefined || name === undefined) return 'name what to delete: -f <file|dir>, or <kind> <name> [-n namespace]';
  if (resolveKind(kind).length === 0) return `unknown kind ${JSON.stringify(kind)} (meshlite reads ${knownKindNames().join(', ')})`;
  return (snapshot) => {
    const matches = snapshot.resources.filter((r) => {
      const parts = parseConfigKey(r.key);
      return (
        parts !== undefined &&
        kindMatches(parts, kind) &&
        parts.name === name &&
        (flags.namespace === undefined || parts.namespace === flags.namespace)
      );
    });
    if (matches.length > 1) {
      const names = matches.map((m) => resourceName(m.key)).join(', ');
      return refused(`${kind} ${name}`, `names ${matches.length} resources (${names}); pick one with -n`);
    }
    if (matches.length === 0 && !ignore) {
      const where = flags.namespace === undefined ? name : `${flags.namespace}/${name}`;
      return { ...refused(`${kind} ${where}`, 'not found in the store'), notFound: [`${kind} ${where}`] };
    }
    return planDelete(
      snapshot,
      matches.map((m) => ({ key: m.key })),
      ignore,
      { validate: loadMeshTexts },
    );
  };
}

/** The keys apply would have written the files' resources under. */
function keysOfFiles(paths: string[], namespace: string): { key: string; source: string }[] | string {
  const read = readConfigFiles(paths, process.cwd(), withDefaults());
  const problems: ConfigIssue[] = [...read.issues];
  const keys: { key: string; source: string }[] = [];
  for (const file of read.files) {
    for (const doc of splitResourceDocuments(file.text, file.defaultNamespace ?? namespace)) {
      if (doc.key === undefined)
        problems.push({
          file: file.display,
          line: 0,
          column: 0,
          path: '',
          message: 'a document names no resource (apiVersion, kind, metadata.name)',
        });
      else keys.push({ key: doc.key, source: file.display });
    }
  }
  if (problems.length > 0) return problems.map((p) => `${p.file}: ${p.message}`).join('\n');
  if (keys.length === 0) return `no resources in ${paths.join(', ')}`;
  return keys;
}

function refused(what: string, message: string): ConfigPlan & { ok: false } {
  return { ok: false, issues: [{ file: what, line: 0, column: 0, path: '', message }], totalIssues: 1 };
}
