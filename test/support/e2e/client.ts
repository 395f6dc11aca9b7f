// The `sleep` client of the scenarios, curl-like: one fresh connection per
// request and the code curl would print (the HTTP status, or '000' when the
// connection is refused, reset or times out).
import { request } from 'node:http';
import type { WorkloadInfo } from './config-dir.js';

export const NAMESPACES = ['foo', 'bar', 'legacy'] as const;
export type Namespace = (typeof NAMESPACES)[number];

export const SERVICE_PORT = 8000;

export interface CallResult {
  code: string;
  body: string;
  /** Why the call got no HTTP answer (for '000'). */
  error?: string;
}

export interface CallTarget {
  /** The sleep workload making the call. */
  from: WorkloadInfo;
  /** The httpbin workload of the destination namespace (dialled directly when `from` has no sidecar). */
  to: WorkloadInfo;
  /** The app's target port, where sidecar inbound listeners and sidecar-less apps listen. */
  targetPort?: number;
}

/**
 * GET `http://httpbin.<ns>:8000<path>` as the app `from` would: through its
 * sidecar's HTTP proxy (absolute URI), or, without a sidecar, straight to the
 * destination workload's address and target port (no kube-proxy here).
 */
export function call(target: CallTarget, path: string, timeoutMs = 3000): Promise<CallResult> {
  const authority = `httpbin.${target.to.namespace}:${SERVICE_PORT}`;
  const viaSidecar = target.from.sidecar;
  const options = viaSidecar
    ? {
        host: target.from.outboundAddress,
        port: target.from.outboundPort,
        path: `http://${authority}${path}`,
        localAddress: target.from.applicationAddress,
      }
    : { host: target.to.address, port: target.targetPort ?? 80, path, localAddress: target.from.address };
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: CallResult) => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    const req = request(
      {
        ...options,
        method: 'GET',
        headers: { host: authority, 'user-agent': 'curl/8 (meshlite e2e)', accept: '*/*' },
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ code: String(res.statusCode), body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => done({ code: '000', body: '', error: err.message }));
      },
    );
    req.on('timeout', () => {
      req.destroy(new Error(`timeout after ${timeoutMs} ms`));
    });
    req.on('error', (err: NodeJS.ErrnoException) => done({ code: '000', body: '', error: err.code ?? err.message }));
    req.end();
  });
}

/** `foo->bar` style keys of the 3x3 matrix. */
export type Matrix = Record<string, string>;

export function matrixKey(from: string, to: string): string {
  return `${from}->${to}`;
}

/** Every call 200 except the given ones, e.g. `expectedMatrix({'legacy->foo': '000'})`. */
export function expectedMatrix(exceptions: Matrix = {}): Matrix {
  const m: Matrix = {};
  for (const from of NAMESPACES) for (const to of NAMESPACES) m[matrixKey(from, to)] = '200';
  for (const [k, v] of Object.entries(exceptions)) {
    if (!(k in m)) throw new Error(`no matrix cell ${k}`);
    m[k] = v;
  }
  return m;
}

/** Readable diff of two matrices ('' when equal). */
export function matrixDiff(actual: Matrix, expected: Matrix): string {
  return Object.keys(expected)
    .filter((k) => actual[k] !== expected[k])
    .map((k) => `${k}: got ${actual[k]}, want ${expected[k]}`)
    .join('; ');
}

/** The XFCC header httpbin saw, from a /headers body (undefined when absent). */
export function xfccOf(body: string): string | undefined {
  const headers = (JSON.parse(body) as { headers: Record<string, string> }).headers;
  const key = Object.keys(headers).find((h) => h.toLowerCase() === 'x-forwarded-client-cert');
  return key ? headers[key] : undefined;
}
