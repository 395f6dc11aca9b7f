// The agent's status port: one readiness answer for the whole proxy (every
// check must pass: Envoy live, a certificate held, meshlite reachable, ...)
// and, when given them, the agent's metrics for Prometheus and its state.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Registry } from 'prom-client';

export interface StatusCheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export type StatusCheck = () => Promise<StatusCheckResult>;

export interface StatusServerOptions {
  /** host:port (`[::1]:port` for IPv6); port 0 takes a free one. */
  address: string;
  checks: StatusCheck[];
  metrics?: Registry;
  /** The agent's own state as JSON, served at GET /debug/agent (never key material: it is readable by anyone who can connect). */
  debug?: () => unknown;
  /** A check that has not answered after this long fails (default 3 s). */
  checkTimeoutMs?: number;
}

export interface StatusServer {
  /** http://host:port with the port actually bound. */
  url: string;
  close(): Promise<void>;
}

export const READINESS_PATH = '/healthz/ready';
export const METRICS_PATH = '/stats/prometheus';
export const DEBUG_PATH = '/debug/agent';

/** Throws a RangeError for an address that is not host:port. */
export function parseHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address.trim());
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || !host || port > 65535 || (m[1] !== undefined && isIP(m[1]) !== 6)) {
    throw new RangeError(`"${address}" is not host:port (IPv6 as [addr]:port)`);
  }
  return { host, port };
}

export async function startStatusServer(opts: StatusServerOptions): Promise<StatusServer> {
  const { host, port } = parseHostPort(opts.address);
  const timeoutMs = opts.checkTimeoutMs ?? 3000;
  const server = createServer((req, res) => {
    handle(req, res, opts, timeoutMs).catch((err) => {
      if (!res.headersSent) reply(res, 500, 'text/plain; charset=utf-8', `${(err as Error).message}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound ? bound.port : port;
  return {
    url: `http://${isIP(host) === 6 ? `[${host}]` : host}:${boundPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: StatusServerOptions, timeoutMs: number): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const known = path === READINESS_PATH || (path === METRICS_PATH && opts.metrics) || (path === DEBUG_PATH && opts.debug);
  if (!known) {
    return reply(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return reply(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  }
  if (path === DEBUG_PATH) {
    return reply(res, 200, 'application/json', `${JSON.stringify(await opts.debug!(), null, 2)}\n`);
  }
  if (path === METRICS_PATH) {
    const registry = opts.metrics!;
    return reply(res, 200, registry.contentType, await registry.metrics());
  }
  const checks = await Promise.all(opts.checks.map((check, i) => runCheck(check, i, timeoutMs)));
  const ready = checks.every((c) => c.ok);
  reply(res, ready ? 200 : 503, 'application/json', `${JSON.stringify({ ready, checks }, null, 2)}\n`);
}

async function runCheck(check: StatusCheck, index: number, timeoutMs: number): Promise<StatusCheckResult> {
  // Used when the check has no answer to name itself with.
  const label = check.name || `check ${index}`;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<StatusCheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ name: label, ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    const result = await Promise.race([check(), late]);
    return { name: String(result.name), ok: result.ok === true, detail: String(result.detail) };
  } catch (err) {
    return { name: label, ok: false, detail: `check failed: ${(err as Error)?.message ?? String(err)}` };
  } finally {
    clearTimeout(timer);
  }
}

function reply(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
