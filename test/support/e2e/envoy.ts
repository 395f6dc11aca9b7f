// Real Envoy processes for e2e tests: bootstrap from `meshlite bootstrap`,
// admin on a kernel-chosen port (learnt through --admin-address-path), and the
// admin views the tests assert on.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { envoyOrThrow } from '../envoy-binary.js';
import { meshliteCli } from './meshlite.js';
import { describeExit, type ManagedProcess, type ProcessManager } from './process-manager.js';

type Json = Record<string, any>;

export interface BootstrapOptions {
  configDir: string;
  stateDir: string;
  /** meshlite's ADS `host:port`. */
  adsAddress: string;
  /** `--token-ttl` of the embedded token (e.g. `4s`); meshlite's default otherwise. */
  tokenTtl?: string;
}

/** Writes `<pm.dir>/<file>` with `meshlite bootstrap` and returns it parsed. */
export async function writeBootstrap(
  pm: ProcessManager,
  proxyId: string,
  o: BootstrapOptions,
  file = `${proxyId}.bootstrap.json`,
): Promise<{ path: string; bootstrap: Json }> {
  const path = join(pm.dir, file);
  const ttl = o.tokenTtl ? ['--token-ttl', o.tokenTtl] : [];
  await meshliteCli([
    'bootstrap',
    '-c',
    o.configDir,
    '--proxy',
    proxyId,
    '--state-dir',
    o.stateDir,
    '--ads-address',
    o.adsAddress,
    '--admin-port',
    '0',
    ...ttl,
    '-o',
    path,
  ]);
  return { path, bootstrap: JSON.parse(readFileSync(path, 'utf8')) as Json };
}

export interface Envoy {
  /** Label of this Envoy (the proxy id, or a test's own name for odd bootstraps). */
  name: string;
  adminUrl: string;
  process: ManagedProcess;
  stop(): Promise<void>;
  get(path: string): Promise<string>;
  getJson<T = Json>(path: string): Promise<T>;
  /** Value of one stat (`/stats?filter=^name$`), undefined when absent. */
  stat(name: string): Promise<number | undefined>;
}

let envoyBin: string | undefined;
/** The Envoy binary, looked up once per test process. */
function envoyBinary(): string {
  return (envoyBin ??= envoyOrThrow());
}

let nextBaseId = 0;
/** Distinct per Envoy in this process and across concurrent test processes. */
function uniqueBaseId(): number {
  nextBaseId = (nextBaseId + 1) % 100;
  return (process.pid % 100_000) * 100 + nextBaseId;
}

/** `extraArgs`: more Envoy command-line options (e.g. drain settings). */
export async function startEnvoyFromFile(
  pm: ProcessManager,
  name: string,
  bootstrapPath: string,
  extraArgs: readonly string[] = [],
): Promise<Envoy> {
  const addressFile = join(pm.dir, `${name}.admin-address`);
  const args = [
    '-c',
    bootstrapPath,
    '--base-id',
    String(uniqueBaseId()),
    '--admin-address-path',
    addressFile,
    '-l',
    'warning',
    '--concurrency',
    '1',
    ...extraArgs,
  ];
  const p = pm.start(`envoy-${name}`, envoyBinary(), args);
  const deadline = Date.now() + 20_000;
  let address = '';
  while (!address) {
    if (existsSync(addressFile)) address = readFileSync(addressFile, 'utf8').trim();
    if (address) break;
    if (!p.running) throw new Error(`Envoy ${name} exited (${describeExit(p.exit!)}) before its admin came up\n${p.tail()}`);
    if (Date.now() > deadline) throw new Error(`Envoy ${name}: no admin address after 20 s\n${p.tail()}`);
    await sleep(50);
  }
  const adminUrl = `http://${address}`;
  return { name, adminUrl, process: p, stop: async () => void (await p.stop()), ...envoyAdmin(adminUrl) };
}

/** Reads of an Envoy admin: any path as text or JSON, and one stat's value. */
/** Polls Envoy's admin /ready until it answers 200 (listeners and clusters initialized); throws after 20 s. */
export async function waitEnvoyReady(envoy: Pick<Envoy, 'name' | 'adminUrl'>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${envoy.adminUrl}/ready`)).ok) return;
    } catch {
      /* not yet */
    }
    await sleep(100);
  }
  throw new Error(`Envoy ${envoy.name} not ready`);
}

export function envoyAdmin(adminUrl: string): Pick<Envoy, 'get' | 'getJson' | 'stat'> {
  const get = async (path: string) => {
    const res = await fetch(`${adminUrl}${path}`, { signal: AbortSignal.timeout(5000) });
    return res.text();
  };
  return {
    get,
    getJson: async (path) => JSON.parse(await get(path)),
    stat: async (stat) => {
      const text = await get(`/stats?filter=${encodeURIComponent(`^${stat.replace(/\./g, '\\.')}$`)}`);
      const m = /:\s*(\d+)\s*$/m.exec(text);
      return m ? Number(m[1]) : undefined;
    },
  };
}

/** Bootstrap for `proxyId` (optionally edited) and an Envoy running it. */
export async function startEnvoy(
  pm: ProcessManager,
  proxyId: string,
  o: BootstrapOptions & { name?: string; edit?: (b: Json) => void; args?: readonly string[] },
): Promise<Envoy> {
  const name = o.name ?? proxyId;
  const { path, bootstrap } = await writeBootstrap(pm, proxyId, o, `${name}.bootstrap.json`);
  if (o.edit) {
    o.edit(bootstrap);
    writeFileSync(path, JSON.stringify(bootstrap, null, 2), { mode: 0o600 });
  }
  return startEnvoyFromFile(pm, name, path, o.args);
}

/** The ADS call metadata of a bootstrap (where the token lives). */
export function adsGrpcService(bootstrap: Json): Json {
  return bootstrap.dynamic_resources.ads_config.grpc_services[0];
}

/** config_dump sections by their @type suffix (ClustersConfigDump, ListenersConfigDump, ...). */
export async function configDumpSections(envoy: Envoy): Promise<Record<string, Json>> {
  const dump = await envoy.getJson<{ configs: Json[] }>('/config_dump');
  const out: Record<string, Json> = {};
  for (const c of dump.configs) out[String(c['@type']).split('.').pop()!] = c;
  return out;
}

/**
 * Dynamic clusters, listeners and route configurations, sorted by name with
 * version_info and last_updated removed (what `istioctl proxy-status` diffs).
 */
export async function dynamicConfig(envoy: Envoy): Promise<Json> {
  const s = await configDumpSections(envoy);
  const strip = (entry: Json): Json => {
    const { version_info: _v, last_updated: _l, ...rest } = entry;
    return rest;
  };
  const byName = (a: Json, b: Json) => String(a.name).localeCompare(String(b.name));
  return {
    clusters: (s.ClustersConfigDump?.dynamic_active_clusters ?? []).map((c: Json) => strip(c).cluster).sort(byName),
    warmingClusters: s.ClustersConfigDump?.dynamic_warming_clusters ?? [],
    listeners: (s.ListenersConfigDump?.dynamic_listeners ?? [])
      .map((l: Json) => ({
        name: l.name,
        active: l.active_state ? strip(l.active_state) : undefined,
        warming: l.warming_state ? strip(l.warming_state) : undefined,
      }))
      .sort(byName),
    routes: (s.RoutesConfigDump?.dynamic_route_configs ?? []).map((r: Json) => strip(r).route_config).sort(byName),
  };
}

export interface CertInfo {
  serial: string;
  uris: string[];
}

/** Envoy /certs: the certificate chains it serves and the CA certificates it trusts. */
export async function servedCerts(envoy: Envoy): Promise<{ chains: CertInfo[]; cas: CertInfo[] }> {
  const body = await envoy.getJson<{ certificates?: Json[] }>('/certs');
  const info = (c: Json): CertInfo => ({
    serial: String(c.serial_number),
    uris: (c.subject_alt_names ?? []).map((s: Json) => s.uri).filter((u: unknown): u is string => typeof u === 'string'),
  });
  const chains: CertInfo[] = [];
  const cas: CertInfo[] = [];
  for (const entry of body.certificates ?? []) {
    for (const c of entry.cert_chain ?? []) chains.push(info(c));
    for (const c of entry.ca_cert ?? []) cas.push(info(c));
  }
  return { chains, cas };
}
