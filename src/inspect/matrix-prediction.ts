// Predicts, from the translated config alone, what each client workload gets
// when it calls each service port the way the scenarios' `sleep` does: GET
// http://<host>:<port><path>, through its sidecar when it has one, else
// straight to the service's endpoints. Each cell says the curl code, whether
// the call was mutual TLS, the identity presented, and every step that
// decided it. Pure: the same model and dumps give the same matrix.
import { CONFIG_DUMP_TYPE } from '../translate/proxy-config-dump.js';
import type { MeshModel } from '../model/mesh-model.js';
import { proxyKind } from '../model/proxy-kind.js';
import type { Service, ServicePort, Workload } from '../model/registry.js';
import { canonicalJson } from '../proto/proto-json.js';
import { Translator } from '../translate/translator.js';
import { buildConfigDump } from '../xds/config-dump.js';
import { type Attempt, directCall, sidecarCall } from './client-side.js';
import { type DumpIndex, indexDump, type JsonObject } from './dump-index.js';
import type { CallOutcome, MatrixCell, MatrixOptions, PredictedMatrix } from './matrix-types.js';
import type { RequestLine } from './route-match.js';
import { indexInbound, type ServerMesh } from './server-side.js';

export interface MatrixInput {
  model: MeshModel;
  /** Each sidecar's config in config_dump JSON shape, by proxy id (`<name>.<namespace>`). */
  dumps: ReadonlyMap<string, unknown>;
}

/** The input for a model translated offline: every sidecar's config_dump. */
export function translatedMatrixInput(model: MeshModel): MatrixInput {
  const translator = new Translator(model);
  const dumps = new Map<string, unknown>();
  for (const workload of model.registry.workloads) {
    if (proxyKind(model, workload) !== 'sidecar') continue;
    const translated = translator.translate(workload.id);
    if (translated.ok) dumps.set(workload.id, canonicalJson(CONFIG_DUMP_TYPE, buildConfigDump(translated.resources, [])));
  }
  return { model, dumps };
}

const clientName = (w: Workload) => `${w.namespace}/${w.name}`;

export function predictMatrix(input: MatrixInput, options: MatrixOptions = {}): PredictedMatrix {
  const { model } = input;
  const indexes = new Map<string, DumpIndex>();
  const inbound = new Map<string, { workload: Workload; index: DumpIndex; listener: JsonObject }>();
  const workloadsByAddress = new Map<string, Workload>();
  for (const workload of model.registry.workloads) {
    if (!workloadsByAddress.has(workload.address)) workloadsByAddress.set(workload.address, workload);
    const dump = input.dumps.get(workload.id);
    if (dump === undefined || proxyKind(model, workload) !== 'sidecar') continue;
    const index = indexDump(dump);
    indexes.set(workload.id, index);
    indexInbound(workload, index, inbound);
  }
  const mesh: ServerMesh = { model, inbound, workloadsByAddress };
  const clients = model.registry.workloads
    .filter((w) => selectsClient(options.from, w))
    .sort((a, b) => clientName(a).localeCompare(clientName(b)));
  const targets = serviceTargets(model.registry.services, options.to);
  const path = options.path ?? '/headers';
  const cells: MatrixCell[] = [];
  for (const client of clients) {
    for (const { service, port } of targets) {
      cells.push(predictCell(mesh, indexes, client, service, port, path));
    }
  }
  return { clients: clients.map(clientName), services: targets.map(({ service, port }) => `${service.host}:${port.number}`), cells };
}

function predictCell(
  mesh: ServerMesh,
  indexes: ReadonlyMap<string, DumpIndex>,
  client: Workload,
  service: Service,
  port: ServicePort,
  path: string,
): MatrixCell {
  const authority = `${service.host}:${port.number}`;
  const cell = { from: clientName(client), to: authority };
  const request: RequestLine = { authority, path, method: 'GET', headers: { 'user-agent': 'curl/8', accept: '*/*' } };
  const kind = proxyKind(mesh.model, client);
  if (kind === 'gateway' || kind === 'proxyless')
    return {
      ...cell,
      code: '?',
      mtls: false,
      reason: `${cell.from} is a ${kind === 'gateway' ? 'gateway' : 'proxyless gRPC app'}, not a sidecar client: not predicted`,
    };
  const index = indexes.get(client.id);
  if (kind === 'sidecar' && !index) return { ...cell, code: '?', mtls: false, reason: `no translated config for ${client.id}` };
  const attempts = index ? sidecarCall(mesh, client, index, service, port, request) : directCall(mesh, client, service, port, request);
  return { ...cell, ...combine(attempts, client) };
}

/** Several endpoints (or weighted clusters): one outcome when they all agree, `?` otherwise. */
function combine(attempts: Attempt[], client: Workload): { code: CallOutcome; mtls: boolean; identity?: string; reason: string } {
  const first = attempts[0]!;
  const agree = attempts.every((a) => a.code === first.code && a.mtls === first.mtls);
  if (!agree) {
    const each = attempts.map((a) => `${a.code}${a.mtls ? ' mTLS' : ''}: ${a.steps.join('; ')}`);
    return { code: '?', mtls: false, reason: `the outcome depends on the endpoint picked: ${each.join(' | ')}` };
  }
  const reason = attempts.length === 1 ? first.steps.join('; ') : `${attempts.length} endpoints, all alike: ${first.steps.join('; ')}`;
  return { code: first.code, mtls: first.mtls, ...(first.mtls ? { identity: client.identity } : {}), reason };
}

function selectsClient(from: readonly string[] | undefined, w: Workload): boolean {
  if (!from || from.length === 0) return true;
  return from.some((f) => f === clientName(w) || f === w.name || f === w.namespace || f === w.id);
}

function serviceTargets(services: readonly Service[], to: readonly string[] | undefined): { service: Service; port: ServicePort }[] {
  const out: { service: Service; port: ServicePort }[] = [];
  for (const service of services) {
    const short = service.host.split('.').slice(0, 2).join('.');
    for (const port of service.ports) {
      const names = [`${service.host}:${port.number}`, service.host, short, `${short}:${port.number}`, service.namespace];
      // By default the mesh's own services; one outside the mesh only when named.
      const wanted = to && to.length > 0 ? to.some((t) => names.includes(t)) : service.location === 'MESH_INTERNAL';
      if (wanted) out.push({ service, port });
    }
  }
  return out;
}
