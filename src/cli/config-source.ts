// Where a command reads "the config": files and directories (-c, repeatable),
// or a store (--store, the config its replicas serve), never both. With -c
// every command behaves exactly as it always has; with --store the same checks
// run on the stored resources, whose errors name `etcd:<prefix><key>:line:col`.
import type { Command } from 'commander';
import { formatIssues } from '../config/diagnostics.js';
import type { LoadOptions, LoadResult } from '../config/load-config.js';
import type { ConfigText } from '../config/load-texts.js';
import { loadMeshTexts } from '../control-plane/load-mesh.js';
import { withKeyIssues } from '../control-plane/stored-config-load.js';
import { buildMeshModel, type MeshModel } from '../model/mesh-model.js';
import type { EtcdStore } from '../store/etcd-store.js';
import { STORE_KEYS } from '../store/store-keys.js';
import { StoreContentError } from '../store/store-retry.js';
import { storedConfigTexts } from '../store/stored-resources.js';
import { collect, loadModelOrExit } from './load.js';
import { EXIT, isStoreFailure, type StoreFlags, storeFailureLine } from './store-command.js';
import { addNamespaceFlag, type NamespaceFlag } from './namespace-flag.js';
import { addStoreFlags, openStore } from './store-connection.js';

export interface ConfigSourceFlags extends Partial<StoreFlags>, NamespaceFlag {
  config?: string[];
}

export type ConfigSource = { kind: 'files'; paths: string[] } | { kind: 'store'; flags: StoreFlags };

/** `-c` (with `-n`) and `--store` (with its TLS flags), neither required by commander: configSourceOrExit checks them. */
export function addConfigSourceFlags(command: Command, configHelp = 'config file or directory (repeatable)'): Command {
  return addStoreFlags(addNamespaceFlag(command.option('-c, --config <path>', configHelp, collect)), false, 'the config of a store');
}

/** Exactly one of -c and --store, or one line and exit 2. */
export function configSourceOrExit(opts: ConfigSourceFlags, command: string): ConfigSource {
  const paths = opts.config ?? [];
  if (paths.length > 0 && opts.store !== undefined)
    usageExit(`meshlite ${command}: give -c <path> or --store <url>, not both (with --store the config is the one the store holds)`);
  if (opts.store !== undefined) {
    const { store, storeTlsCa, storeTlsCert, storeTlsKey } = opts;
    return { kind: 'store', flags: { store, storeTlsCa, storeTlsCert, storeTlsKey } };
  }
  if (paths.length === 0) usageExit(`meshlite ${command}: give the config with -c <path> (repeatable) or --store <url>`);
  return { kind: 'files', paths };
}

/**
 * Runs `fn` with a connection to the store, closed afterwards. A store that
 * does not answer is one line and exit 4; a store whose content cannot be
 * used (a key that does not open it, a missing identity) one line and exit 1.
 */
export async function withStoreOrExit<T>(flags: StoreFlags, command: string, fn: (store: EtcdStore) => Promise<T>): Promise<T> {
  let store: EtcdStore;
  try {
    store = openStore(flags);
  } catch (err) {
    return usageExit(`meshlite ${command}: ${(err as Error).message}`);
  }
  try {
    return await fn(store);
  } catch (err) {
    if (err instanceof StoreContentError) return exitLine(`meshlite ${command}: ${err.message}`, EXIT.refused);
    if (isStoreFailure(err))
      return exitLine(
        `meshlite ${command}: ${storeFailureLine(store.description, err as Error, store.options.location.tls)}`,
        EXIT.storeUnavailable,
      );
    throw err;
  } finally {
    await store.close();
  }
}

export interface StoreConfigLoad {
  result: LoadResult;
  /** The store revision the config was read at. */
  revision: number;
  /** How many config keys the store holds. */
  keys: number;
  /** The stored values as read (analyze finds the line of a field in them). */
  texts: readonly ConfigText[];
}

/** The store's config resources, validated exactly as files are (and each must sit under its own key). */
export async function loadStoreConfig(store: EtcdStore, options: LoadOptions = {}): Promise<StoreConfigLoad> {
  const read = await store.range(STORE_KEYS.config);
  const { texts, issues } = storedConfigTexts(store.options.location.prefix, read.entries);
  if (texts.length === 0)
    throw new StoreContentError(
      `${store.description} holds no config yet: write it with meshlite apply -f <dir> --store ${store.description}`,
    );
  return { result: withKeyIssues(loadMeshTexts(texts, options), issues), revision: read.revision, keys: texts.length, texts };
}

/** The store's config as a model, or every problem printed and exit 1. */
export async function storeModelOrExit(store: EtcdStore): Promise<MeshModel> {
  const { result } = await loadStoreConfig(store);
  if (!result.ok) {
    printIssues(result);
    return exitLine(`${result.totalIssues} error(s) in the config of ${store.description}`, EXIT.refused);
  }
  return buildMeshModel(result.config);
}

/** The model of the config given by -c or --store; exits with its problems otherwise. */
export async function loadModelFromSourceOrExit(opts: ConfigSourceFlags, command: string): Promise<MeshModel> {
  const source = configSourceOrExit(opts, command);
  if (source.kind === 'files') return loadModelOrExit(source.paths, opts.namespace);
  return withStoreOrExit(source.flags, command, storeModelOrExit);
}

/** Runs `fn` with the store when the config comes from one (connected for the whole run), without one for -c. */
export async function withConfigSource<T>(
  opts: ConfigSourceFlags,
  command: string,
  fn: (source: ConfigSource, store?: EtcdStore) => Promise<T>,
): Promise<T> {
  const source = configSourceOrExit(opts, command);
  if (source.kind === 'files') return fn(source);
  return withStoreOrExit(source.flags, command, (store) => fn(source, store));
}

export function printIssues(result: LoadResult & { ok: false }): void {
  for (const line of formatIssues(result.issues, result.totalIssues)) process.stderr.write(`${line}\n`);
}

function usageExit(message: string): never {
  return exitLine(message, EXIT.usage);
}

function exitLine(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}
