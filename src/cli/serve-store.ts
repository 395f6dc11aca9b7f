// `serve --store`: the flags, the one-source-of-config rule, and opening the
// store. Config comes from files (-c) or from the store, never both: every
// replica then serves the same mesh, and `meshlite apply` validates exactly
// what is served (files go in with `meshlite apply -f`).
import type { Command } from 'commander';
import type { EtcdStore } from '../store/etcd-store.js';
import type { Logger } from '../util/logger.js';
import { openStore } from './store-connection.js';

export interface StoreFlags {
  config?: string[];
  store?: string;
  storeTlsCa?: string;
  storeTlsCert?: string;
  storeTlsKey?: string;
}

export function addStoreOptions(command: Command): Command {
  return command
    .option(
      '--store <url>',
      'read config from etcd and follow it: etcd://host:port[,host:port...][/prefix] (etcds:// for TLS); replaces -c',
    )
    .option('--store-tls-ca <file>', 'CA bundle that signed the etcd server certificates (etcds://)')
    .option('--store-tls-cert <file>', 'client certificate for etcd (etcds://)')
    .option('--store-tls-key <file>', 'private key of --store-tls-cert');
}

/** Why these flags name no config source or two; undefined when exactly one is named. */
export function configSourceProblem(flags: StoreFlags): string | undefined {
  const files = (flags.config?.length ?? 0) > 0;
  if (flags.store !== undefined && files)
    return '--store and -c/--config cannot be used together: the store is the one source of config (load files into it with meshlite apply -f)';
  if (flags.store === undefined && !files) return "required option '-c, --config <path>' not specified (or --store <url>)";
  const tls = [flags.storeTlsCa, flags.storeTlsCert, flags.storeTlsKey].some((f) => f !== undefined);
  if (tls && flags.store === undefined) return '--store-tls-ca, --store-tls-cert and --store-tls-key need --store';
  if ((flags.storeTlsCert === undefined) !== (flags.storeTlsKey === undefined)) return '--store-tls-cert and --store-tls-key go together';
  return undefined;
}

/** The store of --store (not yet contacted), or undefined in file mode. Throws one line on a bad URL or TLS file. */
export function openStoreFromFlags(flags: StoreFlags, logger: Logger): EtcdStore | undefined {
  if (flags.store === undefined) return undefined;
  return openStore({ ...flags, store: flags.store }, logger);
}
