// `meshlite completion bash|zsh`: prints a completion script for the shell,
// generated from this program's own commands and flags.
import { Argument, Command } from 'commander';
import { bashCompletion, zshCompletion } from './completion-scripts.js';
import { completionTree } from './completion-tree.js';

export function completionCommand(program: Command): Command {
  return new Command('completion')
    .description(
      'print a shell completion script: `source <(meshlite completion bash)`, or save the zsh one as _meshlite in a directory of $fpath',
    )
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') => {
      const nodes = completionTree(program);
      process.stdout.write(shell === 'bash' ? bashCompletion(nodes) : zshCompletion(nodes));
    });
}
