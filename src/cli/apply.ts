import { Command } from 'commander';
import { readConfigFiles } from '../config/config-files.js';
import { withDefaults } from '../config/limits.js';
import { loadMeshTexts } from '../control-plane/load-mesh.js';
import { planApply } from '../store/config-plan.js';
import { writeConfig } from '../store/config-write.js';
import { collect } from './load.js';
import { parseCount, reportWrite, type StoreFlags, whoWrites, withStore, holdAfterReadForTests } from './store-command.js';
import { addNamespaceFlag, type NamespaceFlag } from './namespace-flag.js';
import { addStoreFlags } from './store-connection.js';

interface ApplyFlags extends StoreFlags, NamespaceFlag {
  filename: string[];
  dryRun?: boolean;
  retries: number;
  output: 'text' | 'json';
}

export function applyCommand(): Command {
  return addStoreFlags(
    addNamespaceFlag(
      new Command('apply')
        .description(
          'write config files into the store: the whole resulting config is validated first, then every change lands in one transaction (exit 1 invalid, 3 conflict, 4 store unavailable)',
        )
        .requiredOption('-f, --filename <path>', 'config file or directory (repeatable)', collect),
    ),
  )
    .option('--dry-run', 'validate and print the diff of each changed key; write nothing')
    .option(
      '--retries <n>',
      'when another write lands between the read and the write, read, validate and try again up to n times',
      parseCount,
      0,
    )
    .option('-o, --output <format>', 'text or json', outputFormat, 'text')
    .action(async (flags: ApplyFlags) => {
      // The files are read once; each attempt plans them against a fresh read of the store.
      const read = readConfigFiles(flags.filename, process.cwd(), withDefaults());
      if (read.issues.length > 0) {
        // Files that cannot be read are refused before the store is asked anything.
        process.exitCode = reportWrite(
          { kind: 'invalid', plan: { ok: false, issues: read.issues, totalIssues: read.issues.length } },
          flags.output,
          'apply',
        );
        return;
      }
      // What is stored names its namespace: the directory's, else -n's, is written into documents that name none.
      const files = read.files.map((f) => ({ ...f, defaultNamespace: f.defaultNamespace ?? flags.namespace }));
      await withStore(flags, async (store) => {
        const outcome = await writeConfig(store, {
          plan: (snapshot) => planApply(snapshot, files, read.issues, { validate: loadMeshTexts }),
          retries: flags.retries,
          dryRun: flags.dryRun === true,
          by: whoWrites(),
          afterRead: holdAfterReadForTests(),
        });
        return reportWrite(outcome, flags.output, 'apply');
      });
    });
}

export function outputFormat(value: string): 'text' | 'json' {
  if (value !== 'text' && value !== 'json') throw new Error(`-o ${value}: expected text or json`);
  return value;
}
