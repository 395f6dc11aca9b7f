// A raw HTTP/1.1 client for policy tests: the request line and headers go on
// the wire byte for byte (no URL parsing, no normalisation, `#fragment` and
// `;params` kept), one fresh connection per request, and the answer is read
// until the server closes. Like curl, it reports '000' when no HTTP answer came.
import { connect } from 'node:net';
import type { WorkloadInfo } from './config-dir.js';
import { SERVICE_PORT } from './client.js';
import type { ManagedProcess } from './process-manager.js';

export interface RawRequest {
  host: string;
  port: number;
  localAddress?: string;
  method?: string;
  /** The request target exactly as sent: `/path`, or an absolute URI for a proxy. */
  target: string;
  /** Header lines in order (Host included: nothing is added but `connection: close`). */
  headers: readonly (readonly [string, string])[];
  timeoutMs?: number;
}

export interface RawResponse {
  /** HTTP status, or '000' when there was no HTTP answer. */
  code: string;
  /** Lower-cased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: string;
  error?: string;
}

export function rawHttp(r: RawRequest): Promise<RawResponse> {
  const timeoutMs = r.timeoutMs ?? 3000;
  const head = [`${r.method ?? 'GET'} ${r.target} HTTP/1.1`, ...r.headers.map(([k, v]) => `${k}: ${v}`), 'connection: close', '', ''].join(
    '\r\n',
  );
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = connect({ host: r.host, port: r.port, localAddress: r.localAddress });
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const parsed = parseResponse(Buffer.concat(chunks));
      resolve(
        parsed ?? {
          code: '000',
          headers: {},
          body: '',
          error: error ?? (chunks.length ? 'unparseable answer' : 'closed without an answer'),
        },
      );
    };
    const timer = setTimeout(() => finish(`timeout after ${timeoutMs} ms`), timeoutMs);
    socket.on('connect', () => socket.write(head));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
    socket.on('end', () => finish());
    socket.on('close', () => finish());
  });
}

function parseResponse(raw: Buffer): RawResponse | undefined {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [status, ...lines] = text.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(status ?? '');
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  let body = raw.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { code: m[1]!, headers, body: body.toString('utf8') };
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(b.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    out.push(b.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

export interface MeshRequestOptions {
  method?: string;
  /** Extra headers, after Host. */
  headers?: Record<string, string>;
  /** Host header (and absolute URI authority); `httpbin.<ns>:8000` by default. */
  authority?: string;
  /** Sent as `x-probe`; httpbin logs it with every request it receives. */
  probe?: string;
  /** The app's target port (where sidecar-less apps and inbound listeners listen). */
  targetPort?: number;
  timeoutMs?: number;
}

/**
 * `from` calls httpbin of `to`'s namespace as the scenarios' sleep does: through
 * its sidecar's HTTP proxy (absolute URI, from its application address), or,
 * without a sidecar, straight to the destination workload's address (no
 * kube-proxy here), with `path` sent as is.
 */
export function meshRequest(from: WorkloadInfo, to: WorkloadInfo, path: string, options: MeshRequestOptions = {}): Promise<RawResponse> {
  const authority = options.authority ?? `httpbin.${to.namespace}:${SERVICE_PORT}`;
  const headers: [string, string][] = [
    ['host', authority],
    ['user-agent', 'curl/8 (meshlite e2e)'],
    ['accept', '*/*'],
    ...Object.entries(options.headers ?? {}),
    ...(options.probe ? [['x-probe', options.probe] as [string, string]] : []),
  ];
  const base = { method: options.method, headers, timeoutMs: options.timeoutMs };
  return from.sidecar
    ? rawHttp({
        ...base,
        host: from.outboundAddress,
        port: from.outboundPort,
        localAddress: from.applicationAddress,
        target: `http://${authority}${path}`,
      })
    : rawHttp({ ...base, host: to.address, port: options.targetPort ?? 80, localAddress: from.address, target: path });
}

/** Every probe id httpbin logged (requests that reached the app). */
export function probesSeen(app: ManagedProcess): Set<string> {
  return new Set([...app.log().matchAll(/^request (\S+) /gm)].map((m) => m[1]!));
}

export function describeResponse(r: RawResponse): string {
  return `${r.code}${r.error ? ` (${r.error})` : ''} ${r.body.slice(0, 200).trim()}`;
}
