// The config load limits as command-line flags, shared by `validate` and
// `serve` so a config that validates is one that serve accepts.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_LOAD_LIMITS, LIMIT_FLAGS, type LoadLimits } from '../config/limits.js';

const DESCRIPTIONS: Record<keyof LoadLimits, string> = {
  maxFileBytes: 'largest config file read, in bytes',
  maxTotalBytes: 'most bytes read across all config files',
  maxDocumentsPerFile: 'most YAML documents in one file',
  maxListItems: 'most items in one list of a resource (hosts, endpoints, rules...)',
  maxDepth: 'deepest nesting of maps and lists in one document',
  maxAliases: 'most YAML alias (*name) expansions in one document',
  maxReportedErrors: 'config errors listed (the rest are counted)',
};

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

export function addLimitOptions(command: Command): Command {
  for (const key of Object.keys(LIMIT_FLAGS) as (keyof LoadLimits)[]) {
    command.addOption(
      new Option(`${LIMIT_FLAGS[key]} <n>`, DESCRIPTIONS[key]).argParser(positiveInteger).default(DEFAULT_LOAD_LIMITS[key]),
    );
  }
  return command;
}

/** The limits commander parsed (its option keys are the camel-cased flags). */
export function limitsFrom(opts: Record<string, unknown>): LoadLimits {
  const limits = { ...DEFAULT_LOAD_LIMITS };
  for (const key of Object.keys(LIMIT_FLAGS) as (keyof LoadLimits)[]) {
    const camel = LIMIT_FLAGS[key].replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const value = opts[camel];
    if (typeof value === 'number') limits[key] = value;
  }
  return limits;
}
