// What shell completion needs to know of the CLI, read from the commander
// program itself so that it cannot drift: each command path with its
// subcommands, its flags, and which flags take a value (with their choices).
import type { Command } from 'commander';

export interface CompletionNode {
  /** The words from the program name down to this command, e.g. ['meshlite', 'token', 'revoke']. */
  path: string[];
  subcommands: string[];
  flags: string[];
  /** Flags followed by a value, with the values allowed (empty: any, e.g. a file). */
  valued: Map<string, string[]>;
}

export function completionTree(program: Command): CompletionNode[] {
  const nodes: CompletionNode[] = [];
  const visit = (command: Command, path: string[]) => {
    const help = command.createHelp();
    const children = help.visibleCommands(command);
    const flags: string[] = [];
    const valued = new Map<string, string[]>();
    for (const option of help.visibleOptions(command)) {
      for (const flag of [option.short, option.long]) {
        if (flag === undefined) continue;
        flags.push(flag);
        if (option.required) valued.set(flag, option.argChoices ?? []);
      }
    }
    nodes.push({ path, subcommands: children.flatMap((c) => [c.name(), ...c.aliases()]), flags, valued });
    for (const child of children) if (child.name() !== 'help' || child.commands.length > 0) visit(child, [...path, child.name()]);
  };
  visit(program, [program.name()]);
  return nodes;
}
