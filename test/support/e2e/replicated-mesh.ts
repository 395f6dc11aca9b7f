// A mesh served by meshlite replicas on etcd: a real etcd (1 or 3 members),
// R `meshlite serve --store` replicas sharing one store key, the S1 config
// applied with `meshlite apply`, and sidecars run by `meshlite agent` that
// list every replica. What a test asks of it: which replica a proxy is on,
// waiting for a store revision to be served everywhere, calls.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../paths.js';
import { type EtcdCluster, startEtcd } from '../etcd.js';
import { type AgentProxy, startAgentProxy } from './agent.js';
import { call, type CallResult } from './client.js';
import { type ConfigDir, prepareConfigDir, readWorkloads, type WorkloadInfo } from './config-dir.js';
import { adminJson, CLI, type Meshlite, startMeshlite } from './meshlite.js';
import type { ManagedProcess, ProcessManager } from './process-manager.js';
import { waitForSync } from './wait-for-sync.js';
import { TARGET_PORT } from './world.js';
import { execFile } from 'node:child_process';

const HTTPBIN = join(REPO_ROOT, 'dist/test/support/apps/httpbin.js');

export interface ReplicatedMeshOptions {
  /** An address of the test file's own loopback block (etcd listens in it). */
  blockAddress: string;
  replicas?: number;
  etcdMembers?: number;
  /** The proxies run under agents (each with its app when it is an httpbin). */
  proxies?: readonly string[];
}

export interface ReplicatedMesh {
  etcd: EtcdCluster;
  storeUrl: string;
  keyFile: string;
  cfg: ConfigDir;
  replicas: Meshlite[];
  agents: Map<string, AgentProxy>;
  apps: ManagedProcess[];
  workload(id: string): WorkloadInfo;
  /** `meshlite <args>` with `--store <url>` appended; resolves to its exit code and output. */
  cli(args: readonly string[], withKey?: boolean): Promise<CliRun>;
  /** The replica `proxy` is connected to (by each replica's own view), or undefined. */
  replicaOf(proxy: string): Promise<Meshlite | undefined>;
  /** Every running replica serves the store at `revision` or later, and its proxies ACKed it. */
  servedEverywhere(revision: number, timeoutMs?: number): Promise<void>;
  /** sleep.<from> calls httpbin.<to> through its sidecar. */
  call(from: string, to: string, path?: string): Promise<CallResult>;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function startReplicatedMesh(pm: ProcessManager, o: ReplicatedMeshOptions): Promise<ReplicatedMesh> {
  const etcd = await startEtcd(pm, o.blockAddress, o.etcdMembers ?? 1);
  const storeUrl = etcd.storeUrl('/mesh');
  const keyFile = join(pm.dir, 'store.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const cfg = await prepareConfigDir(pm.dir);
  const workloads = new Map(readWorkloads(cfg.dir).map((w) => [w.id, w]));
  const workload = (id: string) => {
    const w = workloads.get(id);
    if (!w) throw new Error(`no workload ${id}`);
    return w;
  };
  const cli = (args: readonly string[], withKey = false) =>
    runCli([...args, '--store', storeUrl, ...(withKey ? ['--store-key-file', keyFile] : [])]);
  const applied = await cli(['apply', '-f', cfg.dir]);
  if (applied.code !== 0) throw new Error(`apply failed (${applied.code}): ${applied.stderr}${applied.stdout}`);

  const replicas: Meshlite[] = [];
  for (let i = 1; i <= (o.replicas ?? 2); i++) {
    replicas.push(
      await startMeshlite(pm, {
        configDir: cfg.dir,
        name: `meshlite-r${i}`,
        source: ['--store', storeUrl, '--store-key-file', keyFile, '--replica-id', `r${i}`],
        stateDir: join(pm.dir, `state-r${i}`),
      }),
    );
  }
  const controlPlane = replicas.map((r) => r.adsAddress).join(',');
  const apps: ManagedProcess[] = [];
  const proxies = o.proxies ?? ['sleep.foo', 'httpbin.bar'];
  for (const id of proxies.filter((p) => p.startsWith('httpbin.'))) {
    const w = workload(id);
    const app = pm.start(`app-${id}`, process.execPath, [HTTPBIN, w.applicationAddress, String(TARGET_PORT)]);
    await app.waitForLog(/httpbin listening/, 10_000);
    apps.push(app);
  }
  const agents = new Map<string, AgentProxy>();
  for (const id of proxies) {
    agents.set(
      id,
      await startAgentProxy(pm, id, {
        configDir: cfg.dir,
        stateDir: join(pm.dir, 'state-r1'),
        adsAddress: controlPlane,
        tokenArgs: ['--store', storeUrl, '--store-key-file', keyFile],
      }),
    );
  }
  const mesh: ReplicatedMesh = {
    etcd,
    storeUrl,
    keyFile,
    cfg,
    replicas,
    agents,
    apps,
    workload,
    cli,
    async replicaOf(proxy) {
      for (const r of replicas.filter((x) => x.process.running)) {
        const connected = await adminJson<{ proxies: { proxy: string }[] }>(r.adminUrl, '/debug/syncz').catch(() => undefined);
        if (connected?.proxies.some((p) => p.proxy === proxy)) return r;
      }
      return undefined;
    },
    async servedEverywhere(revision, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (const r of replicas.filter((x) => x.process.running)) {
        for (;;) {
          const ready = await adminJson<{ store?: { revision?: number } }>(r.adminUrl, '/ready').catch(() => undefined);
          if ((ready?.store?.revision ?? 0) >= revision) break;
          if (Date.now() > deadline) throw new Error(`${r.process.name}: store revision ${revision} not served: ${JSON.stringify(ready)}`);
          await sleep(50);
        }
        await waitForSync(r.adminUrl, { timeoutMs: Math.max(1000, deadline - Date.now()) });
      }
    },
    call(from, to, path = '/headers') {
      return call({ from: workload(from), to: workload(to), targetPort: TARGET_PORT }, path);
    },
  };
  return mesh;
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', env }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
