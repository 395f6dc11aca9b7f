// Clients for egress scenarios: an app calling any `http://host:port/path`
// through its sidecar's HTTP proxy, and line-protocol sessions over plain TCP
// (to a sidecar's TCP listener) or TLS (straight to a server).
import { request } from 'node:http';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { WorkloadInfo } from './config-dir.js';

export interface HttpResult {
  /** HTTP status, or '000' when there was no HTTP answer. */
  code: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  error?: string;
}

/**
 * GET `url` (absolute, plain http) the way the app `from` does with
 * `http_proxy` set: to its sidecar's outbound proxy port, from its application address.
 */
export function proxyGet(from: WorkloadInfo, url: string, timeoutMs = 5000): Promise<HttpResult> {
  if (!from.sidecar) throw new Error(`${from.id} has no sidecar to proxy through`);
  const authority = new URL(url).host;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: HttpResult) => {
      if (!settled) resolve(r);
      settled = true;
    };
    const req = request(
      {
        host: from.outboundAddress,
        port: from.outboundPort,
        localAddress: from.applicationAddress,
        path: url,
        method: 'GET',
        headers: { host: authority, 'user-agent': 'curl/8 (meshlite e2e)', accept: '*/*' },
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ code: String(res.statusCode), headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => done({ code: '000', headers: {}, body: '', error: err.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => done({ code: '000', headers: {}, body: '', error: err.code ?? err.message }));
    req.end();
  });
}

export interface SessionResult {
  /** Every line was answered. */
  ok: boolean;
  /** The answers received, in order. */
  replies: string[];
  /** How the session ended early: an error code/message, 'closed by peer' or a timeout. */
  error?: string;
}

export type Dial = () => Socket;

/** Plain TCP from `localAddress` (an app talking to its sidecar's TCP listener). */
export function dialTcp(host: string, port: number, localAddress?: string): Dial {
  return () => tcpConnect({ host, port, localAddress });
}

/** TLS straight to a server (with or without a client certificate). */
export function dialTls(options: ConnectionOptions): Dial {
  return () => tlsConnect(options);
}

/** Sends each line and waits for its one-line answer before the next; resolves, never rejects. */
export function lineSession(dial: Dial, lines: readonly string[], timeoutMs = 5000): Promise<SessionResult> {
  return new Promise((resolve) => {
    const replies: string[] = [];
    let buffered = '';
    let settled = false;
    const socket = dial();
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: error === undefined, replies, ...(error === undefined ? {} : { error }) });
    };
    const timer = setTimeout(() => finish(`timeout after ${timeoutMs} ms`), timeoutMs);
    const sendNext = () => {
      if (replies.length === lines.length) return finish();
      socket.write(`${lines[replies.length]}\n`);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let i = buffered.indexOf('\n'); i >= 0 && !settled; i = buffered.indexOf('\n')) {
        replies.push(buffered.slice(0, i));
        buffered = buffered.slice(i + 1);
        sendNext();
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
    socket.on('close', () => finish('closed by peer'));
    sendNext();
  });
}
