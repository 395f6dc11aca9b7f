// meshlite serve-only, for the side-by-side benchmark: meshlite's own ADS
// server and snapshot cache, loaded with pre-translated snapshots from a
// snapshot file (export-snapshots.ts), with no config, translation or CA
// behind them: like for like with the go-control-plane program in ./go.
// TLS on the server side only; a stream is served the snapshot of the node id
// it claims, its bearer token is not checked (the Go program does the same).
//
//   node --expose-gc dist/bench/compare/serve-snapshots.js <snapshotFile> <certPem> <keyPem> <adsAddress> <controlAddress>
//
// The control address answers GET /ready, POST /swap?state=N (every proxy's
// snapshot replaced by the one of state N; answers when all are set) and
// POST /gc (full collections, so RSS can then be read from /proc).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { pino } from 'pino';
import { SnapshotCache } from '../../src/cache/snapshot-cache.js';
import { FIRST_REFRESH_SLICE_MS, REFRESH_SLICE_MS } from '../../src/control-plane/refresh-queue.js';
import { type EncodedResource, type ProxySnapshot, RESOURCE_TYPE_OF_URL, type TypeSnapshot } from '../../src/cache/snapshot.js';
import { AdsServer, type StreamAuthenticator } from '../../src/server/ads-server.js';
import { splitHostPort } from '../../src/server/listen-address.js';
import { TimeSlicer } from '../../src/util/time-slicer.js';
import type { ResourceType } from '../../src/xds/type-urls.js';
import { anyValue, type ExportedState, readSnapshotFile } from './snapshot-file.js';

/**
 * A state's snapshots as meshlite holds them: one EncodedResource per distinct
 * resource and one TypeSnapshot per distinct type version, shared by every
 * proxy that gets it (what the control plane's encoder shares, at least).
 */
function toSnapshots(states: readonly ExportedState[]): Map<string, ProxySnapshot>[] {
  const encoded = new Map<Uint8Array, EncodedResource>();
  const typeSnapshots = new Map<string, TypeSnapshot>();
  return states.map((state) => {
    const out = new Map<string, ProxySnapshot>();
    for (const proxy of state.proxies) {
      const snapshot: Partial<Record<ResourceType, TypeSnapshot>> = {};
      for (const t of proxy.types) {
        const type = RESOURCE_TYPE_OF_URL.get(t.typeUrl);
        if (!type) throw new Error(`unknown type ${t.typeUrl} in the snapshot file`);
        const key = `${t.typeUrl} ${t.version}`;
        let ts = typeSnapshots.get(key);
        if (!ts) {
          const resources = new Map<string, EncodedResource>();
          for (const r of t.resources) {
            let e = encoded.get(r.any);
            if (!e) encoded.set(r.any, (e = { name: r.name, version: r.version, value: anyValue(r.any), json: {} }));
            resources.set(r.name, e);
          }
          typeSnapshots.set(key, (ts = { typeUrl: t.typeUrl, version: t.version, resources }));
        }
        snapshot[type] = ts;
      }
      out.set(proxy.id, snapshot as ProxySnapshot);
    }
    return out;
  });
}

const acceptClaimedNode: StreamAuthenticator = {
  authenticate: async (_metadata, node) => ({ ok: true, proxyId: node.id }),
};

async function main(): Promise<void> {
  const [snapshotFile, certFile, keyFile, adsAddress, controlAddress] = process.argv.slice(2);
  if (!controlAddress) throw new Error('usage: serve-snapshots.js <snapshotFile> <certPem> <keyPem> <adsAddress> <controlAddress>');
  const states = toSnapshots(readSnapshotFile(readFileSync(snapshotFile!)));
  const cache = new SnapshotCache();
  // Snapshots go in as meshlite serve's refresh queue hands them over: in time slices, with I/O served in between.
  const slicer = new TimeSlicer(REFRESH_SLICE_MS, FIRST_REFRESH_SLICE_MS);
  const swap = async (n: number) => {
    const state = states[n];
    if (!state) throw new Error(`no state ${n}`);
    slicer.begin();
    for (const [id, snapshot] of state) {
      const pause = slicer.due();
      if (pause) await pause;
      cache.set(id, snapshot);
    }
  };
  await swap(0);
  const logger = pino({ level: 'warn' });
  const ads = new AdsServer({ cache, authenticator: acceptClaimedNode, logger });
  await ads.listen(adsAddress!, { certChainPem: readFileSync(certFile!, 'utf8'), privateKeyPem: readFileSync(keyFile!, 'utf8') });
  const { host, port } = splitHostPort(controlAddress);
  const control = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://control');
    try {
      if (url.pathname === '/swap' && req.method === 'POST') {
        const state = Number(url.searchParams.get('state'));
        if (!states[state]) throw new Error(`no state ${state}`);
        void swap(state);
      } else if (url.pathname === '/gc' && req.method === 'POST') {
        globalThis.gc?.();
        globalThis.gc?.();
      } else if (url.pathname !== '/ready') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200).end('ok\n');
    } catch (err) {
      res.writeHead(400).end(`${err instanceof Error ? err.message : String(err)}\n`);
    }
  });
  control.listen(port, host);
  const stop = () => void ads.shutdown(500).finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`serve-snapshots failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
