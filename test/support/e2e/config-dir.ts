// A private copy of an example config per test, edited atomically (write in a
// staging directory, then rename into the watched one) so meshlite never reads
// a half-written file and sees one change per edit.
//
// The examples put workloads on fixed loopback addresses (127.0.x.y:80). So
// that two e2e runs on one machine do not fight over them, each test process
// reserves an address block (a lock file): block 0 keeps the example's
// addresses unchanged, block N rewrites 127.0.x.y to 127.N.x.y.
import {
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  closeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { EXAMPLES_DIR } from '../paths.js';

/** e2e runs take 127.N.x.y for N below this (see reserveAddressBlock). */
export const MAX_BLOCKS = 50;
let reserved: number | undefined;

function lockPath(block: number): string {
  return join(tmpdir(), `meshlite-e2e-address-block-${block}.lock`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryLock(block: number): boolean {
  const path = lockPath(block);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(path, 'utf8'));
      if (owner ? alive(owner) : Date.now() - statSync(path).mtimeMs < 10_000) return false; // held (or being written)
      rmSync(path, { force: true }); // left by a dead run
    }
  }
  return false;
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * Every address:port the example's workloads, sidecars and apps will listen on
 * is free (`ports`: what listens on each workload address, 80 unless told).
 */
async function blockIsFree(example: string, block: number, ports: readonly number[]): Promise<boolean> {
  const sockets = new Set<string>();
  for (const w of readWorkloads(join(EXAMPLES_DIR, example))) {
    const map = (a: string) => mapAddresses(a, block);
    for (const port of ports) sockets.add(`${map(w.address)}:${port}`);
    if (w.sidecar) {
      sockets.add(`${map(w.applicationAddress)}:80`);
      sockets.add(`${map(w.outboundAddress)}:${w.outboundPort}`);
    }
  }
  for (const s of sockets) {
    const i = s.lastIndexOf(':');
    if (!(await canListen(s.slice(0, i), Number(s.slice(i + 1))))) return false;
  }
  return true;
}

/**
 * This process's address block: reserved on first use (lock file, released at
 * exit), skipping blocks another run holds or whose addresses are in use.
 */
export async function reserveAddressBlock(example = 's1-auto-mtls', ports: readonly number[] = [80]): Promise<number> {
  if (reserved !== undefined) return reserved;
  for (let block = 0; block < MAX_BLOCKS; block++) {
    if (!tryLock(block)) continue;
    if (await blockIsFree(example, block, ports)) {
      const path = lockPath(block);
      process.on('exit', () => rmSync(path, { force: true }));
      return (reserved = block);
    }
    rmSync(lockPath(block), { force: true });
  }
  throw new Error(`no free e2e address block among ${MAX_BLOCKS}`);
}

export function addressBlock(): number {
  if (reserved === undefined) throw new Error('reserveAddressBlock() first');
  return reserved;
}

export function mapAddresses(text: string, block: number): string {
  return block === 0 ? text : text.replace(/\b127\.0\.(\d+)\.(\d+)\b/g, `127.${block}.$1.$2`);
}

export interface ConfigDir {
  /** The directory meshlite watches. */
  dir: string;
  /** Same filesystem, outside the watched tree: where edits are written first. */
  staging: string;
  block: number;
}

/** Copies `examples/<example>` (following `base` links) into `<root>/config`. */
export async function prepareConfigDir(root: string, example = 's1-auto-mtls', ports?: readonly number[]): Promise<ConfigDir> {
  const block = await reserveAddressBlock(example, ports);
  const dir = join(root, 'config');
  const staging = join(root, 'staging');
  mkdirSync(dir, { recursive: true });
  mkdirSync(staging, { recursive: true });
  const copy = (from: string, to: string) => {
    for (const entry of readdirSync(from)) {
      const src = join(from, entry);
      if (statSync(src).isDirectory()) {
        mkdirSync(join(to, entry), { recursive: true });
        copy(src, join(to, entry));
      } else {
        writeFileSync(join(to, entry), mapAddresses(readFileSync(src, 'utf8'), block));
      }
    }
  };
  copy(join(EXAMPLES_DIR, example), dir);
  return { dir, staging, block };
}

/** Writes `name` (relative to the config dir) atomically. */
export function writeConfigFile(cfg: ConfigDir, name: string, text: string): void {
  const staged = join(cfg.staging, `${name.replace(/\//g, '_')}.${process.pid}.tmp`);
  writeFileSync(staged, text);
  renameSync(staged, join(cfg.dir, name));
}

export function removeConfigFile(cfg: ConfigDir, name: string): void {
  unlinkSync(join(cfg.dir, name));
}

/** The text of an example file (e.g. `s2-mesh-strict/peer-authentication.yaml`), addresses mapped. */
export function exampleFile(path: string, block = addressBlock()): string {
  return mapAddresses(readFileSync(join(EXAMPLES_DIR, path), 'utf8'), block);
}

export interface WorkloadInfo {
  /** `<name>.<namespace>` */
  id: string;
  name: string;
  namespace: string;
  address: string;
  sidecar: boolean;
  applicationAddress: string;
  outboundAddress: string;
  outboundPort: number;
}

/** The WorkloadEntries of a config directory, read from its YAML (the test's source of truth). */
export function readWorkloads(dir: string): WorkloadInfo[] {
  const out: WorkloadInfo[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry)) {
        for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
          const resource = doc.toJS() as Record<string, any> | null;
          if (resource?.kind !== 'WorkloadEntry') continue;
          const ann: Record<string, string> = resource.metadata?.annotations ?? {};
          out.push({
            id: `${resource.metadata.name}.${resource.metadata.namespace}`,
            name: resource.metadata.name,
            namespace: resource.metadata.namespace,
            address: resource.spec.address,
            sidecar: resource.spec.labels?.['security.istio.io/tlsMode'] === 'istio',
            applicationAddress: ann['sidecar.meshlite.io/applicationAddress'] ?? '127.0.0.1',
            outboundAddress: ann['sidecar.meshlite.io/outboundAddress'] ?? '127.0.0.1',
            outboundPort: Number(ann['sidecar.meshlite.io/outboundPort'] ?? 15001),
          });
        }
      }
    }
  };
  walk(dir);
  return out;
}
