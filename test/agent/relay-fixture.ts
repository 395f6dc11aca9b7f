// What the relay tests share: a meshlite in-process (TLS, tokens) that can be
// stopped and started again on the same port and state, its config (sleep and
// httpbin in foo, and an external service whose TLS names a CA file, so that
// meshlite serves sleep a Secret besides default and ROOTCA), a LocalSecrets
// whose material the test changes, and a workload certificate whose key is
// made here and signed by meshlite's CA.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import type { HeldCertificate, LocalSecrets } from '../../src/agent/agent-types.js';
import type { UpstreamConnector } from '../../src/agent/ads-relay.js';
import { type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import type { Logger } from '../../src/util/logger.js';
import { csrFor } from '../support/csr.js';

export const PROXY = 'sleep.foo';

/** meshlite's config; `address(n)` places workload n. `caFile` is the CA the external service's TLS names. */
export function relayTestConfig(address: (n: number) => string, caFile: string): string {
  const workload = (name: string, n: number) => `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: ${name}
  namespace: foo
  annotations:
    sidecar.meshlite.io/applicationAddress: ${address(n + 10)}
    sidecar.meshlite.io/outboundAddress: ${address(n)}
spec:
  address: ${address(n)}
  serviceAccount: ${name}
  labels: {app: ${name}, security.istio.io/tlsMode: istio}
`;
  return [
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin, namespace: foo}
spec:
  hosts: [httpbin.foo.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{name: http, number: 8000, protocol: HTTP, targetPort: 80}]
  workloadSelector: {labels: {app: httpbin}}
`,
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: goserver, namespace: foo}
spec:
  hosts: [goserver.foo.svc.cluster.local]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{name: http, number: 9090, protocol: HTTP}]
  endpoints: [{address: ${address(30)}}]
`,
    `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: goserver, namespace: foo}
spec:
  host: goserver.foo.svc.cluster.local
  trafficPolicy: {tls: {mode: SIMPLE, caCertificates: ${caFile}}}
`,
    workload('httpbin', 1),
    workload('sleep', 2),
  ].join('---\n');
}

/** The Secret meshlite serves sleep for the external service's CA file. */
export const fileRootSecret = (caFile: string) => `file-root:${caFile}`;

export class TestMeshlite {
  m!: RunningMeshlite;
  port = 0;
  readonly stateDir: string;
  readonly configDir: string;
  readonly caFile: string;

  private constructor(readonly dir: string) {
    this.stateDir = join(dir, 'state');
    this.configDir = join(dir, 'config');
    this.caFile = join(dir, 'goserver-ca.pem');
    mkdirSync(this.configDir);
  }

  static async start(address: (n: number) => string): Promise<TestMeshlite> {
    const t = new TestMeshlite(mkdtempSync(join(tmpdir(), 'meshlite-relay-')));
    writeFileSync(join(t.configDir, 'mesh.yaml'), relayTestConfig(address, t.caFile));
    await t.restart();
    writeFileSync(t.caFile, t.m.ca.rootCertPem);
    return t;
  }

  /** Starts meshlite (again: same port, state and config). */
  async restart(): Promise<void> {
    this.m = await startMeshlite({
      configPaths: [this.configDir],
      stateDir: this.stateDir,
      adsAddress: `127.0.0.1:${this.port}`,
      adminAddress: '127.0.0.1:0',
      insecure: false,
      settleMs: 0,
      debounceMs: 20,
      logger: pino({ level: 'silent' }),
    });
    this.port = this.m.adsPort;
  }

  async stop(): Promise<void> {
    await this.m.stop();
  }

  async remove(): Promise<void> {
    await this.m.stop().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The connector an agent uses before it holds a certificate: TLS trusting meshlite's root, a proxy token. */
  async connector(proxy = PROXY): Promise<UpstreamConnector & { calls: number }> {
    const token = await this.m.tokens!.issue(proxy);
    const connector = Object.assign(
      () => {
        connector.calls++;
        const metadata = new grpc.Metadata();
        metadata.set('authorization', `Bearer ${token}`);
        return {
          address: `127.0.0.1:${this.port}`,
          credentials: grpc.credentials.createSsl(Buffer.from(this.m.ca.rootCertPem)),
          metadata,
          options: { 'grpc.ssl_target_name_override': 'meshlite' },
        };
      },
      { calls: 0 },
    );
    return connector;
  }

  /** meshlite's /debug/adsz: every open ADS stream. */
  async adsz(): Promise<AdszEntry[]> {
    const res = await fetch(`http://127.0.0.1:${this.m.adminPort}/debug/adsz`, { signal: AbortSignal.timeout(5000) });
    return (await res.json()) as AdszEntry[];
  }
}

export interface AdszEntry {
  proxy: string;
  stream: number;
  node: { id: string; cluster: string; userAgent: string; metadata: Record<string, unknown> };
  types: { type: string; subscribed: string[] | '*'; ackedVersion?: string; sentVersion?: string }[];
}

/** A certificate for foo/sleep from meshlite's CA, on a P-256 key made here. */
export async function workloadCertificate(m: RunningMeshlite): Promise<HeldCertificate> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issued = await m.ca.signCsr(csrFor(privateKey), { trustDomain: 'cluster.local', namespace: 'foo', serviceAccount: 'sleep' });
  if (!issued.ok) throw new Error(issued.error);
  const c = issued.certificate;
  const blocks = c.certChainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)!;
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    certChainPem: blocks.slice(0, -1).join(''),
    rootPem: blocks.at(-1)!,
    serialNumber: c.serialNumber,
    spiffeId: c.spiffeId!,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
  };
}

/** LocalSecrets whose material the test sets. */
export class FakeLocalSecrets implements LocalSecrets {
  private held: HeldCertificate | undefined;
  private bundle = '';
  private readonly listeners = new Set<() => void>();

  certificate(): HeldCertificate | undefined {
    return this.held;
  }
  trustBundlePem(): string {
    return this.bundle;
  }
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(held: HeldCertificate | undefined, bundle: string): void {
    this.held = held;
    this.bundle = bundle;
    for (const l of this.listeners) l();
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
}

export interface LogLine {
  level: 'info' | 'warn' | 'debug' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

export function memoryLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (fields: object, msg?: string) => lines.push({ level, msg: msg ?? '', fields: { ...fields } });
  return { lines, info: at('info'), warn: at('warn'), debug: at('debug'), error: at('error') };
}

export const serialOf = (pem: string) => new X509Certificate(pem).serialNumber.toLowerCase();

/** A fresh directory for the relay's socket (removed by the caller). */
export function socketDir(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-relay-sock-'));
  return { dir, path: join(dir, 'ads.sock') };
}
