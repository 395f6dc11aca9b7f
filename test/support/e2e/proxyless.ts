// Proxyless gRPC workloads for e2e tests: `meshlite agent --grpc` as a child
// process (its bootstrap and certificate files), the greeter client app on
// it, the client's JSON call lines, and a raw TLS probe of a server.
import { agentArgs } from './agent.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { REPO_ROOT } from '../paths.js';
import type { ManagedProcess, ProcessManager } from './process-manager.js';

export const APPS = join(REPO_ROOT, 'dist/test/support/apps');

export interface GrpcAgent {
  proxy: string;
  process: ManagedProcess;
  statusUrl: string;
  /** The file to give the app as GRPC_XDS_BOOTSTRAP. */
  bootstrap: string;
  /** key.pem, cert-chain.pem and root-cert.pem, kept current by the agent. */
  certsDir: string;
  /** The serial of the certificate the agent holds now (lower-case hex). */
  serial(): Promise<string>;
}

export interface GrpcAgentOptions {
  configDir: string;
  stateDir: string;
  /** meshlite's ADS `host:port`. */
  adsAddress: string;
  /** `--cert-ttl`, e.g. `20s`. */
  certTtl?: string;
}

/** Issues a token with `meshlite token`, starts `meshlite agent --grpc` for `proxy` and waits until it is ready. */
export async function startGrpcAgent(pm: ProcessManager, proxy: string, o: GrpcAgentOptions): Promise<GrpcAgent> {
  const { args, workDir } = await agentArgs(pm, proxy, o);
  const p = pm.start(`agent-${proxy}`, process.execPath, [...args, '--grpc', ...(o.certTtl ? ['--cert-ttl', o.certTtl] : [])]);
  const line = (await p.waitForLog(/^.*"msg":"agent ready.*$/m, 20_000))[0];
  const ready = JSON.parse(line) as { statusUrl: string; grpcBootstrap: string };
  const serial = async () => {
    const res = await fetch(`${ready.statusUrl}/debug/agent`, { signal: AbortSignal.timeout(5000) });
    return ((await res.json()) as { certificate: { serialNumber: string } }).certificate.serialNumber.toLowerCase();
  };
  return { proxy, process: p, statusUrl: ready.statusUrl, bootstrap: ready.grpcBootstrap, certsDir: join(workDir, 'certs'), serial };
}

/**
 * The greeter client app (`rest`: intervalMs, deadlineMs, maxCalls). With an
 * agent it runs on that agent's bootstrap with xDS channel credentials;
 * without, it is a plain gRPC client with insecure credentials.
 */
export function startGreeterClient(
  pm: ProcessManager,
  name: string,
  agent: GrpcAgent | undefined,
  target: string,
  rest: readonly string[],
): ManagedProcess {
  const { GRPC_XDS_BOOTSTRAP: _, ...inherited } = process.env;
  const env = agent ? { ...inherited, GRPC_XDS_BOOTSTRAP: agent.bootstrap } : inherited;
  const args = [join(APPS, 'greeter-client.js'), ...(agent ? ['--xds-creds'] : []), target, ...rest];
  return pm.start(name, process.execPath, args, { env });
}

export interface CallLine {
  ok: boolean;
  seq: number;
  server?: string;
  caller?: string;
  code?: string;
  details?: string;
}

/** The greeter client's calls so far (its JSON lines in its log). */
export function callsOf(p: ManagedProcess): CallLine[] {
  return p
    .log()
    .split('\n')
    .filter((l) => l.startsWith('{"ok"'))
    .map((l) => JSON.parse(l) as CallLine);
}

export const describeCalls = (cs: readonly CallLine[]) => cs.map((c) => (c.ok ? `ok(${c.caller})` : `${c.code}: ${c.details}`)).join('\n');

/** Polls `check` until it returns a value, failing after `timeoutMs` with `describe()`. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  describe: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The calls `p` made after index `from`, once the last `n` of them all satisfy `want` (earlier ones may still be switching over). */
export function tailOf(
  p: ManagedProcess,
  from: number,
  n: number,
  want: (c: CallLine) => boolean,
  timeoutMs = 20_000,
): Promise<CallLine[]> {
  return eventually(
    () => {
      const since = callsOf(p).slice(from);
      return since.length >= n && since.slice(-n).every(want) ? since : undefined;
    },
    timeoutMs,
    () => `${p.name}: last calls:\n${describeCalls(callsOf(p).slice(-8))}`,
  );
}

export interface TlsVerdict {
  /** The server certificate's subjectAltName, as Node prints it (`URI:spiffe://...`). */
  san?: string;
  serial?: string;
  /** Set when the connection failed or was closed before the server spoke HTTP/2. */
  error?: string;
}

/**
 * A raw TLS connection (ALPN h2) to a gRPC server, trusting the root in
 * `certsDir` and, if asked, presenting its key pair; it sends the HTTP/2
 * preface and passes once the server answers. Under TLS 1.3 a server that
 * refuses the client's certificate (or its absence) says so only after the
 * handshake, which is why it waits for the server's first bytes.
 */
export function tlsProbe(host: string, port: number, certsDir: string, withClientCertificate: boolean): Promise<TlsVerdict> {
  const read = (f: string) => readFileSync(join(certsDir, f));
  return new Promise((resolve) => {
    let socket: ReturnType<typeof connect>;
    try {
      socket = connect({
        host,
        port,
        ca: read('root-cert.pem'),
        ...(withClientCertificate ? { key: read('key.pem'), cert: read('cert-chain.pem') } : {}),
        ALPNProtocols: ['h2'],
        // The server's certificate names a SPIFFE id, no host name: the chain is verified, the SAN is returned.
        checkServerIdentity: () => undefined,
      });
    } catch (err) {
      resolve({ error: (err as Error).message }); // e.g. a key read beside the certificate before it
      return;
    }
    let peer: TlsVerdict = {};
    const finish = (r: TlsVerdict) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ...peer, error: 'no verdict within 5 s' }), 5000);
    socket.on('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      peer = { san: cert.subjectaltname, serial: cert.serialNumber?.toLowerCase() };
      socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      socket.once('data', () => finish(peer));
    });
    socket.on('error', (err) => finish({ ...peer, error: err.message }));
    socket.on('close', () => finish({ ...peer, error: 'closed' }));
  });
}
