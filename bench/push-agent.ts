// Preloaded into the meshlite process by the push benchmark
// (`node --expose-gc --import dist/bench/push-agent.js dist/src/cli/main.js serve ...`).
// It answers a few requests over the IPC channel the benchmark opened: run a
// full GC, report memory and CPU, and start/stop a CPU profile (written to a
// file) so that only the push phase is profiled, write a heap snapshot, and
// count the active handles and timers (leak checks of the soak benchmark). It touches nothing of
// meshlite itself; without an IPC channel it does nothing.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { writeHeapSnapshot } from 'node:v8';
import { createHook } from 'node:async_hooks';

export type AgentRequest =
  | { agent: 'gc'; id: number }
  | { agent: 'usage'; id: number }
  | { agent: 'profile-start'; id: number }
  | { agent: 'profile-stop'; id: number; file: string }
  | { agent: 'resources'; id: number }
  | { agent: 'heap-snapshot'; id: number; file: string };

export interface AgentUsage {
  memory: NodeJS.MemoryUsage;
  cpu: NodeJS.CpuUsage;
}

/** process.getActiveResourcesInfo() counted by kind (Timeout, TCPSocketWrap, ...): what keeps the event loop busy. */
export type ActiveResources = Record<string, number>;

export type AgentReply =
  | { agent: 'reply'; id: number; ok: true; usage?: AgentUsage; file?: string; resources?: ActiveResources }
  | { agent: 'reply'; id: number; ok: false; error: string };

const channel = process.channel as { unref(): void } | undefined;

/**
 * Opt-in experiment (`push.js --patch-convergence`), off by default: memoise
 * AdsServer.listConnections() within one synchronous run, so that
 * ConvergenceTracker.check() -> isSynced() -> proxySync() stops copying and
 * sorting every connection once per pending proxy on every ACK. It shows what
 * fixing that hot spot in src/ would buy; the figures are labelled as patched.
 */
if (process.env.MESHLITE_BENCH_PATCH === 'convergence') {
  const { AdsServer } = await import('../src/server/ads-server.js');
  const original = AdsServer.prototype.listConnections;
  let memo: { server: object; list: ReturnType<typeof original> } | undefined;
  AdsServer.prototype.listConnections = function (this: InstanceType<typeof AdsServer>) {
    if (memo?.server === this) return memo.list;
    const list = original.call(this);
    memo = { server: this, list };
    queueMicrotask(() => (memo = undefined));
    return list;
  };
}

/**
 * Opt-in (MESHLITE_BENCH_TRACK_ASYNC=1, the soak benchmark): counts live async
 * resources by type (timers, sockets, HTTP/2 sessions), unref'd ones included,
 * which process.getActiveResourcesInfo() leaves out. Promises are not tracked.
 */
const live = new Map<number, string>();
if (process.env.MESHLITE_BENCH_TRACK_ASYNC === '1') {
  createHook({
    init(asyncId, type) {
      if (type !== 'PROMISE') live.set(asyncId, type);
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
  }).enable();
}

function activeResources(): ActiveResources {
  const out: ActiveResources = {};
  for (const kind of process.getActiveResourcesInfo()) out[kind] = (out[kind] ?? 0) + 1;
  for (const type of live.values()) out[`live ${type}`] = (out[`live ${type}`] ?? 0) + 1;
  return out;
}

if (process.send && channel) {
  let session: Session | undefined;
  const post = <T>(method: string, params?: object): Promise<T> =>
    new Promise((resolve, reject) => session!.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T))));
  const reply = (msg: AgentReply) => process.send?.(msg);
  const usage = (): AgentUsage => ({ memory: process.memoryUsage(), cpu: process.cpuUsage() });

  process.on('message', async (raw: unknown) => {
    const msg = raw as AgentRequest;
    if (!msg || typeof msg !== 'object' || !('agent' in msg)) return;
    try {
      switch (msg.agent) {
        case 'gc': {
          const gc = (globalThis as { gc?: () => void }).gc;
          if (!gc) throw new Error('meshlite was started without --expose-gc');
          gc();
          gc();
          reply({ agent: 'reply', id: msg.id, ok: true, usage: usage() });
          break;
        }
        case 'resources':
          reply({ agent: 'reply', id: msg.id, ok: true, resources: activeResources() });
          break;
        case 'heap-snapshot':
          writeHeapSnapshot(msg.file);
          reply({ agent: 'reply', id: msg.id, ok: true, file: msg.file });
          break;
        case 'usage':
          reply({ agent: 'reply', id: msg.id, ok: true, usage: usage() });
          break;
        case 'profile-start':
          session = new Session();
          session.connect();
          await post('Profiler.enable');
          await post('Profiler.setSamplingInterval', { interval: 500 });
          await post('Profiler.start');
          reply({ agent: 'reply', id: msg.id, ok: true });
          break;
        case 'profile-stop': {
          if (!session) throw new Error('no profile running');
          const { profile } = await post<{ profile: unknown }>('Profiler.stop');
          session.disconnect();
          session = undefined;
          writeFileSync(msg.file, JSON.stringify(profile));
          reply({ agent: 'reply', id: msg.id, ok: true, file: msg.file });
          break;
        }
      }
    } catch (err) {
      reply({ agent: 'reply', id: msg.id, ok: false, error: String(err) });
    }
  });
  // Never keep meshlite alive because of the benchmark (after the listener, which refs the channel).
  channel.unref();
}
