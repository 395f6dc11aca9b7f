// A CreateCertificate client generated at run time from our .proto with
// @grpc/proto-loader (as any other grpc-js client of the API would be), plus
// a meshlite instance in-process for the tests of this folder.
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { pino } from 'pino';
import { type MeshliteOptions, type RunningMeshlite, startMeshlite } from '../../src/control-plane/start-meshlite.js';
import { type Document, workloadEntry, yamlOf } from '../support/fixtures/index.js';
import { REPO_ROOT } from '../support/paths.js';

const definition = protoLoader.loadSync(join(REPO_ROOT, 'protos/istio-certificate-service.proto'), { longs: String, defaults: true });
const loaded = grpc.loadPackageDefinition(definition) as any;
export const IstioCertificateService = loaded.istio.v1.auth.IstioCertificateService as grpc.ServiceClientConstructor;

export interface ClientTls {
  certChainPem: string;
  privateKeyPem: string;
}

export function caClient(m: RunningMeshlite, clientTls?: ClientTls, rootPem = m.ca.rootCertPem): grpc.Client {
  const credentials = clientTls
    ? grpc.credentials.createSsl(Buffer.from(rootPem), Buffer.from(clientTls.privateKeyPem), Buffer.from(clientTls.certChainPem))
    : grpc.credentials.createSsl(Buffer.from(rootPem));
  // A pool of its own: connections with other client certificates are never shared.
  return new IstioCertificateService(`127.0.0.1:${m.adsPort}`, credentials, {
    'grpc.ssl_target_name_override': 'meshlite',
    'grpc.use_local_subchannel_pool': 1,
  });
}

export type CallResult = { ok: true; chain: string[]; leaf: X509Certificate } | { ok: false; code: string; details: string };

export interface CreateArgs {
  csr: string;
  validityDuration?: number | string;
  token?: string;
  metadata?: Record<string, string>;
}

export function createCertificate(client: grpc.Client, args: CreateArgs): Promise<CallResult> {
  const md = new grpc.Metadata();
  if (args.token !== undefined) md.set('authorization', `Bearer ${args.token}`);
  const fields = Object.fromEntries(Object.entries(args.metadata ?? {}).map(([k, v]) => [k, { stringValue: v }]));
  const request = { csr: args.csr, validityDuration: args.validityDuration ?? 0, metadata: { fields } };
  return new Promise((resolve) => {
    (client as any).CreateCertificate(request, md, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null, res: any) => {
      if (err) return resolve({ ok: false, code: grpc.status[err.code], details: err.details });
      const chain = res.certChain as string[];
      resolve({ ok: true, chain, leaf: new X509Certificate(chain[0]!) });
    });
  });
}

/** The call must have succeeded; its chain. */
export function signed(result: CallResult): Extract<CallResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected a certificate, got ${result.code}: ${result.details}`);
  return result;
}

export function uriSans(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

/** sleep.foo, httpbin.foo, sleep.bar, httpbin.bar (sidecars) and legacy.foo (no sidecar). */
export const WORKLOADS: Document[] = [
  workloadEntry('foo/sleep', { address: '10.0.0.1' }),
  workloadEntry('foo/httpbin', { address: '10.0.0.2' }),
  workloadEntry('bar/sleep', { address: '10.0.0.3' }),
  workloadEntry('bar/httpbin', { address: '10.0.0.4' }),
  workloadEntry('foo/legacy', { address: '10.0.0.5', sidecar: false }),
];

export interface TestMeshlite {
  m: RunningMeshlite;
  dir: string;
  stateDir: string;
  configDir: string;
  /** Every log line, as pino wrote it. */
  logLines: string[];
  writeConfig(documents: Document[]): void;
  stop(): Promise<void>;
}

/** `configText` replaces the workloads file meshlite starts on. */
export async function startTestMeshlite(options: Partial<MeshliteOptions> = {}, configText?: string): Promise<TestMeshlite> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlite-ca-service-'));
  const stateDir = join(dir, 'state');
  const configDir = join(dir, 'config');
  mkdirSync(configDir);
  const writeConfig = (documents: Document[]) => writeFileSync(join(configDir, 'workloads.yaml'), yamlOf(...documents));
  if (configText === undefined) writeConfig(WORKLOADS);
  else writeFileSync(join(configDir, 'workloads.yaml'), configText);
  const logLines: string[] = [];
  const m = await startMeshlite({
    configPaths: [configDir],
    stateDir,
    adsAddress: '127.0.0.1:0',
    adminAddress: '127.0.0.1:0',
    insecure: false,
    settleMs: 0,
    debounceMs: 20,
    logger: pino({ level: 'debug' }, { write: (line: string) => logLines.push(line) }),
    ...options,
  });
  return {
    m,
    dir,
    stateDir,
    configDir,
    logLines,
    writeConfig,
    async stop() {
      await m.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
