// Two listeners on one address:port are a config error, found before anything
// is served. Envoy binds with SO_REUSEPORT, so two proxies given one socket
// both bind it and the kernel splits connections between them (requests leave
// through the other sidecar, under its identity), and nothing fails; a sidecar
// whose inbound listener sits where its application should listen forwards
// to itself.
//
// Which sockets can meet depends on the host, which the config does not name.
// meshlite takes the workload address for it: workloads on loopback addresses
// (127.0.0.0/8) all run on this one host, any other workload address is a
// host of its own. Loopback and wildcard (0.0.0.0) sockets then collide only
// between workloads of one host; any other address belongs to one host, so
// the same address:port from two workloads collides wherever they run.
import { type ConfigIssue, joinPath, sortIssues } from '../config/diagnostics.js';
import { SIDECAR_ANNOTATIONS } from '../config/kinds/workload-entry.js';
import type { WorkloadEntry } from '../config/types.js';
import type { MeshModel } from './mesh-model.js';
import {
  allSockets,
  OutboundPortIndex,
  WILDCARD_ADDRESS,
  type WorkloadSocket,
  type WorkloadSockets,
  workloadSockets,
} from './proxy-sockets.js';

interface Owner {
  sockets: WorkloadSockets;
  entry: WorkloadEntry;
  /** The host the workload runs on (see above). */
  host: string;
}

interface Placed {
  socket: WorkloadSocket;
  owner: Owner;
}

const LOOPBACK = /^127\.\d+\.\d+\.\d+$/;

function isHostLocal(ip: string): boolean {
  return LOOPBACK.test(ip) || ip === 'localhost' || ip === WILDCARD_ADDRESS;
}

function hostOf(address: string): string {
  return LOOPBACK.test(address) || address === 'localhost' ? 'this host (loopback)' : address;
}

/** The first socket placed on each address:port of one host, and on each port by any address or the wildcard. */
class HostSockets {
  private readonly exact = new Map<string, Placed>();
  private readonly anyAddress = new Map<number, Placed>();
  private readonly wildcard = new Map<number, Placed>();

  /** An earlier socket this one collides with: the same address:port, or a wildcard against anything on the port. */
  clash({ socket }: Placed): Placed | undefined {
    const exact = this.exact.get(`${socket.ip}:${socket.port}`);
    if (exact) return exact;
    return (socket.ip === WILDCARD_ADDRESS ? this.anyAddress : this.wildcard).get(socket.port);
  }

  add(placed: Placed): void {
    const { ip, port } = placed.socket;
    const key = `${ip}:${port}`;
    if (!this.exact.has(key)) this.exact.set(key, placed);
    if (!this.anyAddress.has(port)) this.anyAddress.set(port, placed);
    if (ip === WILDCARD_ADDRESS && !this.wildcard.has(port)) this.wildcard.set(port, placed);
  }
}

/**
 * Every collision between the sockets of the mesh's workloads, as config
 * errors. Each is reported on the WorkloadEntry that comes later (by file,
 * then line) and names the earlier one with its file:line.
 */
export function addressConflicts(model: MeshModel): ConfigIssue[] {
  const entries = new Map(model.config.workloadEntries.map((we) => [`${we.meta.name}.${we.meta.namespace}`, we]));
  const outbound = new OutboundPortIndex(model);
  const owners: Owner[] = model.registry.workloads
    .map((workload) => ({
      sockets: workloadSockets(model, workload, outbound),
      entry: entries.get(workload.id)!,
      host: hostOf(workload.address),
    }))
    .sort((a, b) => a.entry.source.file.localeCompare(b.entry.source.file) || a.entry.source.line - b.entry.source.line);
  // One issue per pair of workloads (the first socket that collides; the rest
  // counted), and each socket of a workload in at most one.
  const pairs = new Map<Owner, Map<Owner, { issue: ConfigIssue; more: number }>>();
  const reported = new Map<Owner, Set<WorkloadSocket>>();
  const report: Report = (first, later) => {
    const done = reported.get(later.owner) ?? new Set<WorkloadSocket>();
    if (done.has(later.socket) || !reportable(first, later)) return;
    done.add(later.socket);
    reported.set(later.owner, done);
    const withLater = pairs.get(later.owner) ?? new Map<Owner, { issue: ConfigIssue; more: number }>();
    pairs.set(later.owner, withLater);
    const known = withLater.get(first.owner);
    if (known) {
      known.more += 1;
      return;
    }
    const { file, line } = later.owner.entry.source;
    withLater.set(first.owner, {
      issue: { file, line, column: 1, path: joinPath(later.socket.path), message: describeClash(first, later) },
      more: 0,
    });
  };
  // On each host: every socket against the earlier ones there.
  const byHost = new Map<string, Owner[]>();
  for (const owner of owners) {
    const group = byHost.get(owner.host);
    if (group) group.push(owner);
    else byHost.set(owner.host, [owner]);
  }
  for (const group of byHost.values()) {
    if (group.length === 1) checkAlone(group[0]!, report);
    else checkTogether(group, report);
  }
  // Across hosts: an address that is neither loopback nor the wildcard is one host's, wherever its users run.
  const global = new Map<string, Placed>();
  for (const owner of owners) {
    const tcp = owner.sockets.outboundTcp;
    const sockets = tcp && !isHostLocal(tcp.ip) ? allSockets(owner.sockets) : owner.sockets.sockets;
    for (const socket of sockets) {
      if (isHostLocal(socket.ip)) continue;
      const key = `${socket.ip}:${socket.port}`;
      const first = global.get(key);
      if (!first) global.set(key, { socket, owner });
      else if (first.owner.host !== owner.host) report(first, { socket, owner });
    }
  }
  const issues: ConfigIssue[] = [];
  for (const [later, withLater] of pairs) {
    for (const [first, { issue, more }] of withLater) {
      if (more === 0) issues.push(issue);
      else {
        const whose = first === later ? 'its own' : `${first.sockets.workload.id}'s`;
        issues.push({ ...issue, message: `${issue.message} (and ${more} more of its sockets collide with ${whose})` });
      }
    }
  }
  return sortIssues(issues);
}

type Report = (first: Placed, later: Placed) => void;

function checkTogether(owners: readonly Owner[], report: Report): void {
  const index = new HostSockets();
  for (const owner of owners) {
    for (const socket of allSockets(owner.sockets)) {
      const placed = { socket, owner };
      const first = index.clash(placed);
      if (first) report(first, placed);
      index.add(placed);
    }
  }
}

/**
 * A workload with a host to itself can only collide with itself. Its outbound
 * TCP listeners share one address and differ in port, so only its few other
 * sockets need looking up among them.
 */
function checkAlone(owner: Owner, report: Report): void {
  const index = new HostSockets();
  for (const socket of owner.sockets.sockets) {
    const placed = { socket, owner };
    const first = index.clash(placed);
    if (first) report(first, placed);
    index.add(placed);
  }
  const tcp = owner.sockets.outboundTcp;
  if (!tcp) return;
  for (const socket of owner.sockets.sockets) {
    const listener = tcp.byPort.get(socket.port);
    if (listener && (listener.ip === socket.ip || listener.ip === WILDCARD_ADDRESS || socket.ip === WILDCARD_ADDRESS))
      report({ socket, owner }, { socket: listener, owner });
  }
}

/** Two applications without Envoys on one socket are not meshlite's to judge; everything else is. */
function reportable(a: Placed, b: Placed): boolean {
  const forwarded = (p: Placed) => p.socket.role === 'envoy' || p.owner.sockets.kind === 'sidecar';
  return forwarded(a) || forwarded(b);
}

function describe({ socket, owner }: Placed): string {
  const kind =
    owner.sockets.kind === 'app' ? 'workload' : owner.sockets.kind === 'proxyless' ? 'proxyless gRPC workload' : owner.sockets.kind;
  return `${kind} ${owner.sockets.workload.id}'s ${socket.what} on ${socket.ip}:${socket.port} (${socket.from})`;
}

function describeClash(first: Placed, later: Placed): string {
  const a = first.socket;
  const b = later.socket;
  if (first.owner === later.owner) {
    const [envoy, app] = a.role === 'envoy' ? [a, b] : [b, a];
    if (envoy.role === 'envoy' && app.role === 'app' && envoy.what.startsWith('inbound')) {
      return (
        `sidecar ${later.owner.sockets.workload.id}'s ${envoy.what} on ${envoy.ip}:${envoy.port} (${envoy.from}) would forward to its application on ${app.ip}:${app.port} ` +
        `(${app.from}), that is to itself; set ${SIDECAR_ANNOTATIONS.applicationAddress} to the address the application listens on, not spec.address`
      );
    }
    return `${describe(later)} collides with its own ${a.what} on ${a.ip}:${a.port} (${a.from})${wildcardNote(a, b)}: ${consequence(first, later)}`;
  }
  const where = `${first.owner.entry.source.file}:${first.owner.entry.source.line}`;
  return `${describe(later)} collides with ${describe(first)}, defined at ${where}${wildcardNote(a, b)}: ${consequence(first, later)}`;
}

function wildcardNote(a: WorkloadSocket, b: WorkloadSocket): string {
  return a.ip !== b.ip ? ` (${WILDCARD_ADDRESS}:${b.port} takes the port on every address of the host)` : '';
}

function consequence(first: Placed, later: Placed): string {
  const [a, b] = [first.socket, later.socket];
  if (a.role === 'envoy' && b.role === 'envoy') {
    if (first.owner === later.owner) return 'one Envoy cannot hold two listeners on one address and port';
    return 'Envoy binds with SO_REUSEPORT, so both proxies would listen there and connections would be split between them; give each its own address or port';
  }
  if (a.role === 'app' && b.role === 'app') {
    const both = first.owner.sockets.kind === 'sidecar' && later.owner.sockets.kind === 'sidecar';
    return both
      ? 'both sidecars would forward their inbound traffic to one application'
      : "the sidecar would forward its inbound traffic to the other workload's application";
  }
  return 'an Envoy listener and an application cannot both listen there (with SO_REUSEPORT they would split connections)';
}
