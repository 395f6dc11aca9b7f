// `-n/--namespace`: the namespace of config documents that name none (as
// kubectl's current namespace), unless a `.meshlite-namespace` file in their
// directory (or one above it) names another.
import { type Command, InvalidArgumentError } from 'commander';
import { isNamespaceName } from '../config/config-files.js';
import { DEFAULT_NAMESPACE } from '../config/load-config.js';

export interface NamespaceFlag {
  namespace?: string;
}

export function addNamespaceFlag(command: Command): Command {
  return command.option(
    '-n, --namespace <ns>',
    'namespace of config documents that name none (a .meshlite-namespace file in their directory wins)',
    namespaceName,
    DEFAULT_NAMESPACE,
  );
}

function namespaceName(value: string): string {
  if (!isNamespaceName(value)) throw new InvalidArgumentError('expected a namespace name (a lower-case DNS label)');
  return value;
}
