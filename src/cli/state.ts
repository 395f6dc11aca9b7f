import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import { ROOT_CERT_FILE, ROOT_KEY_FILE } from '../ca/root-files.js';
import { TokenAuthority } from '../identity/proxy-token.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { Workload } from '../model/registry.js';
import { proxyKind } from '../model/proxy-kind.js';
import { parseDurationSeconds } from './duration.js';

export const DEFAULT_STATE_DIR = '.meshlite';
export const DEFAULT_ADS_ADDRESS = '127.0.0.1:15010';
export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:15014';

/** Prints one line and exits 1. */
export function exitWith(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const RUN_SERVE_FIRST = 'run `meshlite serve` first, or pass the --state-dir that serve uses';

/**
 * The state directory `meshlite serve` made (its CA root, unless a plugged-in
 * CA is used, and its token key); exits with a clear message otherwise. Only
 * serve creates them: a bootstrap or token from another directory would not
 * be trusted by the running meshlite.
 */
export function requireServeState(stateDir: string, caDir: string | undefined): void {
  const hasRoot = [ROOT_CERT_FILE, ROOT_KEY_FILE].some((f) => existsSync(join(stateDir, 'ca', f)));
  if (!caDir && !hasRoot) exitWith(`no meshlite CA in ${stateDir}: ${RUN_SERVE_FIRST}`);
  if (!TokenAuthority.existsIn(stateDir)) exitWith(`no meshlite token key in ${stateDir}: ${RUN_SERVE_FIRST}`);
}

export async function loadTokenAuthority(stateDir: string, caDir: string | undefined): Promise<TokenAuthority> {
  requireServeState(stateDir, caDir);
  try {
    return await TokenAuthority.load(stateDir);
  } catch (err) {
    return exitWith(`cannot read the token key in ${stateDir}: ${(err as Error).message}`);
  }
}

/** The CA and token key meshlite serve uses, from the same state directory (never created here). */
export async function loadIdentityState(
  stateDir: string,
  caDir: string | undefined,
  model: MeshModel,
): Promise<{ ca: CertificateAuthority; tokens: TokenAuthority }> {
  const trustDomain = model.mesh.trustDomain;
  const tokens = await loadTokenAuthority(stateDir, caDir);
  try {
    // Loaded here: the CA's X.509 modules are the slowest part of starting the CLI.
    const { CertificateAuthority } = await import('../ca/certificate-authority.js');
    const ca = await CertificateAuthority.loadOrCreate(caDir ? { pluggedInDir: caDir, trustDomain } : { stateDir, trustDomain });
    return { ca, tokens };
  } catch (err) {
    return exitWith((err as Error).message);
  }
}

/** A duration flag's value in seconds, or a clear error. */
export function durationOrExit(flag: string, text: string): number {
  let seconds: number;
  try {
    seconds = parseDurationSeconds(text);
  } catch (err) {
    return exitWith(`${flag}: ${(err as Error).message}`);
  }
  if (!(seconds > 0)) exitWith(`${flag}: must be longer than 0 s (got "${text}")`);
  return seconds;
}

/**
 * The proxy must be an Envoy of the config: a sidecar workload, or a gateway
 * workload (one a Gateway selects); exits with a clear message otherwise.
 */
export function requireEnvoyProxy(model: MeshModel, proxyId: string): { namespace: string; kind: 'sidecar' | 'gateway' } {
  const w = model.registry.workload(proxyId);
  const envoyKind = (x: Workload) => {
    const kind = proxyKind(model, x);
    return kind === 'sidecar' || kind === 'gateway';
  };
  if (!w || !envoyKind(w)) {
    const known = model.registry.workloads.filter(envoyKind).map((x) => x.id);
    process.stderr.write(
      `${w ? `workload "${proxyId}" runs no sidecar and no Gateway selects it` : `no workload "${proxyId}"`}; Envoy proxies: ${known.join(', ')}\n`,
    );
    process.exit(1);
  }
  return { namespace: w.namespace, kind: proxyKind(model, w) as 'sidecar' | 'gateway' };
}

/**
 * The proxy must be one meshlite serves: an Envoy (sidecar or gateway) or a
 * proxyless gRPC app (its `meshlite agent --grpc` needs a token too); exits
 * with a clear message otherwise.
 */
export function requireMeshProxy(model: MeshModel, proxyId: string): void {
  const w = model.registry.workload(proxyId);
  if (w && proxyKind(model, w) !== undefined) return;
  const known = model.registry.workloads.filter((x) => proxyKind(model, x) !== undefined).map((x) => x.id);
  process.stderr.write(
    `${w ? `workload "${proxyId}" runs no sidecar, is not a proxyless gRPC app and no Gateway selects it` : `no workload "${proxyId}"`}; proxies: ${known.join(', ')}\n`,
  );
  process.exit(1);
}
