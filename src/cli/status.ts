// `meshlite status [proxy]`: for every connected proxy, whether it holds what
// meshlite means for it, type by type, read from a running serve's
// /debug/syncz. In store mode the replica asked (or, with --store, the store
// itself) names the others and which proxies each serves; their admin servers
// are asked in turn.
import { Command, Option } from 'commander';
import type { EtcdStore } from '../store/etcd-store.js';
import { readMesh } from '../store/replica-registry.js';
import { appendAll } from '../util/append-all.js';
import { withStoreOrExit } from './config-source.js';
import { addStoreFlags } from './store-connection.js';
import { DEFAULT_ADMIN_ADDRESS } from './state.js';
import { EXIT, type StoreFlags } from './store-command.js';
import { type AdminTarget, adminBase, answerError, exitLine, getJson, tokenFromFile, tryGetJson } from './http-json.js';
import { formatStatusDetail, formatStatusTable, type ProxySyncFacts, type StatusRow } from './status-rows.js';

interface StatusOptions extends Partial<StoreFlags> {
  meshliteAdmin: string;
  adminTokenFile?: string;
  output: 'table' | 'json' | 'wide';
}

/** /debug/syncz in store mode (src/control-plane/replica-mount.ts MeshSyncView). */
interface MeshView {
  /** The replica that answered (absent when the store was read directly). */
  replica?: string;
  replicas?: { id: string; adminAddress: string }[];
  proxies?: { proxy: string; replica: string }[];
  unavailable?: string;
}

export const MESHLITE_ADMIN_HELP = "a running meshlite serve's admin server (http://host:port or host:port)";

export function statusCommand(): Command {
  return addStoreFlags(
    new Command('status'),
    false,
    'the store of the replicated mode: every replica it lists is asked, instead of --meshlite-admin',
  )
    .description('per connected proxy and xDS type: SYNCED, STALE (sent, not yet accepted), NACKED or NOT SENT; its certificate expiry')
    .argument('[proxy]', 'one proxy (name.namespace): its versions sent and accepted and the full NACK message')
    .option('--meshlite-admin <url>', MESHLITE_ADMIN_HELP, `http://${DEFAULT_ADMIN_ADDRESS}`)
    .option('--admin-token-file <path>', 'file holding the admin bearer token (the one given to meshlite serve --admin-token-file)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'wide']).default('table'))
    .action(async (proxy: string | undefined, opts: StatusOptions) => {
      const target: AdminTarget = {
        base: adminBase('status', opts.meshliteAdmin, '--meshlite-admin'),
        token: tokenFromFile('status', opts.adminTokenFile),
        what: "meshlite's admin server",
      };
      const rows =
        opts.store === undefined
          ? await statusRows(target)
          : await withStoreOrExit(opts as StoreFlags, 'status', async (store) => meshRows(target, await storeMesh(store), []));
      const now = Date.now();
      if (proxy !== undefined) {
        const row = rows.find((r) => r.proxy === proxy);
        if (!row)
          exitLine(
            `meshlite status: proxy "${proxy}" is not connected${rows.length > 0 ? ` (connected: ${rows.map((r) => r.proxy).join(', ')})` : ' (no proxy is connected)'}`,
            EXIT.refused,
          );
        process.stdout.write(opts.output === 'json' ? `${JSON.stringify(row, null, 2)}\n` : formatStatusDetail(row, now));
        return;
      }
      if (opts.output === 'json') process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else process.stdout.write(formatStatusTable(rows, now, opts.output === 'wide'));
    });
}

/** Every proxy the mesh has connected, sorted by name; in store mode from every replica that answers. */
export async function statusRows(target: AdminTarget): Promise<StatusRow[]> {
  const answer = await getJson('status', target, '/debug/syncz');
  if (answer.status !== 200) exitLine(`meshlite status: /debug/syncz answered: ${answerError(answer)}`, EXIT.refused);
  const body = answer.body as ProxySyncFacts[] | { proxies: ProxySyncFacts[]; mesh: MeshView };
  if (Array.isArray(body)) return sortRows(body.map((p) => ({ ...p, replica: '-' })));
  const { mesh } = body;
  if (mesh.unavailable !== undefined) warn(`the store did not list the other replicas: ${mesh.unavailable}`);
  return meshRows(
    target,
    mesh,
    body.proxies.map((p) => ({ ...p, replica: mesh.replica ?? '-' })),
  );
}

/** `known` (the rows of the replica asked, if any) and those of every other replica the store lists with proxies. */
async function meshRows(target: AdminTarget, mesh: MeshView, known: StatusRow[]): Promise<StatusRow[]> {
  const rows = [...known];
  const elsewhere = (mesh.proxies ?? []).filter((p) => p.replica !== mesh.replica);
  for (const replica of mesh.replicas ?? []) {
    const theirs = elsewhere.filter((p) => p.replica === replica.id);
    if (replica.id === mesh.replica || theirs.length === 0) continue;
    appendAll(rows, await replicaRows(target, replica, theirs));
  }
  // A proxy the store lists on a replica that is no longer registered (its lease ran out).
  const listed = new Set(rows.map((r) => r.proxy));
  for (const p of elsewhere) if (!listed.has(p.proxy)) rows.push(unknownRow(p.proxy, p.replica));
  return sortRows(rows);
}

/** The replicas and proxies the store lists (no replica answered for them). */
async function storeMesh(store: EtcdStore): Promise<MeshView> {
  const mesh = await readMesh(store);
  if (mesh.replicas.length === 0) warn(`${store.description} lists no replica: is meshlite serve --store running?`);
  return mesh;
}

/** The proxies another replica serves, as it reports them; UNKNOWN (and a warning) when it does not answer. */
async function replicaRows(
  first: AdminTarget,
  replica: { id: string; adminAddress: string },
  theirs: readonly { proxy: string }[],
): Promise<StatusRow[]> {
  const target = { ...first, base: `http://${replica.adminAddress}`, what: `the admin server of replica ${replica.id}` };
  const answer = await tryGetJson('status', target, '/debug/syncz');
  if ('unreachable' in answer || answer.status !== 200) {
    warn(`replica ${replica.id} (${target.base}) did not answer: ${'unreachable' in answer ? answer.unreachable : answerError(answer)}`);
    return theirs.map((p) => unknownRow(p.proxy, replica.id));
  }
  const body = answer.body as ProxySyncFacts[] | { proxies: ProxySyncFacts[] };
  const reported = Array.isArray(body) ? body : body.proxies;
  return reported.map((p) => ({ ...p, replica: replica.id }));
}

const unknownRow = (proxy: string, replica: string): StatusRow => ({ proxy, replica, types: [] });

function sortRows(rows: StatusRow[]): StatusRow[] {
  return rows.sort((a, b) => (a.proxy < b.proxy ? -1 : a.proxy > b.proxy ? 1 : a.replica.localeCompare(b.replica)));
}

function warn(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}
