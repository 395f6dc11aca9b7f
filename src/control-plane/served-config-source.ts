// Where `serve` reads its config: the files of -c (watched), or the store of
// --store (followed). Both are read once at startup before anything is built
// and only then followed; the store may not answer at startup, in which case
// nothing is served (/ready 503, "store not read yet") until it does.
import type { StoreStatus } from '../admin/store-status.js';
import type { LoadResult } from '../config/load-config.js';
import type { EtcdStore } from '../store/etcd-store.js';
import type { Logger } from '../util/logger.js';
import type { BackgroundConfigLoader } from './config-loader.js';
import { ConfigWatcher, type ShrunkFile } from './config-watcher.js';
import { StoreConfigSource } from './store-config-source.js';

export interface ServedConfigSource {
  /** The first load and its reason; undefined when the source could not be read yet. */
  readFirst(): Promise<{ result: LoadResult; reason: string } | undefined>;
  /** Every later load goes to onLoad; `first` is what the caller applied of readFirst. */
  activate(first: LoadResult | undefined): void;
  reload(reason: string): void;
  pendingSettle(): { files: ShrunkFile[]; until: number } | undefined;
  /** Present for a store. */
  storeStatus?(): StoreStatus;
  stop(): Promise<void>;
}

export interface ServedConfigOptions {
  configPaths: readonly string[];
  store?: EtcdStore;
  debounceMs?: number;
  settleMs?: number;
  /**
   * Wait for the store's first read instead of starting without a config: set
   * when the shared identity needs the store anyway, so the CA is made with the
   * trust domain the stored mesh names.
   */
  waitForStore?: boolean;
}

export function servedConfigSource(
  options: ServedConfigOptions,
  loader: BackgroundConfigLoader,
  logger: Logger,
  onLoad: (result: LoadResult, reason: string) => void | Promise<void>,
  onServed?: (revision: number) => void,
): ServedConfigSource {
  if (options.store) {
    const source = new StoreConfigSource({ store: options.store, loader, logger, debounceMs: options.debounceMs, onLoad, onServed });
    return {
      readFirst: async () => {
        let first = await source.readFirst();
        for (let waitMs = 500; !first && options.waitForStore; waitMs = Math.min(waitMs * 2, 5000)) {
          if (waitMs === 500) logger.warn({ store: options.store?.description }, 'the store could not be read at startup: waiting for it');
          await new Promise((r) => setTimeout(r, waitMs));
          first = await source.readFirst();
        }
        if (!first)
          logger.warn(
            { store: options.store?.description },
            'the store could not be read at startup: nothing is served until it is, and the CA starts with the default trust domain (restart once the store answers if the mesh names another)',
          );
        return first;
      },
      activate: (first) => source.activate(first),
      reload: (reason) => void source.reload(reason),
      pendingSettle: () => undefined,
      storeStatus: () => source.status(),
      stop: () => source.stop(),
    };
  }
  const watcher = new ConfigWatcher({
    paths: options.configPaths,
    loader,
    logger,
    debounceMs: options.debounceMs,
    settleMs: options.settleMs,
    onLoad,
  });
  return {
    readFirst: async () => {
      // Changes made while starting are collected now and applied once the first load is.
      watcher.watchNow();
      return { result: await loader.load(options.configPaths), reason: 'startup' };
    },
    activate: (first) => {
      if (first) watcher.activate(first);
    },
    reload: (reason) => void watcher.reload(reason),
    pendingSettle: () => watcher.pendingSettle(),
    stop: async () => watcher.stop(),
  };
}
