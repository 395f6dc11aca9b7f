// `meshlite serve` in the test's own process on a store: insecure (no store
// key, so no shared identity), quick to notice changes, silent.
import pino from 'pino';
import { type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import type { EtcdStore } from '../../src/store/etcd-store.js';

export function serveFromStore(store: EtcdStore, stateDir: string): Promise<RunningMeshlite> {
  return startMeshlite({
    configPaths: [],
    store,
    stateDir,
    adsAddress: '127.0.0.1:0',
    adminAddress: '127.0.0.1:0',
    insecure: true,
    debounceMs: 20,
    logger: pino({ level: 'silent' }),
  });
}
