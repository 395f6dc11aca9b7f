// `meshlite import marathon`: Istio resources (ServiceEntry, WorkloadEntry) for
// saved Marathon API answers, printed as YAML after the same checks serve runs.
import { Command, InvalidArgumentError } from 'commander';
import { isNamespaceName } from '../config/config-files.js';
import { formatIssues } from '../config/diagnostics.js';
import { loadConfigTexts } from '../config/load-texts.js';
import { readMarathonFiles } from '../config/marathon/marathon-files.js';
import { mapMarathon } from '../config/marathon/marathon-mapping.js';

export function importCommand(): Command {
  const marathon = new Command('marathon')
    .description(
      'print ServiceEntry/WorkloadEntry YAML for Marathon apps (GET /v2/apps?embed=apps.tasks) and pods (GET /v2/pods/::status) saved as JSON',
    )
    .argument('<paths...>', 'JSON files, or directories of *.json files')
    .option(
      '-n, --namespace <ns>',
      'namespace of apps without a meshlite.io/namespace label (default: the first segment of an id like /shop/cart, else "default")',
      (value: string) => {
        if (!isNamespaceName(value)) throw new InvalidArgumentError('expected a namespace name (a lower-case DNS label)');
        return value;
      },
    )
    .action((paths: string[], opts: { namespace?: string }) => {
      let read: ReturnType<typeof readMarathonFiles>;
      try {
        read = readMarathonFiles(paths);
      } catch (err) {
        process.stderr.write(`meshlite import marathon: ${(err as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      const sources = mapMarathon(read.apps, read.pods, { namespace: opts.namespace });
      const texts = sources.filter((s) => s.text !== '');
      const loaded = loadConfigTexts(texts);
      if (!loaded.ok) {
        for (const line of formatIssues(loaded.issues, loaded.totalIssues)) process.stderr.write(`${line}\n`);
        process.stderr.write(`${loaded.totalIssues} error(s): nothing printed\n`);
        process.exitCode = 1;
        return;
      }
      const out = sources.map((s) => {
        const notes = s.notes.map((n) => `# note: ${n}\n`).join('');
        return `# from ${s.name}\n${notes}${s.text}`;
      });
      process.stdout.write(out.join('---\n'));
    });
  return new Command('import').description('translate another registry into meshlite config').addCommand(marathon);
}
