// A replica registry in a process of its own, so a test can SIGKILL it (a
// crashed replica: no revoke, no more keepalives). Arguments: store URL,
// replica id, lease seconds, proxy ids. Prints "registered" once written.
import { EtcdStore } from '../../src/store/etcd-store.js';
import { ReplicaRegistry } from '../../src/store/replica-registry.js';
import { parseStoreUrl } from '../../src/store/store-url.js';

const [url, id, ttl, ...proxies] = process.argv.slice(2);
const store = new EtcdStore({ location: parseStoreUrl(url!) });
const registry = new ReplicaRegistry({
  store,
  leaseSeconds: Number(ttl),
  replica: {
    id: id!,
    adsAddress: '127.0.0.1:1',
    adminAddress: '127.0.0.1:2',
    startedAt: new Date().toISOString(),
    version: 'test',
    rootFingerprint: '',
  },
});
// The registry's timers do not hold the process open (serve's servers do): this does, until the kill.
setInterval(() => undefined, 60_000);
registry.start();
for (const p of proxies) registry.proxyConnected(p, false);
await registry.whenSettled();
process.stdout.write('registered\n');
