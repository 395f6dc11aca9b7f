// How the agent starts Envoy: the command line (its own defaults, which the
// user's arguments after `--` replace flag by flag), the base id that keeps
// Envoys on one host apart, and a free loopback port for the admin.
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';

/** Seconds Envoy drains listeners removed by LDS (and, on a hot restart, the old process). */
export const DEFAULT_DRAIN_TIME_S = 5;
/** Seconds after which a hot-restarted parent is shut down; above the drain time. */
export const DEFAULT_PARENT_SHUTDOWN_TIME_S = 10;

/** A user argument Envoy cannot be given by the agent (e.g. a second -c). */
export class EnvoyArgsError extends Error {}

export interface EnvoyCommandLine {
  args: string[];
  /** The base id Envoy runs with when the agent chose it; undefined when the user's arguments chose. */
  baseId?: number;
}

/**
 * Envoy's arguments: `-c bootstrap`, then the agent's defaults, then `extraArgs`.
 * Envoy refuses a flag given twice, so a default is left out when the user
 * gives the same flag (`--use-dynamic-base-id` also replaces `--base-id`).
 * The bootstrap is the agent's: a user `-c`/`--config-path` is an error
 * (`--config-yaml` merges into it instead).
 */
export function envoyCommandLine(bootstrapPath: string, baseId: number, extraArgs: readonly string[]): EnvoyCommandLine {
  if (!Number.isInteger(baseId) || baseId < 0 || baseId > MAX_BASE_ID) throw new EnvoyArgsError(`bad Envoy base id ${baseId}`);
  const end = extraArgs.indexOf('--');
  const given = new Set(
    (end < 0 ? extraArgs : extraArgs.slice(0, end)).filter((a) => a.startsWith('-')).map((a) => (a === '-l' ? '--log-level' : a)),
  );
  for (const own of ['-c', '--config-path']) {
    if (given.has(own)) throw new EnvoyArgsError(`${own}: the agent gives Envoy its bootstrap; add to it with --config-yaml`);
  }
  const userBaseId = given.has('--base-id') || given.has('--use-dynamic-base-id');
  const defaults: Array<[string, string]> = [
    ['--base-id', String(baseId)],
    ['--drain-strategy', 'immediate'],
    ['--drain-time-s', String(DEFAULT_DRAIN_TIME_S)],
    ['--parent-shutdown-time-s', String(DEFAULT_PARENT_SHUTDOWN_TIME_S)],
    // Envoy's info level prints its whole extension list at every start into the agent's output.
    ['--log-level', 'warning'],
  ];
  const args = ['-c', bootstrapPath];
  for (const [flag, value] of defaults) {
    if (flag === '--base-id' ? !userBaseId : !given.has(flag)) args.push(flag, value);
  }
  for (const arg of extraArgs) args.push(arg);
  return userBaseId ? { args } : { args, baseId };
}

// Envoy names its hot-restart sockets after ten times the base id, in 32 bits.
const MAX_BASE_ID = Math.floor(0xffffffff / 10);
const PID_SPAN = 2 ** 22; // Linux's largest pid_max

/**
 * A base id for the Envoy of `proxyId` run by the process `pid`. Envoy's
 * hot-restart sockets (per network namespace) and shared memory are named
 * after it, so two Envoys on one host need different ones. The pid keeps
 * apart the agents that share a pid namespace; the proxy's hash keeps apart
 * most of those in separate containers sharing the host's network. Stable for
 * one agent, so a restarted Envoy takes the id its dead predecessor had.
 */
export function pickBaseId(proxyId: string, pid: number = process.pid): number {
  const hash = createHash('sha256').update(proxyId).digest().readUInt32BE(0) % 100;
  return hash * PID_SPAN + (pid % PID_SPAN);
}

/** A TCP port free on `host` at the time of asking (another process may take it before it is used). */
export function freeLoopbackPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error(`no port on ${host}`))));
    });
  });
}
