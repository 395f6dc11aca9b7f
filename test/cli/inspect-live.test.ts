// `meshlite proxy-config` and `meshlite status` against live processes. A
// real Envoy fed by meshlite: the tables read from the Envoy's own admin are
// the ones read from meshlite's view of what it serves that proxy, and status
// shows the Envoy SYNCED on every type once it accepted them. Replicas on a
// real etcd: status asked of one replica shows every proxy on the replica it
// is connected to, and a replica that does not answer leaves its proxies UNKNOWN.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { startEnvoy, waitEnvoyReady } from '../support/e2e/envoy.js';
import { loopbackAddress } from '../support/e2e/loopback-blocks.js';
import { withProcesses } from '../support/e2e/process-manager.js';
import { type EtcdCluster, openTestStore, startEtcd } from '../support/etcd.js';
import type { EtcdStore } from '../../src/store/etcd-store.js';
import { readMesh, ReplicaRegistry } from '../../src/store/replica-registry.js';
import * as grpc from '@grpc/grpc-js';
import { SotwClient } from '../server/xds-client.js';
import { put, wl } from '../store/store-config-fixtures.js';
import { EXAMPLES_DIR, REPO_ROOT } from '../support/paths.js';
import { until } from '../support/poll.js';

const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');

function meshlite(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The S1 example with its workload addresses moved into this file's loopback block. */
function configIn(dir: string): string {
  const [a, b] = loopbackAddress('cli/inspect-live.test.ts', 0).split('.');
  const configDir = join(dir, 'config');
  mkdirSync(configDir);
  for (const f of readdirSync(join(EXAMPLES_DIR, 's1-auto-mtls'))) {
    const text = readFileSync(join(EXAMPLES_DIR, 's1-auto-mtls', f), 'utf8');
    writeFileSync(join(configDir, f), text.replace(/\b127\.0\.(\d+)\.(\d+)\b/g, `${a}.${b}.$1.$2`));
  }
  // A DestinationRule, so the clusters table has a rule to name: Envoy must report it as meshlite sent it.
  writeFileSync(
    join(configDir, 'destination-rule.yaml'),
    'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: httpbin-bar\n  namespace: bar\nspec:\n  host: httpbin.bar.svc.cluster.local\n  trafficPolicy:\n    loadBalancer:\n      simple: ROUND_ROBIN\n',
  );
  return configDir;
}

test('a real Envoy: proxy-config --envoy-admin gives the rows of --meshlite-admin; status shows it SYNCED on every type', async () => {
  await withProcesses('proxy-config-envoy', async (pm) => {
    const configDir = configIn(pm.dir);
    const stateDir = join(pm.dir, 'state');
    let m: RunningMeshlite | undefined;
    try {
      m = await startMeshlite({
        configPaths: [configDir],
        stateDir,
        adsAddress: '127.0.0.1:0',
        adminAddress: '127.0.0.1:0',
        insecure: false,
        settleMs: 0,
        logger: pino({ level: 'silent' }),
      });
      const running = m;
      const envoy = await startEnvoy(pm, 'httpbin.foo', { configDir, stateDir, adsAddress: `127.0.0.1:${running.adsPort}` });
      await waitEnvoyReady(envoy);
      const meshliteAdmin = `http://127.0.0.1:${running.adminPort}`;
      await until('meshlite sees httpbin.foo synced', async () => {
        const res = await fetch(`${meshliteAdmin}/debug/syncz?proxy=httpbin.foo`);
        return res.ok && ((await res.json()) as { synced: boolean }).synced ? true : undefined;
      });

      const status = await meshlite('status', '--meshlite-admin', meshliteAdmin);
      assert.is(status.code, 0, status.stderr);
      const row = status.stdout
        .split('\n')
        .find((l) => l.startsWith('httpbin.foo '))!
        .split(/ {2,}/);
      assert.equal(row.slice(0, 9), ['httpbin.foo', 'sidecar', '-', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED', 'SYNCED', '-']);
      assert.match(row[9]!, /^2[34]h\d+m$/);

      for (const kind of ['clusters', 'listeners', 'routes', 'endpoints', 'secrets']) {
        const fromEnvoy = await meshlite('proxy-config', kind, '--envoy-admin', envoy.adminUrl);
        const fromMeshlite = await meshlite('proxy-config', kind, 'httpbin.foo', '--meshlite-admin', meshliteAdmin);
        assert.is(fromEnvoy.code, 0, fromEnvoy.stderr);
        assert.is(fromMeshlite.code, 0, fromMeshlite.stderr);
        assert.ok(fromEnvoy.stdout.split('\n').length > 2, `${kind}: the Envoy holds some:\n${fromEnvoy.stdout}`);
        assert.fixture(fromEnvoy.stdout, fromMeshlite.stdout, `${kind}: the same rows from Envoy and from meshlite`);
        if (kind === 'clusters')
          assert.match(fromEnvoy.stdout, /\nhttpbin\.bar\.svc\.cluster\.local\s+8000\s+-\s+outbound\s+EDS\s+httpbin-bar\.bar\n/);
      }
      // The certificate Envoy holds is the one meshlite issued it, readable, its key never shown.
      const secrets = await meshlite('proxy-config', 'secrets', '--envoy-admin', envoy.adminUrl);
      const sync = (await (await fetch(`${meshliteAdmin}/debug/syncz?proxy=httpbin.foo`)).json()) as {
        certificate: { serialNumber: string };
      };
      assert.match(secrets.stdout, new RegExp(`\\ndefault\\s+Cert Chain\\s+ACTIVE\\s+true\\s+${sync.certificate.serialNumber}\\s`));
      const json = await meshlite('proxy-config', 'all', '--envoy-admin', envoy.adminUrl, '-o', 'json');
      assert.is(json.code, 0, json.stderr);
      assert.not.match(json.stdout, 'PRIVATE KEY');
      assert.match(json.stdout, 'BEGIN CERTIFICATE');
    } finally {
      await m?.stop();
    }
  });
});

/** A port nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** An insecure-mode ADS client for `proxy` that asks for clusters and listeners and accepts what it gets. */
function acceptingClient(adsPort: number, proxy: string): { close(): void } {
  const client = new grpc.Client(`127.0.0.1:${adsPort}`, grpc.credentials.createInsecure());
  const stream = new SotwClient(client);
  stream.request('clusters', { node: { id: proxy } });
  stream.request('listeners', { node: { id: proxy } });
  void (async () => {
    for (;;) {
      try {
        stream.ack(await stream.next(120_000));
      } catch {
        return;
      }
    }
  })();
  return {
    close() {
      stream.close();
      client.close();
    },
  };
}

test('store mode (asking a replica, or the store): every proxy on the replica it is connected to; a replica that does not answer leaves its proxies UNKNOWN', async () => {
  await withProcesses('inspect-live-store', async (pm) => {
    const etcd: EtcdCluster = await startEtcd(pm, loopbackAddress('cli/inspect-live.test.ts'));
    const stores: EtcdStore[] = [];
    const running: RunningMeshlite[] = [];
    const closers: { close(): void }[] = [];
    const ghost = new ReplicaRegistry({
      store: openTestStore(etcd, '/status', stores),
      leaseSeconds: 30,
      replica: {
        id: 'replica-ghost',
        adsAddress: '127.0.0.1:1',
        adminAddress: `127.0.0.1:${await closedPort()}`,
        startedAt: new Date().toISOString(),
        version: 'test',
        rootFingerprint: 'ab:cd',
      },
    });
    try {
      const store = openTestStore(etcd, '/status', stores);
      await put(store, wl('foo/sleep', '10.0.0.1'));
      await put(store, wl('foo/httpbin', '10.0.0.2'));
      for (const id of ['replica-a', 'replica-b'])
        running.push(
          await startMeshlite({
            configPaths: [],
            store: openTestStore(etcd, '/status', stores),
            replicaId: id,
            stateDir: join(pm.dir, id),
            adsAddress: '127.0.0.1:0',
            adminAddress: '127.0.0.1:0',
            insecure: true,
            debounceMs: 20,
            logger: pino({ level: 'silent' }),
          }),
        );
      const [a, b] = running as [RunningMeshlite, RunningMeshlite];
      closers.push(acceptingClient(a.adsPort, 'sleep.foo'), acceptingClient(b.adsPort, 'httpbin.foo'));
      ghost.start();
      ghost.proxyConnected('ghost.foo', false);
      await ghost.whenSettled();
      await until('both proxies registered in the store', async () => {
        const placed = (await readMesh(store)).proxies.map((p) => `${p.proxy}@${p.replica}`).sort();
        return placed.join() === 'ghost.foo@replica-ghost,httpbin.foo@replica-b,sleep.foo@replica-a' ? true : undefined;
      });
      await until('both accepted their clusters', async () => {
        const synced = await Promise.all(
          [a, b].map(async (m) => {
            const sync = (await (await fetch(`http://127.0.0.1:${m.adminPort}/debug/syncz`)).json()) as {
              proxies: { types: { type: string; state: string }[] }[];
            };
            return sync.proxies[0]?.types.find((t) => t.type === 'clusters')?.state === 'SYNCED';
          }),
        );
        return synced.every(Boolean) ? true : undefined;
      });

      const status = await meshlite('status', '--meshlite-admin', `127.0.0.1:${a.adminPort}`);
      assert.is(status.code, 0, status.stderr);
      const table = status.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split(/ {2,}/));
      assert.equal(
        table.map((r) => r.slice(0, 4)),
        [
          ['NAME', 'KIND', 'REPLICA', 'CDS'],
          ['ghost.foo', '-', 'replica-ghost', 'UNKNOWN'],
          ['httpbin.foo', 'sidecar', 'replica-b', 'SYNCED'],
          ['sleep.foo', 'sidecar', 'replica-a', 'SYNCED'],
        ],
      );
      assert.match(status.stderr, /^warning: replica replica-ghost \(http:\/\/127\.0\.0\.1:\d+\) did not answer: ECONNREFUSED\n$/);
      const json = await meshlite('status', '--meshlite-admin', `127.0.0.1:${b.adminPort}`, '-o', 'json');
      const rows = JSON.parse(json.stdout) as { proxy: string; replica: string }[];
      assert.equal(
        rows.map((r) => `${r.proxy}@${r.replica}`),
        ['ghost.foo@replica-ghost', 'httpbin.foo@replica-b', 'sleep.foo@replica-a'],
        'the same mesh from the other replica',
      );
      const fromStore = await meshlite('status', '--store', etcd.storeUrl('/status'));
      assert.is(fromStore.code, 0, fromStore.stderr);
      // All but CERT EXPIRES, a countdown that may have moved on between the two runs.
      const withoutExpiry = (text: string) => text.split('\n').map((l) => l.split(/ {2,}/).slice(0, -1).join('|'));
      assert.equal(
        withoutExpiry(fromStore.stdout),
        withoutExpiry(status.stdout),
        'the same table when the replicas are found through the store',
      );
      assert.match(fromStore.stderr, 'warning: replica replica-ghost');
    } finally {
      for (const c of closers) c.close();
      await ghost.stop();
      for (const m of running) await m.stop();
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

test.run();
