import { Command, Option } from 'commander';
import { matrixChanges, changesText, matrixTable } from '../inspect/matrix-table.js';
import { predictMatrix, translatedMatrixInput } from '../inspect/matrix-prediction.js';
import type { MatrixOptions } from '../inspect/matrix-types.js';
import { addConfigSourceFlags, type ConfigSourceFlags, loadModelFromSourceOrExit } from './config-source.js';
import { loadModelOrExit } from './load.js';

const list = (value: string | undefined) =>
  value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function matrixCommand(): Command {
  return addConfigSourceFlags(
    new Command('matrix').description(
      'predict from the config alone what each workload gets calling each service (curl code, mTLS, identity, why)',
    ),
  )
    .option('--from <clients>', 'clients, comma-separated: <ns>/<name>, a workload name or a namespace (default: every workload)')
    .option(
      '--to <services>',
      'services, comma-separated: <host>:<port>, a host, <name>.<ns> or a namespace (default: every mesh-internal port)',
    )
    .option('--path <path>', 'the request path', '/headers')
    .option('--diff-against <dir>', 'print only the cells that differ from the prediction for this config directory; exit 1 when any does')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(
      async (opts: ConfigSourceFlags & { from?: string; to?: string; path: string; diffAgainst?: string; output: 'table' | 'json' }) => {
        if (!opts.path.startsWith('/')) {
          process.stderr.write(`meshlite matrix: --path must start with /, got ${JSON.stringify(opts.path)}\n`);
          process.exitCode = 2;
          return;
        }
        const options: MatrixOptions = { from: list(opts.from), to: list(opts.to), path: opts.path };
        const model = await loadModelFromSourceOrExit(opts, 'matrix');
        const matrix = predictMatrix(translatedMatrixInput(model), options);
        if (matrix.clients.length === 0 || matrix.services.length === 0) {
          const missing =
            matrix.clients.length === 0
              ? `no workload ${options.from ? 'matches --from' : 'in the config'}`
              : options.to
                ? 'no service port matches --to'
                : 'no mesh-internal service in the config (name others with --to)';
          process.stderr.write(`meshlite matrix: ${missing}\n`);
          process.exitCode = 1;
          return;
        }
        if (opts.diffAgainst !== undefined) {
          const old = predictMatrix(translatedMatrixInput(loadModelOrExit([opts.diffAgainst], opts.namespace)), options);
          const changes = matrixChanges(old, matrix);
          process.stdout.write(opts.output === 'json' ? `${JSON.stringify({ changes }, null, 2)}\n` : changesText(changes));
          if (changes.length > 0) process.exitCode = 1;
          return;
        }
        process.stdout.write(opts.output === 'json' ? `${JSON.stringify(matrix, null, 2)}\n` : matrixTable(matrix));
      },
    );
}
