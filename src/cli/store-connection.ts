// How every store command (serve, apply/get/delete, replicas, token, and the
// config readers: validate, proxies, describe, generate, diff, bootstrap)
// names and opens the store: --store plus the same --store-tls-* flags, so a
// store that wants mutual TLS is reached the same way by each of them.
import type { Command } from 'commander';
import { EtcdStore } from '../store/etcd-store.js';
import { looseKeyMode, storeTlsProblem } from '../store/store-tls.js';
import { parseStoreUrl } from '../store/store-url.js';
import type { Logger } from '../util/logger.js';

export interface StoreConnectionFlags {
  store?: string;
  storeTlsCa?: string;
  storeTlsCert?: string;
  storeTlsKey?: string;
}

const URL_HELP = 'etcd://host:port[,host:port...][/prefix] (etcds:// for TLS)';

/**
 * --store and its --store-tls-* files. `required: false` for commands that
 * also work without a store (the config from -c, a state directory);
 * `purpose` says what the store is for in the help.
 */
export function addStoreFlags(command: Command, required = true, purpose?: string): Command {
  const help = purpose === undefined ? URL_HELP : `${purpose}: ${URL_HELP}`;
  return (required ? command.requiredOption('--store <url>', help) : command.option('--store <url>', help))
    .option('--store-tls-ca <file>', 'CA certificate that signed the etcd members (PEM; etcds://)')
    .option('--store-tls-cert <file>', 'client certificate for etcd (PEM; etcds://)')
    .option('--store-tls-key <file>', 'private key of --store-tls-cert (PEM)');
}

/** Why the TLS flags do not go with the rest, or undefined. */
export function storeFlagsProblem(flags: StoreConnectionFlags): string | undefined {
  const tls = [flags.storeTlsCa, flags.storeTlsCert, flags.storeTlsKey].some((f) => f !== undefined);
  if (tls && flags.store === undefined) return '--store-tls-ca, --store-tls-cert and --store-tls-key need --store';
  return storeTlsProblem({ certFile: flags.storeTlsCert, keyFile: flags.storeTlsKey });
}

/**
 * The store the flags name, not contacted yet. Throws one line on a bad URL,
 * a TLS flag that does not fit, or a file that cannot be read. Without a
 * logger, a client key others can read is noted on stderr.
 */
export function openStore(flags: StoreConnectionFlags & { store: string }, logger?: Logger): EtcdStore {
  const problem = storeFlagsProblem(flags);
  if (problem) throw new Error(problem);
  const location = parseStoreUrl(flags.store);
  const tls = { caFile: flags.storeTlsCa, certFile: flags.storeTlsCert, keyFile: flags.storeTlsKey };
  if (!logger && looseKeyMode(tls.keyFile) !== undefined)
    process.stderr.write(`meshlite: warning: --store-tls-key ${tls.keyFile} is readable by group or others; chmod 600 it\n`);
  return new EtcdStore({ location, tls, ...(logger ? { logger } : {}) });
}
