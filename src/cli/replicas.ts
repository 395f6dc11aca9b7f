// `meshlite replicas --store <url>`: the replicas registered in the store, and
// with --proxies which replica each proxy is connected to.
import { Command } from 'commander';
import type { MeshView } from '../store/replica-registry.js';
import { exitWith } from './state.js';
import { addStoreFlags, type StoreConnectionFlags } from './store-connection.js';

interface ReplicasCliOptions extends StoreConnectionFlags {
  store: string;
  output: string;
  proxies?: boolean;
}

export function replicasCommand(): Command {
  const command = new Command('replicas')
    .description('list the meshlite replicas registered in the store (and, with --proxies, which replica each proxy is on)')
    .option('--proxies', 'also list every connected proxy and its replica')
    .option('-o, --output <format>', 'table or json', 'table');
  return addStoreFlags(command, true, 'the store').action(async (opts: ReplicasCliOptions) => {
    if (opts.output !== 'table' && opts.output !== 'json') exitWith(`meshlite replicas: -o expects table or json, got "${opts.output}"`);
    const [{ withStoreOrExit }, { readMesh }] = await Promise.all([import('./config-source.js'), import('../store/replica-registry.js')]);
    const mesh = await withStoreOrExit(opts, 'replicas', readMesh);
    process.stdout.write(
      opts.output === 'json' ? `${JSON.stringify(asJson(mesh, opts.proxies === true), null, 2)}\n` : table(mesh, opts.proxies === true),
    );
  });
}

function asJson(mesh: MeshView, withProxies: boolean) {
  const replicas = mesh.replicas.map((r) => ({ ...r, proxies: mesh.proxies.filter((p) => p.replica === r.id).length }));
  return withProxies ? { replicas, proxies: mesh.proxies } : { replicas };
}

function table(mesh: MeshView, withProxies: boolean): string {
  const rows = [['REPLICA', 'ADS ADDRESS', 'STARTED', 'PROXIES', 'VERSION', 'ROOT FINGERPRINT']];
  for (const r of mesh.replicas) {
    const count = mesh.proxies.filter((p) => p.replica === r.id).length;
    rows.push([r.id, r.adsAddress, r.startedAt, String(count), r.version, r.rootFingerprint]);
  }
  let text = columns(rows);
  if (mesh.replicas.length === 0) text += 'no replica is registered in the store\n';
  if (withProxies) {
    const proxyRows = [['PROXY', 'REPLICA', 'CONNECTED', 'AGENT']];
    for (const p of [...mesh.proxies].sort((a, b) => a.proxy.localeCompare(b.proxy)))
      proxyRows.push([p.proxy, p.replica, p.connectedAt, p.agent ? 'yes' : 'no']);
    text += `\n${columns(proxyRows)}`;
  }
  return text;
}

function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => rows.reduce((w, r) => Math.max(w, r[i]!.length), 0));
  return `${rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}
