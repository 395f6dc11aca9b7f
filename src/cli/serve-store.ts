// `serve --store`: the flags, the one-source-of-config rule, and opening the
// store. Config comes from files (-c) or from the store, never both: every
// replica then serves the same mesh, and `meshlite apply` validates exactly
// what is served (files go in with `meshlite apply -f`).
import type { Command } from 'commander';
import type { EtcdStore } from '../store/etcd-store.js';
import type { Logger } from '../util/logger.js';
import { addStoreFlags, openStore, type StoreConnectionFlags, storeFlagsProblem } from './store-connection.js';

export interface StoreFlags extends StoreConnectionFlags {
  config?: string[];
}

export function addStoreOptions(command: Command): Command {
  return addStoreFlags(command, false, 'read config from etcd and follow it (replaces -c)');
}

/** Why these flags name no config source or two; undefined when exactly one is named. */
export function configSourceProblem(flags: StoreFlags): string | undefined {
  const files = (flags.config?.length ?? 0) > 0;
  if (flags.store !== undefined && files)
    return '--store and -c/--config cannot be used together: the store is the one source of config (load files into it with meshlite apply -f)';
  if (flags.store === undefined && !files) return "required option '-c, --config <path>' not specified (or --store <url>)";
  return storeFlagsProblem(flags);
}

/** The store of --store (not yet contacted), or undefined in file mode. Throws one line on a bad URL or TLS file. */
export function openStoreFromFlags(flags: StoreFlags, logger: Logger): EtcdStore | undefined {
  if (flags.store === undefined) return undefined;
  return openStore({ ...flags, store: flags.store }, logger);
}
